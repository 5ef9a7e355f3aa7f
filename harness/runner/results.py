"""A run's result (`run.json`) from its plan and records: the one way every run is assembled, whether
its completions were generated here, imported, or reported by others."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harness import __version__
from harness.cost import completion_cost
from harness.runner.plan import Plan
from harness.store import RunDir
from harness.task import Task
from harness.types import (
    BackendInfo,
    Counts,
    GradingInfo,
    Metric,
    RunResult,
    RunStatus,
    SampleRecord,
    Timings,
    Usage,
)

RecordKey = tuple[str, int]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Session:
    """What one invocation did, added to what earlier invocations of the same run recorded."""

    started: float = field(default_factory=time.perf_counter)
    plan_s: float = 0.0
    model_load_s: float = 0.0
    model_s: float = 0.0
    scoring_s: float = 0.0
    generated: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    replaced: int = 0
    backend_info: BackendInfo | None = None
    began_at: str = field(default_factory=now_iso)


def assess(
    task: Task, planned: Sequence[SampleRecord], total: int, max_error_rate: float
) -> tuple[dict[str, Metric], dict[str, dict[str, Metric]], RunStatus]:
    """Metrics over the records of a run's planned samples, and the status they amount to."""
    errors = sum(1 for r in planned if r.completion.error is not None)
    ungraded = sum(1 for r in planned if r.completion.error is None and r.score is None)
    metrics, categories = task.aggregate(planned)
    if total:
        metrics["error_rate"] = Metric(value=errors / total, n=total)
    status: RunStatus
    if len(planned) < total or ungraded:
        status = "partial"
    elif total and errors / total > max_error_rate:
        status = "failed"
    else:
        status = "complete"
    return metrics, categories, status


def build_result(
    plan: Plan,
    records: Mapping[RecordKey, SampleRecord],
    *,
    max_error_rate: float,
    previous: RunResult | None = None,
    session: Session | None = None,
    status: RunStatus | None = None,
    grading: GradingInfo | None = None,
    timings: Timings | None = None,
) -> RunResult:
    """The run's result over the records of its planned items (others are ignored).

    `previous` is the run's result as an earlier invocation left it (its counts and timings are
    carried on); `status` overrides the assessed one (a run in flight is `partial`)."""
    session = session or Session()
    planned = [records[item.key] for item in plan.items if item.key in records]
    metrics, categories, assessed = assess(plan.task, planned, len(plan.items), max_error_rate)
    source = plan.source
    judge_usage, judge_cost = judge_spending(planned)
    return RunResult(
        spec=plan.spec,
        spec_hash=plan.spec.spec_hash(),
        provenance=source.provenance,
        status=status or assessed,
        headline=plan.task.headline,
        metrics=metrics,
        categories=categories,
        counts=Counts(
            planned=len(plan.items),
            scored=sum(1 for r in planned if r.score is not None),
            errors=sum(1 for r in planned if r.completion.error is not None),
            generated=(previous.counts.generated if previous else 0) + session.generated,
            cached=sum(1 for r in planned if r.completion.cached),
        ),
        usage=sum((r.completion.usage for r in planned), Usage()),
        cost_usd=run_cost(plan, planned),
        judge_usage=judge_usage,
        judge_cost_usd=judge_cost,
        timings=timings or merged_timings(previous.timings if previous else None, session),
        prompt_prefixes=plan.prefixes,
        backend_info=session.backend_info or (previous.backend_info if previous else source.backend_info),
        grading=grading if grading is not None else (previous.grading if previous else None),
        imported=source.imported,
        notes=[*plan.notes, *usage_notes(planned)],
        harness_version=__version__,
    )


def run_cost(plan: Plan, planned: Sequence[SampleRecord]) -> float | None:
    """The sum of the samples' costs; None when the source has no price (imported, reported)."""
    price = plan.source.price
    if price is None or plan.source.provenance != "run":
        return None
    costs = (
        r.completion.cost_usd if r.completion.cost_usd is not None else completion_cost(r.completion, price)
        for r in planned
    )
    return sum(cost or 0.0 for cost in costs)


def judge_spending(planned: Sequence[SampleRecord]) -> tuple[Usage | None, float | None]:
    judged = [r.score for r in planned if r.score is not None and r.score.judge_usage is not None]
    if not judged:
        return None, None
    usage = sum((score.judge_usage for score in judged if score.judge_usage is not None), Usage())
    costs = [score.judge_cost_usd for score in judged]
    cost = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    return usage, cost


def usage_notes(planned: Sequence[SampleRecord]) -> list[str]:
    missing = sum(1 for r in planned if r.completion.usage_missing)
    if not missing:
        return []
    return [
        f"{missing} response(s) carried no readable token counts: their tokens and cost are unknown "
        "and not included in usage and cost_usd"
    ]


def merged_timings(previous: Timings | None, session: Session) -> Timings:
    """Timings are cumulative over the invocations that generated something."""
    if session.generated == 0 and previous is not None:
        return previous
    base = previous or Timings(started_at=session.began_at)
    return Timings(
        started_at=base.started_at or session.began_at,
        finished_at=now_iso(),
        total_s=base.total_s + (time.perf_counter() - session.started) + session.plan_s,
        model_s=base.model_s + session.model_s,
        scoring_s=base.scoring_s + session.scoring_s,
        plan_s=base.plan_s + session.plan_s,
        model_load_s=base.model_load_s + session.model_load_s,
    )


def mark_started(run_dir: RunDir, plan: Plan) -> None:
    """Give a run that has no run.json a `partial` one before anything else is written, so that a run
    stopped before it finishes is listed, with the command that completes it, rather than being a
    directory nobody sees."""
    if not run_dir.exists():
        run_dir.write_result(build_result(plan, {}, max_error_rate=1.0, status="partial"))


def write_run(run_dir: RunDir, result: RunResult, records: Sequence[SampleRecord]) -> None:
    """Replace a run's records and result (an import or a rescore): records first, so a run.json never
    describes records that are not on disk."""
    run_dir.rewrite_records(records)
    run_dir.write_result(result)
