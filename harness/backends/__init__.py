"""Model backends behind one protocol: requests in, completions out (in completion order)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from harness.types import Completion, GenerationConfig, Message

if TYPE_CHECKING:
    from harness.config import ModelEntry

BACKEND_NAMES = frozenset({"llamacpp", "vllm", "openai_compat", "anthropic", "external"})


class GenerationRequest(BaseModel):
    """One chat request. The seed in `config` is already specific to its (sample, epoch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[Message]
    config: GenerationConfig


# Asked before a call for the given request indices is sent (the spending limit): True sends it,
# False stops sending, None means "not yet": ask again once calls in flight have finished.
Admit = Callable[[Sequence[int]], bool | None]


class ModelClient(Protocol):
    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        """Yield `(index into requests, completion)` as each finishes. Failures are completions with
        `error` set, never exceptions, so one bad sample cannot stop a run. Once `admit` refuses,
        no further request is sent and the requests not sent are not yielded."""
        ...

    def info(self) -> dict[str, Any]:
        """Backend facts worth recording in run.json (library version, threads, context size)."""
        ...

    def close(self) -> None: ...


def make_client(entry: ModelEntry) -> ModelClient:
    from harness.errors import ConfigError

    if entry.server is not None and entry.backend != "openai_compat":
        raise ConfigError(
            f"entry {entry.id!r}: a managed `server:` is reached through its OpenAI-compatible API; "
            "set `backend: openai_compat` (or remove `server:`)."
        )
    if entry.backend == "llamacpp":
        from harness.backends.llamacpp import LlamaCppClient

        return LlamaCppClient.from_entry(entry)
    if entry.backend == "vllm":
        from harness.backends.vllm import VllmClient

        return VllmClient.from_entry(entry)
    if entry.backend == "openai_compat":
        from harness.backends.openai_compat import make_openai_client

        return make_openai_client(entry)
    if entry.backend == "anthropic":
        from harness.backends.anthropic import make_anthropic_client

        return make_anthropic_client(entry)
    if entry.backend == "external":
        raise ConfigError(
            f"entry {entry.id!r} is external: its results come from imported or reported outputs, "
            "so the harness cannot generate with it."
        )
    raise AssertionError(f"backend {entry.backend!r} passed validation but has no client")


def api_key(entry: ModelEntry) -> str | None:
    """The entry's API key, read from the environment variable it names (keys live nowhere else)."""
    import os

    from harness.errors import ConfigError

    if entry.api_key_env is None:
        return None
    key = os.environ.get(entry.api_key_env, "").strip()
    if not key:
        raise ConfigError(
            f"entry {entry.id!r} reads its API key from ${entry.api_key_env}, which is not set: "
            f"`export {entry.api_key_env}=...` first (the key is only read from the environment and is "
            "never written to results, caches or logs)."
        )
    return key
