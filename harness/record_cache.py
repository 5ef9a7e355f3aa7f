"""Fast, validated reads of a run's records, and a columnar cache of their scalar fields.

`samples.jsonl` stays the source of truth. Reading it through pydantic costs tens of microseconds a
record, which a 50-entry board with full sample sets turns into minutes; here each line is decoded and
validated by msgspec against a mirror of `harness.types.SampleRecord` (same fields, types and defaults;
a test keeps the two in step), several times faster, with the same error for a bad line.

`record_table(run_dir)` gives the latest record of each (sample, epoch) as an Arrow table of the scalar
fields notebooks and aggregation use. It is cached next to the records in `.records.arrow`, keyed by
the identity of `samples.jsonl` (size, modification and change times, inode: any append, rewrite,
replacement or copy changes it, and the change time cannot be set back by hand) and by this module's
format version. A stale, foreign or unreadable cache is ignored and replaced; the cache is written
atomically, and not at all when the directory is read-only or the file changed while it was read.
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec
import pyarrow as pa
import pyarrow.ipc

from harness.errors import StoreError
from harness.store import RunDir, file_identity, process_pool

CACHE_FILE = ".records.arrow"
CACHE_VERSION = "1"
KEY_FIELD = b"harness-records-key"


class _Struct(msgspec.Struct, forbid_unknown_fields=True):
    pass


class MessageView(_Struct):
    role: Literal["system", "user", "assistant"]
    content: str


class UsageView(_Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


class PromptView(_Struct):
    messages: list[MessageView]
    target: str
    choices: list[str] = msgspec.field(default_factory=list)
    prefix_key: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    raw_text: bool = False


class CompletionView(_Struct):
    text: str
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: UsageView = msgspec.field(default_factory=UsageView)
    latency_s: float = 0.0
    model: str | None = None
    error: str | None = None
    error_retryable: bool = False
    cost_usd: float | None = None
    cached: bool = False
    usage_missing: bool = False


class ScoreView(_Struct):
    value: float
    extracted: str | None = None
    parsed: bool = True
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    judge_usage: UsageView | None = None
    judge_cost_usd: float | None = None


class RecordView(_Struct):
    """One line of `samples.jsonl`, as `harness.types.SampleRecord` validates it."""

    sample_id: str
    prompt: PromptView
    completion: CompletionView
    epoch: int = 0
    category: str | None = None
    score: ScoreView | None = None


_SPACE = b" \t\r\x0b\x0c"
# Lax like pydantic's default mode: "3" is accepted where an int is expected, as SampleRecord does.
_DECODER = msgspec.json.Decoder(RecordView, strict=False)

SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("epoch", pa.int64()),
        ("category", pa.string()),
        ("score", pa.float64()),
        ("parsed", pa.bool_()),
        ("extracted", pa.string()),
        ("target", pa.string()),
        ("error", pa.string()),
        ("finish_reason", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
        ("latency_s", pa.float64()),
    ]
)


def latest_views(run_dir: RunDir) -> list[RecordView]:
    """The latest record of each (sample, epoch), validated, in the order `store.latest_records` gives:
    where the pair first appears, with the content of its last line. A torn last line is ignored."""
    try:
        raw = run_dir.samples_path.read_bytes()
    except FileNotFoundError:
        return []
    end = raw.rfind(b"\n") + 1
    latest: dict[tuple[str, int], RecordView] = {}
    decode = _DECODER.decode
    view_of = memoryview(raw)
    start = number = 0
    with no_cycle_collection():
        while start < end:
            stop = raw.index(b"\n", start)
            line = view_of[start:stop]
            number += 1
            blank = stop == start or (raw[start] in _SPACE and not raw[start:stop].strip())
            start = stop + 1
            if blank:
                continue
            try:
                view = decode(line)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise StoreError(
                    f"{run_dir.samples_path}:{number}: not a valid sample record ({exc}). "
                    "The file was changed outside the harness; restore it or delete the run directory."
                ) from exc
            latest[(view.sample_id, view.epoch)] = view
    return list(latest.values())


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Records decoded from JSON hold no reference cycles, yet while tens of thousands of them are
    alive the cyclic collector walks them over and over: half the time of reading a run, and more
    of sorting and exporting it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def table_from_views(views: list[RecordView]) -> pa.Table:
    scores = [v.score for v in views]
    completions = [v.completion for v in views]
    return pa.Table.from_pydict(
        {
            "sample_id": [v.sample_id for v in views],
            "epoch": [v.epoch for v in views],
            "category": [v.category for v in views],
            "score": [s.value if s is not None else None for s in scores],
            "parsed": [s.parsed if s is not None else False for s in scores],
            "extracted": [s.extracted if s is not None else None for s in scores],
            "target": [v.prompt.target for v in views],
            "error": [c.error for c in completions],
            "finish_reason": [c.finish_reason for c in completions],
            "input_tokens": [c.usage.input_tokens for c in completions],
            "output_tokens": [c.usage.output_tokens for c in completions],
            "reasoning_tokens": [c.usage.reasoning_tokens for c in completions],
            "latency_s": [c.latency_s for c in completions],
        },
        schema=SCHEMA,
    )


def _cache_key(identity: str) -> bytes:
    return f"{CACHE_VERSION}/{identity}".encode()


def _read_cache(path: Path, key: bytes) -> pa.Table | None:
    try:
        with pa.OSFile(str(path)) as source:
            reader = pa.ipc.open_file(source)
            if (reader.schema.metadata or {}).get(KEY_FIELD) != key:
                return None
            table = reader.read_all()
    except (OSError, pa.ArrowInvalid):
        return None
    return table if table.schema.remove_metadata().equals(SCHEMA) else None


def _write_cache(path: Path, table: pa.Table, key: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    except OSError:
        return  # a read-only run directory: reads stay correct, only slower
    try:
        with os.fdopen(fd, "wb") as handle:
            schema = table.schema.with_metadata({KEY_FIELD: key})
            with pa.ipc.new_file(handle, schema) as writer:
                writer.write_table(table.replace_schema_metadata({KEY_FIELD: key}))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def build_caches(run_dirs: list[RunDir]) -> None:
    """Build the caches these runs lack or have out of date, in parallel across the machine's cores:
    the first read of a large store validates its records in a fraction of the time one core takes. A
    run whose cache cannot be built here (a damaged record, a read-only folder) is left to the reader,
    which reports it."""
    stale = [d for d in run_dirs if not _cache_is_current(d)]
    workers = min(len(stale), os.cpu_count() or 1)
    if workers <= 1:
        return
    stale.sort(key=lambda d: -_size(d.samples_path))  # longest first: no core is left with one at the end
    with process_pool(workers) as pool:
        for _ in pool.map(_build_cache, [d.path for d in stale]):
            pass


def _cache_is_current(run_dir: RunDir) -> bool:
    identity = file_identity(run_dir.samples_path)
    if identity is None:
        return True
    try:
        with pa.OSFile(str(run_dir.path / CACHE_FILE)) as source:
            metadata = pa.ipc.open_file(source).schema.metadata or {}
    except (OSError, pa.ArrowInvalid):
        return False
    return metadata.get(KEY_FIELD) == _cache_key(identity)


def _build_cache(path: Path) -> None:
    with contextlib.suppress(StoreError, OSError):
        record_table(RunDir(path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def record_table(run_dir: RunDir, *, cache: bool = True) -> pa.Table:
    """The latest records' scalar fields (see SCHEMA), from the cache when it matches the records."""
    identity = file_identity(run_dir.samples_path)
    if identity is None:
        return SCHEMA.empty_table()
    key = _cache_key(identity)
    path = run_dir.path / CACHE_FILE
    if cache:
        cached = _read_cache(path, key)
        if cached is not None:
            return cached.replace_schema_metadata(None)
    table = table_from_views(latest_views(run_dir))
    # A run written to while it was read (a resumed run in flight) gets no cache until it settles.
    if cache and file_identity(run_dir.samples_path) == identity:
        _write_cache(path, table, key)
    return table
