"""Fast, validated reads of `run.json` for notebooks, aggregation and the site.

pydantic validates a run file in 50-150 microseconds (most of it the few-shot prefixes MMLU-Pro keeps
there), which every `runs_df`, `aggregate` and site build pays for every run of the store. Here a run
file is decoded and validated by msgspec against a mirror of `harness.types.RunResult` (same fields,
types and defaults; a test keeps the two in step) in a fraction of that. A file only pydantic reads
(an older schema it upgrades, a value its lax rules coerce and msgspec's do not) goes through pydantic,
and so does a damaged one, which then fails with pydantic's error.

A process that reads the store again (a notebook, a site build after `aggregate`) decodes only the run
files that changed: the last views read are kept by path and the file's identity (`file_identity`, as
the record cache keys `samples.jsonl`). Views are frozen, so callers share them safely.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from harness.store import RecentResults, RunDir, file_identity, read_runs
from harness.types import SCHEMA_VERSION


class _Struct(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class GenerationView(_Struct, frozen=True):
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 2048
    stop: list[str] = msgspec.field(default_factory=list)
    seed: int | None = 0
    system_prompt: str | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    thinking_budget_tokens: int | None = None


class DataView(_Struct, frozen=True):
    dataset: str
    revision: str | None = None
    source: Literal["hub", "local", "import"] = "hub"
    path: str | None = None
    fingerprint: str = ""
    data_dir: str | None = None


class SpecView(_Struct, frozen=True, kw_only=True):
    task: str
    task_version: str
    entry: str
    model: str
    backend: str
    generation: GenerationView | None
    epochs: int = 1
    seed: int = 0
    limit: int | None = None
    task_params: dict[str, Any] = msgspec.field(default_factory=dict)
    data: DataView
    imported_from_sha256: str | None = None


class MetricView(_Struct, frozen=True, kw_only=True):
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int
    ci_level: float | None = None


class CountsView(_Struct, frozen=True):
    planned: int = 0
    scored: int = 0
    errors: int = 0
    generated: int = 0
    cached: int = 0


class UsageView(_Struct, frozen=True):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


class TimingsView(_Struct, frozen=True):
    started_at: str | None = None
    finished_at: str | None = None
    total_s: float = 0.0
    plan_s: float = 0.0
    model_load_s: float = 0.0
    model_s: float = 0.0
    scoring_s: float = 0.0


class ManagedServerView(_Struct, frozen=True):
    kind: str
    port: int
    command: list[str]
    startup_s: float


class BackendInfoView(_Struct, frozen=True):
    backend: str
    library: str | None = None
    library_version: str | None = None
    transport: str | None = None
    endpoint: str | None = None
    model_file: str | None = None
    concurrency: int | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    request_timeout_s: float | None = None
    max_retries: int | None = None
    sampling: str | None = None
    managed_server: ManagedServerView | None = None
    settings: dict[str, str | int | float | bool | None] = msgspec.field(default_factory=dict)


class GradingView(msgspec.Struct, frozen=True, kw_only=True):
    # Unknown keys are dropped, as GradingInfo drops those of older runs.
    isolation: str
    mechanism: str = ""
    python: str = ""
    workers: int = 1
    timeout_s: float | None = None
    limits: dict[str, int] = msgspec.field(default_factory=dict)
    protections: list[str] = msgspec.field(default_factory=list)
    namespaces: list[str] = msgspec.field(default_factory=list)
    seccomp: bool | None = None
    memory_cap: str | None = None
    importable: list[str] = msgspec.field(default_factory=list)
    failed: int = 0
    failures: list[str] = msgspec.field(default_factory=list)


class ReportedModelView(_Struct, frozen=True):
    display_name: str
    model_name: str | None = None
    style: str | None = None
    release_date: str | None = None
    link: str | None = None


class ImportView(_Struct, frozen=True):
    source_file: str
    source_sha256: str
    records_read: int
    records_imported: int
    skipped_malformed: int = 0
    skipped_unknown_id: int = 0
    skipped_duplicate: int = 0
    reported_model: ReportedModelView | None = None


class RunView(_Struct, frozen=True, kw_only=True):
    """A `run.json` as `harness.types.RunResult` validates it (current schema)."""

    schema_version: int = SCHEMA_VERSION
    spec: SpecView
    spec_hash: str
    provenance: Literal["run", "imported", "reported"] = "run"
    status: Literal["complete", "partial", "failed"]
    headline: str = "accuracy"
    metrics: dict[str, MetricView] = msgspec.field(default_factory=dict)
    categories: dict[str, dict[str, MetricView]] = msgspec.field(default_factory=dict)
    counts: CountsView = msgspec.field(default_factory=CountsView)
    usage: UsageView = msgspec.field(default_factory=UsageView)
    cost_usd: float | None = None
    judge_usage: UsageView | None = None
    judge_cost_usd: float | None = None
    timings: TimingsView = msgspec.field(default_factory=TimingsView)
    prompt_prefixes: dict[str, str] = msgspec.field(default_factory=dict)
    backend_info: BackendInfoView | None = None
    grading: GradingView | None = None
    imported: ImportView | None = None
    notes: list[str] = msgspec.field(default_factory=list)
    harness_version: str = ""


# Lax like pydantic's default mode: "3" is accepted where an int is expected, as RunResult does.
_DECODER = msgspec.json.Decoder(RunView, strict=False)


# A view holds about what its file does (up to ~120 kB for MMLU-Pro's few-shot prefixes): a few
# hundred MB at most.
_views: RecentResults[RunView] = RecentResults(2048)


def read_run_view(run_dir: RunDir) -> RunView:
    """The run's `run.json`, validated; `StoreError` (pydantic's message) when it is not a valid run
    file."""
    path = str(run_dir.run_path)
    try:
        # Taken before the read: a file changed after it gets a new identity, and is read again.
        identity = file_identity(path)
    except OSError:
        identity = None
    if identity is None:
        return _decoded(run_dir)
    return _views.get((path, identity), lambda: _decoded(run_dir))


def _decoded(run_dir: RunDir) -> RunView:
    try:
        raw = run_dir.run_path.read_bytes()
    except OSError:
        raw = b""  # read_result names what is wrong with the file
    try:
        view = _DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        view = None
    if view is not None and view.schema_version >= SCHEMA_VERSION:
        return view
    return msgspec.convert(run_dir.read_result().model_dump(mode="json"), RunView)


def readable_run_views(
    root: Path, task: str | None = None, entry: str | None = None
) -> Iterator[tuple[RunDir, RunView]]:
    """The runs under `root` (of one task and entry, when given) whose run.json reads, with it."""
    return read_runs(root, read_run_view, task, entry)
