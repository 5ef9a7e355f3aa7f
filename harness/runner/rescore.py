"""Score stored completions again with the current scorer; the model is never called."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from harness import __version__
from harness.backends import make_client
from harness.errors import ConfigError
from harness.runner.calls import ClientFactory
from harness.runner.generate import RunOutcome, score_inline
from harness.runner.plan import RunOptions
from harness.runner.progress import ProgressReporter, SilentProgress
from harness.runner.results import assess, judge_spending, now_iso
from harness.runner.scoring import scoring_context
from harness.store import RunDir, latest_records
from harness.task import LoadedData, ScoringContext, Task, identity_options
from harness.types import GradingInfo, SampleRecord
from tasks import get_task, options_model


def score_all(
    task: Task,
    records: Sequence[SampleRecord],
    context: ScoringContext,
    progress: ProgressReporter | None = None,
) -> tuple[list[SampleRecord], GradingInfo | None]:
    """Score every record (errored completions get no score), through the task's concurrent scorer if
    it has one; returns the records in the same order and the grading info."""
    grader = task.scorer(context)
    if grader is None:
        return [score_inline(task, record, context) for record in records], None
    progress = progress or SilentProgress()
    by_key = {record.key: record.model_copy(update={"score": None}) for record in records}
    try:
        for record in by_key.values():
            if record.completion.error is None:
                grader.submit(record.key, record.prompt, record.completion)
        progress.start(f"grading {task.name}", grader.outstanding, 0)
        try:
            for key, score in grader.wait():
                by_key[key] = by_key[key].model_copy(update={"score": score})
                progress.advance(by_key[key])
        finally:
            progress.finish()
        info = grader.info()
    finally:
        grader.close()
    return [by_key[record.key] for record in records], info


def rescore(
    run_dir: RunDir,
    options: RunOptions,
    *,
    task_options: dict[str, Any] | None = None,
    progress: ProgressReporter | None = None,
    client_factory: ClientFactory = make_client,
) -> RunOutcome:
    """Score a run's stored completions again with the current scorer.

    With an unchanged task version and options the run is updated in place. A new task version, or
    `task_options` that change what the run measures (e.g. another judge), make a different run: the
    completions are scored into a new run directory and the old one is left as it was. Options that
    only change how scoring is done (time limits) update the run in place.
    """
    with run_dir.lock():
        previous = run_dir.read_result()
        if previous.provenance == "reported":
            raise ConfigError(
                f"{run_dir.path} holds results reported by others (no completions to score); "
                "import the source file again instead."
            )
        spec = previous.spec
        stored = identity_options(options_model(spec.task), spec.task_params)
        task = get_task(spec.task, {**stored, **(task_options or {})})
        loaded: LoadedData | None = None
        if task.needs & {"data", "baseline"}:
            # What scoring needs beyond the records comes from the data the run was made with.
            loaded = task.load(options.data_dir)
        records = latest_records(run_dir.read_records(repair=True))
        target = run_dir
        # Options that change what is measured (another judge) make another run, as a new version does.
        params = {**spec.task_params, **task.params()}
        if spec.task_version != task.version or params != spec.task_params:
            spec = spec.model_copy(update={"task_version": task.version, "task_params": params})
            target = RunDir.for_spec(options.runs_root, spec.task, spec.entry, spec.spec_hash())
        started = time.perf_counter()
        with scoring_context(task, loaded, options, client_factory, target.path) as scoring:
            rescored, grading = score_all(task, list(records.values()), scoring.context, progress)
        scoring_s = time.perf_counter() - started
        metrics, categories, status = assess(task, rescored, previous.counts.planned, options.max_error_rate)
        judge_usage, judge_cost = judge_spending(rescored)
        result = previous.model_copy(
            update={
                "spec": spec,
                "spec_hash": spec.spec_hash(),
                "status": status,
                "metrics": metrics,
                "categories": categories,
                "counts": previous.counts.model_copy(
                    update={"scored": sum(r.score is not None for r in rescored)}
                ),
                "judge_usage": judge_usage,
                "judge_cost_usd": judge_cost,
                "timings": previous.timings.model_copy(update={"scoring_s": scoring_s}),
                "grading": grading or previous.grading,
                "notes": [*previous.notes, f"rescored at {now_iso()} with task version {task.version}"],
                "harness_version": __version__,
            }
        )
        with target.lock() if target is not run_dir else contextlib.nullcontext():
            target.rewrite_records(rescored)
            target.write_result(result)
    return RunOutcome(run_dir=target, result=result, generated=0, reused=len(rescored))
