"""An on-disk cache of completions (sqlite), keyed by everything that determines a model's answer.

The key hashes the entry (id, backend, model, configured base URL, backend options), the rendered
messages, the full generation config (the per-sample seed included) and the sample's repeat index.
Tasks, task versions and run directories are not part of it, so re-running a run after a new task
version that kept its prompts, or another task that asks the same questions, is answered from the
cache without calling the model. Only successful completions are stored, and nothing secret: API
keys never enter requests or completions (the backends redact a key a server echoes back).

The default location is `<output dir>/.cache/requests.sqlite`; `harness run --no-cache` neither
reads nor writes it. Several harness processes may share one cache file (sqlite WAL).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from harness.config import ModelEntry
from harness.errors import StoreError
from harness.types import Completion, GenerationRequest

CACHE_DIR = ".cache"
CACHE_FILE = "requests.sqlite"
KEY_VERSION = 1


def default_cache_path(output_dir: Path) -> Path:
    return output_dir / CACHE_DIR / CACHE_FILE


def request_key(entry: ModelEntry, request: GenerationRequest, sample_index: int) -> str:
    identity = {
        "v": KEY_VERSION,
        "entry": entry.id,
        "backend": entry.backend,
        "model": entry.model,
        "base_url": entry.base_url,
        "backend_options": entry.backend_options,
        "messages": [[m.role, m.content] for m in request.messages],
        "generation": request.config.model_dump(mode="json"),
        "sample_index": sample_index,
    }
    if request.raw_text:
        identity["raw_text"] = True
    if entry.vllm is not None:
        # dtype, quantization and the context length change what a vLLM model answers.
        identity["vllm"] = entry.vllm.model_dump(mode="json", exclude_none=True)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RequestCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS completions ("
                "key TEXT PRIMARY KEY, completion TEXT NOT NULL, "
                "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the request cache {path} ({exc}); delete it, or run with --no-cache."
            ) from exc

    def get_many(self, keys: Sequence[str]) -> dict[str, Completion]:
        """The cached completions among `keys`, marked as cached and costing nothing."""
        found: dict[str, Completion] = {}
        # sqlite limits the number of bound parameters; stay well below it.
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, completion FROM completions WHERE key IN ({marks})", chunk
            ).fetchall()
            for key, text in rows:
                try:
                    completion = Completion.model_validate_json(text)
                except ValueError:
                    continue  # written by an incompatible version: generate it again
                found[key] = completion.model_copy(update={"cached": True, "cost_usd": 0.0})
        return found

    def put(self, key: str, completion: Completion) -> None:
        if completion.error is not None or completion.cached:
            return
        stored = completion.model_copy(update={"cached": False})
        self._db.execute(
            "INSERT OR REPLACE INTO completions (key, completion) VALUES (?, ?)",
            (key, stored.model_dump_json()),
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        self._db.close()
