"""Helpers for the API backend tests: entries pointing at the fault server, models files for the
CLI, and a search of everything a run wrote."""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from harness.config import ModelEntry, Price
from harness.runner import Plan, RunOptions
from harness.runner.plan import request_for
from tests.fault_server import FaultServer

KEY_ENV = "FAULT_API_KEY"
# A fresh key per test session, so a search of the output cannot match an unrelated string.
KEY = "sk-fault-" + secrets.token_hex(16)
PRICE = Price(input_per_mtok=2.5, output_per_mtok=10.0, cached_input_per_mtok=1.25, as_of=date(2026, 1, 1))


def api_entry(server: FaultServer, *, backend: str = "openai_compat", **fields: Any) -> ModelEntry:
    settings: dict[str, Any] = {
        "id": "fault-api" if backend == "openai_compat" else "fault-claude",
        "display_name": "Fault-injecting API",
        "organisation": "Test",
        "backend": backend,
        "model": "fault-model",
        "base_url": server.openai_url if backend == "openai_compat" else server.anthropic_url,
        "api_key_env": KEY_ENV,
        "concurrency": 4,
        "request_timeout_s": 1.5,
        "max_retries": 3,
        "retry_backoff_s": 0.01,
        "retry_backoff_max_s": 0.05,
        "price": PRICE,
    }
    settings.update(fields)
    return ModelEntry.model_validate(settings)


def write_models(path: Path, *entries: ModelEntry) -> Path:
    """A models file for the CLI holding `entries` (YAML is a superset of JSON)."""
    data = {
        "default_entry": entries[0].id,
        "entries": {entry.id: entry.model_dump(mode="json", exclude={"id"}) for entry in entries},
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def last_user_messages(plan: Plan) -> list[str]:
    """What the server sees as each planned item's last user message, in plan order."""
    return [request_for(item, plan).messages[-1].content for item in plan.items]


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under `root` (caches and hidden files included) whose bytes contain `needle`."""
    data = needle.encode()
    return [path for path in root.rglob("*") if path.is_file() and data in path.read_bytes()]


def run_options(output_dir: Path, data_dir: Path, **fields: Any) -> RunOptions:
    fields.setdefault("generation", {"max_tokens": 64})
    return RunOptions(runs_root=output_dir, data_dir=data_dir, **fields)
