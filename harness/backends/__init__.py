"""Model backends behind one protocol (`harness.backends.base.ModelClient`), chosen by an entry's
`backend`. Provider SDKs and llama.cpp are imported only when a client of theirs is made."""

from __future__ import annotations

from collections.abc import Callable

from harness.backends.anthropic import make_anthropic_client
from harness.backends.base import Admit, ModelClient, api_key
from harness.backends.llamacpp import LlamaCppClient
from harness.backends.mock import MockClient
from harness.backends.openai_compat import make_openai_client
from harness.backends.vllm import VllmClient
from harness.config import ModelEntry
from harness.errors import ConfigError

__all__ = ["Admit", "ModelClient", "api_key", "make_client"]


def _external(entry: ModelEntry) -> ModelClient:
    raise ConfigError(
        f"entry {entry.id!r} is external: its results come from imported or reported outputs, "
        "so the harness cannot generate with it."
    )


CLIENT_FACTORIES: dict[str, Callable[[ModelEntry], ModelClient]] = {
    "llamacpp": LlamaCppClient.from_entry,
    "openai_compat": make_openai_client,
    "anthropic": make_anthropic_client,
    "mock": MockClient.from_entry,
    "vllm": VllmClient.from_entry,
    "external": _external,
}


def make_client(entry: ModelEntry) -> ModelClient:
    if entry.server is not None and entry.backend != "openai_compat":
        raise ConfigError(
            f"entry {entry.id!r}: a managed `server:` is reached through its OpenAI-compatible API; "
            "set `backend: openai_compat` (or remove `server:`)."
        )
    return CLIENT_FACTORIES[entry.backend](entry)
