"""Counting a plain-text prompt's tokens with an entry's own tokenizer, without loading its weights.

Some official protocols size their prompts by the model's tokenizer (MMLU-Pro's local script drops
few-shot exemplars while a prompt is too long). The count is that of the text as a raw-text request
sends it: special tokens the tokenizer adds by itself (a BOS token) included, as a Hugging Face
tokenizer's `tokenizer(text)` counts them.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from functools import cache

from harness.config import PACKAGE_PREFIX, ModelEntry, resolve_model_path
from harness.errors import ConfigError

TokenCounter = Callable[[str], int]


def prompt_token_counter(entry: ModelEntry) -> TokenCounter | None:
    """The entry's tokenizer as a counter: llama.cpp's for a GGUF model (in-process or a managed
    llama.cpp server), the Hugging Face tokenizer of the model for vLLM (in-process or a managed
    vLLM server). None when the entry's tokenizer is not at hand (a hosted API, an unmanaged server)."""
    gguf = entry.model.startswith(PACKAGE_PREFIX) or entry.model.lower().endswith(".gguf")
    served = entry.server.kind if entry.server is not None else None
    if gguf and (entry.backend in {"llamacpp", "vllm"} or served is not None):
        return _gguf_counter(str(resolve_model_path(entry.model)))
    if entry.backend == "vllm" or served == "vllm":
        return _hf_counter(entry.model)
    return None


@cache
def _gguf_counter(path: str) -> TokenCounter:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError(
            "counting a GGUF model's prompt tokens needs llama-cpp-python: `pip install -e '.[embedded]'`."
        ) from exc
    vocab = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    atexit.register(vocab.close)  # before llama.cpp's own teardown, which a late close would outlive

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    return count


@cache
def _hf_counter(model: str) -> TokenCounter:
    try:
        import transformers
    except ImportError as exc:
        raise ConfigError(
            f"counting {model}'s prompt tokens needs transformers: `pip install transformers`."
        ) from exc
    tokenizer = transformers.AutoTokenizer.from_pretrained(model, trust_remote_code=True)

    def count(text: str) -> int:
        return len(tokenizer(text)["input_ids"])

    return count
