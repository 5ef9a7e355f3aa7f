"""In-process GGUF models through llama-cpp-python (the embedded default model runs here).

The chat template stored in the GGUF file is applied by llama.cpp itself; a raw-text request
(`GenerationRequest.raw_text`) is continued as plain text, without it. With `parallel` > 1 (the
default) requests are decoded several at a time by continuous batching (see `llamacpp_batch`), which
turns the CPU's time per token from reading the weights once per sequence into once per batch; with
`parallel: 1` they run one at a time through `create_chat_completion`, where consecutive prompts that
share a prefix reuse llama.cpp's KV cache.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import Admit
from harness.backends.llamacpp_amx import keep_weights_off_amx
from harness.backends.llamacpp_batch import BatchedLlama
from harness.config import ModelEntry, resolve_model_path
from harness.errors import ConfigError
from harness.types import BackendInfo, Completion, GenerationRequest, Usage

DEFAULT_CONTEXT = 8192
DEFAULT_PARALLEL = 4


class LlamaCppClient:
    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int = 1,
        n_threads_batch: int | None = None,
        n_batch: int = 512,
        parallel: int = DEFAULT_PARALLEL,
        model_name: str | None = None,
    ) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ConfigError(
                "the llamacpp backend needs llama-cpp-python: `pip install -e '.[embedded]'`."
            ) from exc
        self._llama_cpp_version = str(getattr(llama_cpp, "__version__", "unknown"))
        self._model_path = model_path
        self._model_name = model_name or model_path.name
        if parallel < 1:
            raise ConfigError(f"llamacpp backend option parallel={parallel}: give 1 or more sequences.")
        self._n_threads = n_threads
        self._n_threads_batch = n_threads_batch or os.cpu_count() or 1
        self._parallel = parallel
        self._n_batch = n_batch
        self._batched: Any = None
        keep_weights_off_amx()
        self._llm = llama_cpp.Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=self._n_threads_batch,
            n_batch=n_batch,
            verbose=False,
        )

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> LlamaCppClient:
        options = dict(entry.backend_options)
        allowed = {"n_ctx", "n_threads", "n_threads_batch", "n_batch", "parallel"}
        unknown = set(options) - allowed
        if unknown:
            raise ConfigError(
                f"entry {entry.id!r}: unknown llamacpp backend_options {sorted(unknown)}; "
                f"allowed: {sorted(allowed)}."
            )
        return cls(resolve_model_path(entry.model), model_name=entry.model, **options)

    def info(self) -> BackendInfo:
        return BackendInfo(
            backend="llamacpp",
            library="llama-cpp-python",
            library_version=self._llama_cpp_version,
            model_file=self._model_path.name,
            settings={
                "n_ctx": self._llm.n_ctx(),
                "n_threads": self._n_threads,
                "n_threads_batch": self._n_threads_batch,
                "parallel": self._parallel,
            },
        )

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        if self._parallel > 1 and len(requests) > 1:
            if self._batched is None:
                self._batched = BatchedLlama(
                    self._llm,
                    parallel=self._parallel,
                    n_ctx=self._llm.n_ctx(),
                    n_batch=self._n_batch,
                    model_name=self._model_name,
                )
            yield from self._batched.generate(requests, admit)
            return
        for index, request in enumerate(requests):
            if admit is not None and not admit([index]):
                return
            yield index, self._generate_one(request)

    def _generate_one(self, request: GenerationRequest) -> Completion:
        config = request.config
        started = time.perf_counter()
        sampling: dict[str, Any] = {
            "temperature": config.temperature,
            "top_p": config.top_p,
            # llama.cpp's own defaults (top_k=40, min_p=0.05) would make sampling differ from every
            # other backend; 0 disables both so temperature/top_p mean what they mean elsewhere.
            "top_k": 0,
            "min_p": 0.0,
            "max_tokens": config.max_tokens,
            "stop": config.stop or None,
            "seed": config.seed,
        }
        try:
            if request.raw_text:
                # Plain text continued as it is: no chat template (the BOS token where the model has one).
                response: Any = self._llm.create_completion(prompt=request.text, **sampling)
            else:
                response = self._llm.create_chat_completion(
                    messages=[m.model_dump() for m in request.messages],  # type: ignore[misc]
                    **sampling,
                )
        except ValueError as exc:
            # llama.cpp raises ValueError for prompts longer than the context window: not retryable.
            return Completion(
                text="",
                error=f"llamacpp: {exc}",
                latency_s=time.perf_counter() - started,
                model=self._model_name,
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        text = choice["text"] if request.raw_text else choice["message"].get("content")
        return Completion(
            text=text or "",
            finish_reason=choice.get("finish_reason"),
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
            ),
            latency_s=time.perf_counter() - started,
            model=self._model_name,
        )

    def close(self) -> None:
        if self._batched is not None:
            self._batched.close()
        self._llm.close()
