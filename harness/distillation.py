"""Distillation probes on the site: the similarity map of the published Arena-Hard answer sets, and,
per entry, the identities it claimed and its nearest published models.

The similarity map compares every published Arena-Hard v0.1 answer set with every other, judge-free
and offline: for each pair of models, the mean over the questions both answered of the word n-gram
F1 and of the all-MiniLM-L6-v2 embedding cosine of their two answers (`tasks/similarity_measures.py`).
It is computed once (`harness board similarity-map`, or `harness board populate` for a board with a
`response_similarity` column) and cached under `<runs>/.cache/similarity-map/`: the embeddings per
answer set (so an interrupted computation resumes) and the map itself, keyed by a fingerprint of the
answer files, the questions and the measures. The site reads the cached map; it never computes one.

`DistillationSite.collect(data)` gathers what the pages show from a board's aggregate: the map, and
for every entry the chosen `identity_consistency` and `response_similarity` runs' records.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.aggregate import BoardData
from harness.cache import CACHE_DIR
from harness.errors import ConfigError, DataError
from harness.store import latest_records
from harness.types import SampleRecord
from tasks.identity_detector import VENDOR_LABELS
from tasks.response_similarity import ANSWERS_DIR, published_answer_sets, read_questions
from tasks.similarity_measures import EMBEDDING_MODEL, Embedder, ngram_counts, ngram_f1_matrix, text_key

MAP_FOLDER = "similarity-map"
MAP_FILE = "similarity_map.json"
MAP_VERSION = 1
IDENTITY_TASK = "identity_consistency"
SIMILARITY_TASK = "response_similarity"
EXAMPLES_SHOWN = 6
NEAREST_SHOWN = 5


@dataclass
class SimilarityMap:
    """Mean pairwise similarity of published answer sets; `embedding` is None without the extra."""

    models: list[str]
    questions: int
    ngram: list[list[float | None]]
    embedding: list[list[float | None]] | None
    fingerprint: str
    seconds: dict[str, float]
    embedding_model: str = EMBEDDING_MODEL
    version: int = MAP_VERSION

    def matrix(self, measure: str) -> list[list[float | None]] | None:
        return self.embedding if measure == "embedding" else self.ngram

    def primary(self) -> str:
        return "embedding" if self.embedding is not None else "ngram"

    def nearest(self, model: str, measure: str, count: int = NEAREST_SHOWN) -> list[tuple[str, float]]:
        """The `count` models closest to `model` (itself excluded), closest first."""
        matrix = self.matrix(measure)
        if matrix is None or model not in self.models:
            return []
        row = matrix[self.models.index(model)]
        ranked = sorted(
            (
                (other, value)
                for other, value in zip(self.models, row, strict=True)
                if other != model and value is not None
            ),
            key=lambda pair: -pair[1],
        )
        return ranked[:count]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimilarityMap:
        return cls(**data)


def map_dir(runs_root: Path) -> Path:
    return runs_root / CACHE_DIR / MAP_FOLDER


def load_map(runs_root: Path) -> SimilarityMap | None:
    path = map_dir(runs_root) / MAP_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        loaded = SimilarityMap.from_json(data)
    except (OSError, ValueError, TypeError):
        return None
    return loaded if loaded.version == MAP_VERSION else None


def _fingerprint(sets: dict[str, dict[str, str]], question_ids: list[str], embedding: bool) -> str:
    digest = hashlib.sha256(f"v{MAP_VERSION}/{EMBEDDING_MODEL if embedding else '-'}\n".encode())
    digest.update("\n".join(question_ids).encode())
    for name in sorted(sets):
        digest.update(f"\n{name}\n".encode())
        for question in question_ids:
            text = sets[name].get(question)
            digest.update((text_key(text) if text is not None else "-").encode())
    return digest.hexdigest()[:16]


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    partial.replace(path)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _ngram_matrix(sets: dict[str, dict[str, str]], models: list[str], question_ids: list[str]) -> np.ndarray:
    sums = np.zeros((len(models), len(models)))
    counts = np.zeros((len(models), len(models)))
    for question in question_ids:
        present = [i for i, m in enumerate(models) if question in sets[m]]
        values = ngram_f1_matrix([ngram_counts(sets[models[i]][question]) for i in present])
        pairs = np.ix_(present, present)
        sums[pairs] += values
        counts[pairs] += 1 - np.eye(len(present))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _embeddings(folder: Path, name: str, answers: dict[str, str], question_ids: list[str]) -> np.ndarray:
    """One unit vector per question (NaN rows where the set has no answer), cached per answer set."""
    texts = [answers.get(q) for q in question_ids]
    key = hashlib.sha256(
        "\n".join(text_key(t) if t is not None else "-" for t in texts).encode()
    ).hexdigest()[:16]
    path = folder / f"{name}-{key}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    present = [t for t in texts if t is not None]
    vectors = Embedder.embed(present)
    full = np.full((len(texts), vectors.shape[1] if len(present) else 384), np.nan, dtype=np.float32)
    rows = [i for i, t in enumerate(texts) if t is not None]
    full[rows] = vectors

    def save(target: Path) -> None:
        with open(target, "wb") as out:
            np.save(out, full)

    _atomic_write(path, save)
    return full


def _embedding_matrix(
    folder: Path, sets: dict[str, dict[str, str]], models: list[str], question_ids: list[str]
) -> np.ndarray:
    stacked = np.stack(
        [_embeddings(folder, m, sets[m], question_ids) for m in models]
    )  # models x questions x d
    valid = ~np.isnan(stacked[:, :, 0])
    filled = np.nan_to_num(stacked)
    sums = np.einsum("iqd,jqd->ij", filled, filled)
    both = valid.astype(float) @ valid.astype(float).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(both > 0, sums / np.maximum(both, 1), np.nan)


def _rows(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if math.isnan(v) else round(float(v), 5) for v in row] for row in matrix]


def compute_map(
    data_dir: Path,
    runs_root: Path,
    *,
    questions: int | None = None,
    embedding: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SimilarityMap:
    """The map of every published Arena-Hard v0.1 answer set, from the cache when it is current.

    `questions` keeps the first N questions of the file (a quick map); `embedding=False`, or a missing
    embedding extra, leaves the embedding half out."""
    rows = read_questions(data_dir)
    question_ids = [row["uid"] for row in rows][: questions if questions is not None else None]
    sets = published_answer_sets(data_dir)
    if len(sets) < 2:
        raise DataError(f"the similarity map needs at least two answer sets in {data_dir / ANSWERS_DIR}.")
    embedding = embedding and Embedder.available()
    fingerprint = _fingerprint(sets, question_ids, embedding)
    cached = load_map(runs_root)
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    models = sorted(sets)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ngram = _ngram_matrix(sets, models, question_ids)
    seconds["ngram"] = round(time.perf_counter() - started, 2)
    if progress is not None:
        progress(
            f"n-gram map of {len(models)} answer sets x {len(question_ids)} questions: "
            f"{seconds['ngram']:.0f}s"
        )
    vectors = None
    if embedding:
        started = time.perf_counter()
        vectors = _embedding_matrix(map_dir(runs_root) / "embeddings", sets, models, question_ids)
        seconds["embedding"] = round(time.perf_counter() - started, 2)
        if progress is not None:
            progress(f"embedding map ({EMBEDDING_MODEL}): {seconds['embedding']:.0f}s")
    result = SimilarityMap(
        models=models,
        questions=len(question_ids),
        ngram=_rows(ngram),
        embedding=_rows(vectors) if vectors is not None else None,
        fingerprint=fingerprint,
        seconds=seconds,
    )
    text = json.dumps(result.to_json(), ensure_ascii=False, allow_nan=False)
    _atomic_write(map_dir(runs_root) / MAP_FILE, lambda target: _write_text(target, text))
    return result


# --- per-entry summaries -----------------------------------------------------------------------


def published_set_of(names: list[str], map_models: list[str]) -> str | None:
    """The published answer set an entry stands for: its id or model name, as the set is named."""
    wanted = {name.lower().rsplit("/", 1)[-1] for name in names}
    return next((model for model in map_models if model.lower() in wanted), None)


def _records(data: BoardData, entry: str, task: str) -> list[SampleRecord]:
    for (row_entry, column), run_dir in data.chosen.items():
        if row_entry == entry and data.board.task(column).task_name == task:
            return [r for r in latest_records(run_dir.read_records()).values() if r.score is not None]
    return []


def identity_summary(records: list[SampleRecord]) -> dict[str, Any] | None:
    """The identities a run's responses claimed (detector, in the model's own voice), the judge's
    verdicts, and the responses worth reading (claims of a foreign identity first)."""
    if not records:
        return None
    claimed: Counter[str] = Counter()
    denied: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    for record in records:
        assert record.score is not None
        details = record.score.details
        claimed.update(details.get("claimed") or [])
        denied.update(details.get("denied") or [])
        if details.get("judge_claimed"):
            judged[str(details["judge_claimed"])] += 1
    total = len(records)
    table = [
        {
            "vendor": vendor,
            "label": VENDOR_LABELS.get(vendor, vendor),
            "count": count,
            "share": count / total,
            "denied": denied.get(vendor, 0),
        }
        for vendor, count in claimed.most_common()
    ]

    def weight(record: SampleRecord) -> tuple[int, str]:
        details = record.score.details if record.score else {}
        flagged = bool(details.get("loose")) + bool(details.get("detector_loose"))
        return (-flagged, record.sample_id)

    examples = []
    for record in sorted(records, key=weight)[:EXAMPLES_SHOWN]:
        assert record.score is not None
        details = record.score.details
        examples.append(
            {
                "id": record.sample_id,
                "category": record.category,
                "prompt": record.prompt.messages[-1].content,
                "response": record.completion.text,
                "claimed": [VENDOR_LABELS.get(v, v) for v in details.get("claimed") or []],
                "loose": details.get("loose"),
                "strict": details.get("strict"),
                "detector_loose": details.get("detector_loose"),
                "judge_claimed": details.get("judge_claimed"),
            }
        )
    return {
        "responses": total,
        "table": table,
        "judge_claimed": judged.most_common(8),
        "loose": sum(1 for r in records if r.score and r.score.details.get("loose")),
        "strict": sum(1 for r in records if r.score and r.score.details.get("strict")),
        "examples": examples,
    }


def run_neighbours(records: list[SampleRecord]) -> list[tuple[str, float, int]]:
    """Published answer sets ranked by mean n-gram F1 to a run's answers: (set, mean, questions)."""
    values: defaultdict[str, list[float]] = defaultdict(list)
    for record in records:
        neighbours = record.score.details.get("neighbours") if record.score else None
        if isinstance(neighbours, dict):
            for name, value in neighbours.items():
                if isinstance(value, (int, float)):
                    values[str(name)].append(float(value))
    ranked = sorted(((name, float(np.mean(v)), len(v)) for name, v in values.items()), key=lambda t: -t[1])
    return ranked[:NEAREST_SHOWN]


