"""The protocol every model backend implements: requests in, completions out (in completion order)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.types import BackendInfo, Completion, GenerationRequest

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

    def info(self) -> BackendInfo:
        """Backend facts worth recording in run.json (library version, threads, context size)."""
        ...

    def close(self) -> None: ...


def api_key(entry: ModelEntry) -> str | None:
    """The entry's API key, read from the environment variable it names (keys live nowhere else)."""
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
