"""Model backends behind one protocol: requests in, completions out (in completion order)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from harness.types import Completion, GenerationConfig, Message

if TYPE_CHECKING:
    from harness.config import ModelEntry

BACKEND_NAMES = frozenset({"llamacpp", "openai_compat", "anthropic", "external"})


class GenerationRequest(BaseModel):
    """One chat request. The seed in `config` is already specific to its (sample, epoch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[Message]
    config: GenerationConfig


class ModelClient(Protocol):
    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        """Yield `(index into requests, completion)` as each finishes. Failures are completions with
        `error` set, never exceptions, so one bad sample cannot stop a run."""
        ...

    def info(self) -> dict[str, Any]:
        """Backend facts worth recording in run.json (library version, threads, context size)."""
        ...

    def close(self) -> None: ...


def make_client(entry: ModelEntry) -> ModelClient:
    from harness.errors import ConfigError

    if entry.backend == "llamacpp":
        from harness.backends.llamacpp import LlamaCppClient

        return LlamaCppClient.from_entry(entry)
    if entry.backend == "external":
        raise ConfigError(
            f"entry {entry.id!r} is external: its results come from imported or reported outputs, "
            "so the harness cannot generate with it."
        )
    raise ConfigError(f"entry {entry.id!r}: the {entry.backend!r} backend is not available in this build.")