@dataclass
class DistillationSite:
    """What the distillation page and the entries' sections show."""

    data: BoardData
    similarity_map: SimilarityMap | None
    identity: dict[str, dict[str, Any]] = field(default_factory=dict)
    neighbours: dict[str, list[tuple[str, float, int]]] = field(default_factory=dict)

    @classmethod
    def collect(cls, data: BoardData) -> DistillationSite | None:
        """None when the board has no distillation column and no map was computed for its runs."""
        tasks = {t.task_name for t in data.board.tasks}
        similarity_map = load_map(data.runs_root)
        if not tasks & {IDENTITY_TASK, SIMILARITY_TASK} and similarity_map is None:
            return None
        site = cls(data, similarity_map)
        for entry in data.board.entries:
            summary = identity_summary(_records(data, entry.id, IDENTITY_TASK))
            if summary is not None:
                site.identity[entry.id] = summary
            neighbours = run_neighbours(_records(data, entry.id, SIMILARITY_TASK))
            if neighbours:
                site.neighbours[entry.id] = neighbours
        return site

    def published_set(self, entry_id: str) -> str | None:
        if self.similarity_map is None:
            return None
        entry = self.data.board.models.entries[entry_id]
        return published_set_of([entry.id, entry.model], self.similarity_map.models)

    def entry_context(self, entry_id: str) -> dict[str, Any]:
        published = self.published_set(entry_id)
        nearest: dict[str, list[tuple[str, float]]] = {}
        if published is not None and self.similarity_map is not None:
            for measure in ("embedding", "ngram"):
                ranked = self.similarity_map.nearest(published, measure)
                if ranked:
                    nearest[measure] = ranked
        return {
            "identity": self.identity.get(entry_id),
            "neighbours": self.neighbours.get(entry_id, []),
            "published_set": published,
            "nearest": nearest,
        }

    def page_context(self) -> dict[str, Any]:
        names = {e.id: e.display_name for e in self.data.board.entries}
        similarity_map = self.similarity_map
        nearest_rows = []
        if similarity_map is not None:
            for model in similarity_map.models:
                row: dict[str, Any] = {"model": model}
                for measure in ("embedding", "ngram"):
                    best = similarity_map.nearest(model, measure, 1)
                    row[measure] = best[0] if best else None
                nearest_rows.append(row)
        claims = [
            {"entry": entry, "name": names[entry], **summary} for entry, summary in self.identity.items()
        ]
        return {
            "similarity_map": similarity_map,
            "nearest_rows": nearest_rows,
            "claims": claims,
            "neighbour_rows": [
                {"entry": entry, "name": names[entry], "neighbours": ranked}
                for entry, ranked in self.neighbours.items()
            ],
            "figures": heatmap_figures(similarity_map) if similarity_map is not None else {},
        }


def _order(matrix: np.ndarray) -> list[int]:
    """Models ordered so that similar ones sit together (average-linkage clustering)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    if len(matrix) < 3:
        return list(range(len(matrix)))
    distance = 1.0 - np.nan_to_num(matrix, nan=0.0)
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    return [
        int(i) for i in leaves_list(linkage(squareform(np.clip(distance, 0, None), checks=False), "average"))
    ]


def heatmap_figures(similarity_map: SimilarityMap) -> dict[str, Any]:
    """One plotly heatmap per measure, models in clustered order, each row's nearest model starred."""
    import plotly.graph_objects as go
    import plotly.io

    figures: dict[str, Any] = {}
    primary = np.array(similarity_map.matrix(similarity_map.primary()), dtype=float)
    order = _order(primary)
    labels = [similarity_map.models[i] for i in order]
    titles = {
        "embedding": f"embedding cosine ({similarity_map.embedding_model})",
        "ngram": "word 1-4-gram F1",
    }
    for measure in ("embedding", "ngram"):
        matrix = similarity_map.matrix(measure)
        if matrix is None:
            continue
        values = np.array(matrix, dtype=float)[np.ix_(order, order)]
        np.fill_diagonal(values, np.nan)
        z = [[None if math.isnan(v) else round(float(v), 4) for v in row] for row in values]
        stars_x, stars_y = [], []
        for model in labels:
            best = similarity_map.nearest(model, measure, 1)
            if best:
                stars_x.append(best[0][0])
                stars_y.append(model)
        figure = go.Figure(
            go.Heatmap(
                z=z,
                x=labels,
                y=labels,
                colorscale="Viridis",
                hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
                colorbar={"title": {"text": measure}},
            )
        )
        figure.add_trace(
            go.Scatter(
                x=stars_x,
                y=stars_y,
                mode="markers",
                marker={
                    "symbol": "star",
                    "size": 11,
                    "color": "#ffffff",
                    "line": {"color": "#000000", "width": 1},
                },
                name="nearest neighbour of the row",
                hovertemplate="nearest to %{y}: %{x}<extra></extra>",
            )
        )
        figure.update_layout(
            title={"text": titles[measure]},
            height=260 + 24 * len(labels),
            margin={"l": 10, "r": 20, "t": 40, "b": 10},
            font={"family": "system-ui, sans-serif", "size": 11},
            paper_bgcolor="rgba(0,0,0,0)",
            plot_bgcolor="rgba(0,0,0,0)",
            xaxis={"tickangle": -40, "automargin": True},
            yaxis={"automargin": True, "autorange": "reversed"},
            legend={"orientation": "h", "y": -0.05},
        )
        figures[f"similarity_{measure}"] = json.loads(plotly.io.to_json(figure, validate=True, pretty=False))
    return figures


def map_report(similarity_map: SimilarityMap) -> Iterator[str]:
    """Lines for the terminal: each model's nearest neighbour."""
    measure = similarity_map.primary()
    for model in similarity_map.models:
        best = similarity_map.nearest(model, measure, 1)
        if best:
            yield f"{model:36} nearest: {best[0][0]} ({measure} {best[0][1]:.3f})"


def require_map_inputs(data_dir: Path | None) -> Path:
    if data_dir is None:
        raise ConfigError(
            "the similarity map reads the published Arena-Hard answers: pass --data-dir (or set "
            "HARNESS_DATA_DIR)."
        )
    return data_dir
