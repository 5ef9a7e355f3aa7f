"""plan (task x entry -> RunSpec and prompts) -> skip what is done -> generate -> score -> store."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harness import __version__
from harness.backends import GenerationRequest, ModelClient, make_client
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.grading import Grader, RecordKey
from harness.reasoning import split_reasoning
from harness.store import RecordAppender, RunDir, latest_records
from harness.task import Task, derive_seed, fingerprint, identity_options, select_subset
from harness.types import (
    Completion,
    Counts,
    GenerationConfig,
    Message,
    Metric,
    Prompt,
    RunResult,
    RunSpec,
    RunStatus,
    Sample,
    SampleRecord,
    Score,
    Timings,
    Usage,
)

DEFAULT_MAX_ERROR_RATE = 0.05


class ProgressReporter(Protocol):
    def start(self, description: str, total: int, completed: int) -> None: ...

    def advance(self, record: SampleRecord) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    def start(self, description: str, total: int, completed: int) -> None:
        pass

    def advance(self, record: SampleRecord) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class RunOptions:
    output_dir: Path
    data_dir: Path | None = None
    limit: int | None = None
    epochs: int | None = None
    seed: int | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE


@dataclass
class PlannedItem:
    sample: Sample
    epoch: int
    prompt: Prompt

    @property
    def key(self) -> tuple[str, int]:
        return (self.sample.id, self.epoch)


@dataclass
class Plan:
    task: Task
    entry: ModelEntry | None
    spec: RunSpec
    items: list[PlannedItem]
    prefixes: dict[str, str]
    notes: list[str]
    plan_s: float

    @property
    def generation(self) -> GenerationConfig:
        assert self.spec.generation is not None
        return self.spec.generation


@dataclass
class RunOutcome:
    run_dir: RunDir
    result: RunResult
    generated: int
    reused: int


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def plan_run(task: Task, entry: ModelEntry, options: RunOptions) -> Plan:
    started = time.perf_counter()
    loaded = task.load(options.data_dir)
    samples, entry_params = task.samples_for_entry(loaded.samples, entry)
    generation = entry.generation.apply(task.generation_defaults()).merged(options.generation)
    seed = options.seed if options.seed is not None else (generation.seed or 0)
    generation = generation.merged({"seed": seed}) if generation.seed is not None else generation
    selected = select_subset(samples, options.limit, seed)
    epochs = options.epochs or task.default_epochs
    items = [
        PlannedItem(sample, epoch, task.build_prompt(sample, epoch, seed))
        for sample in selected
        for epoch in range(epochs)
    ]
    all_prefixes = task.prompt_prefixes()
    used = sorted({item.prompt.prefix_key for item in items if item.prompt.prefix_key is not None})
    prefixes = {key: all_prefixes[key] for key in used}
    spec = RunSpec(
        task=task.name,
        task_version=task.version,
        entry=entry.id,
        model=entry.model,
        backend=entry.backend,
        generation=generation,
        epochs=epochs,
        seed=seed,
        limit=options.limit,
        task_params={**task.params(), **entry_params},
        data=loaded.ref.model_copy(update={"fingerprint": fingerprint(selected, prefixes)}),
    )
    notes = [
        *loaded.notes,
        *sorted({str(i.prompt.metadata["note"]) for i in items if "note" in i.prompt.metadata}),
    ]
    return Plan(task, entry, spec, items, prefixes, notes, time.perf_counter() - started)


def request_for(item: PlannedItem, plan: Plan) -> GenerationRequest:
    config = plan.generation
    messages = item.prompt.render(plan.prefixes)
    if config.system_prompt is not None and messages[0].role != "system":
        messages = [Message(role="system", content=config.system_prompt), *messages]
    if config.seed is not None:
        config = config.model_copy(update={"seed": derive_seed(config.seed, item.sample.id, item.epoch)})
    return GenerationRequest(messages=messages, config=config)


def finish_completion(completion: Completion) -> Completion:
    """Split `<think>` reasoning off the answer unless the backend already separated it."""
    if completion.error is not None or completion.reasoning is not None:
        return completion
    reasoning, answer = split_reasoning(completion.text)
    if reasoning is None:
        return completion
    return completion.model_copy(update={"text": answer, "reasoning": reasoning})


def score_record(task: Task, record: SampleRecord) -> SampleRecord:
    if record.completion.error is not None:
        return record.model_copy(update={"score": None})
    return record.model_copy(update={"score": task.score(record.prompt, record.completion)})


def execute(
    plan: Plan,
    options: RunOptions,
    *,
    progress: ProgressReporter | None = None,
    client_factory: Callable[[ModelEntry], ModelClient] = make_client,
) -> RunOutcome:
    """Generate and score whatever the run still lacks; safe to interrupt and to call again.

    With a task that grades concurrently (`Task.grader()`), each completion is saved unscored first
    and its scored record appended when the grade returns; completions saved but not yet graded by an
    earlier invocation are graded, never generated again.
    """
    progress = progress or SilentProgress()
    spec_hash = plan.spec.spec_hash()
    run_dir = RunDir.for_spec(options.output_dir, plan.spec.task, plan.spec.entry, spec_hash)
    with run_dir.lock():
        previous = run_dir.read_result() if run_dir.exists() else None
        lines = run_dir.read_records(repair=True)
        records = latest_records(lines)
        superseded = len(lines) - len(records)
        done = {key for key, record in records.items() if record.completion.error is None}
        pending = [item for item in plan.items if item.key not in done]
        ungraded = [item.key for item in plan.items if item.key in done and records[item.key].score is None]
        # Few-shot prompts of one category share a prefix; keeping them together lets local backends
        # reuse their KV cache.
        pending.sort(key=lambda item: item.prompt.prefix_key or "")
        reused = len(plan.items) - len(pending)
        session = Session(started=time.perf_counter(), plan_s=plan.plan_s)
        backend_info = previous.backend_info if previous else {}
        grading_info = previous.grading if previous else {}
        # Created before anything is written or the model is loaded, so a missing sandbox stops the
        # run at once.
        grader = plan.task.grader() if pending or ungraded else None
        if grader is not None:
            grading_info = grader.info()
        if pending:
            run_dir.write_result(
                build_result(
                    plan,
                    spec_hash,
                    records,
                    previous,
                    session,
                    backend_info,
                    options.max_error_rate,
                    "partial",
                    grading=grading_info,
                )
            )
        try:
            if pending or ungraded:
                with run_dir.appender() as appender:
                    work = Work(plan.task, appender, records, session, grader)
                    if grader is not None:
                        for key in ungraded:
                            grader.submit(key, records[key].prompt, records[key].completion)
                    else:
                        for key in ungraded:
                            work.store(score_record(plan.task, records[key]))
                    if pending:
                        progress.start(f"{plan.spec.task} · {plan.spec.entry}", len(plan.items), reused)
                        load_started = time.perf_counter()
                        assert plan.entry is not None, "an imported run has nothing to generate"
                        client = client_factory(plan.entry)
                        session.model_load_s = time.perf_counter() - load_started
                        backend_info = client.info()
                        try:
                            _generate(plan, pending, client, work, progress, done)
                        finally:
                            client.close()
                            progress.finish()
                    if grader is not None:
                        _finish_grading(plan, work, grader, progress)
                    superseded += work.replaced
        finally:
            if grader is not None:
                failures = list(grader.failures)
                grader.close()
                if failures:
                    grading_info = {**grading_info, "failures": failures[:20], "failed": len(failures)}
            if superseded:
                planned = {item.key for item in plan.items}
                run_dir.rewrite_records(r for k, r in records.items() if k in planned)
            result = build_result(
                plan,
                spec_hash,
                records,
                previous,
                session,
                backend_info,
                options.max_error_rate,
                grading=grading_info,
            )
            if previous is None or _differs(previous, result):
                run_dir.write_result(result)
    return RunOutcome(run_dir=run_dir, result=result, generated=session.generated, reused=reused)


@dataclass
class Session:
    started: float
    plan_s: float
    model_load_s: float = 0.0
    model_s: float = 0.0
    scoring_s: float = 0.0
    generated: int = 0
    began_at: str = field(default_factory=now_iso)


@dataclass
class Work:
    """Where new and re-graded records go: the run's file (append) and its in-memory view."""

    task: Task
    appender: RecordAppender
    records: dict[tuple[str, int], SampleRecord]
    session: Session
    grader: Grader | None
    replaced: int = 0

    def store(self, record: SampleRecord) -> None:
        self.appender.append(record)
        if record.key in self.records:
            self.replaced += 1
        self.records[record.key] = record

    def store_grades(self, grades: Iterable[tuple[RecordKey, Score]]) -> list[SampleRecord]:
        stored = []
        for key, score in grades:
            record = self.records[key].model_copy(update={"score": score})
            self.store(record)
            stored.append(record)
        return stored


def _generate(
    plan: Plan,
    pending: Sequence[PlannedItem],
    client: ModelClient,
    work: Work,
    progress: ProgressReporter,
    done: set[tuple[str, int]],
) -> None:
    """Generate `pending`, appending each record at once (scored inline, or submitted for grading)."""
    requests = [request_for(item, plan) for item in pending]
    session = work.session
    waiting_since = time.perf_counter()
    for index, completion in client.generate(requests):
        session.model_s += time.perf_counter() - waiting_since
        item = pending[index]
        scoring_started = time.perf_counter()
        record = SampleRecord(
            sample_id=item.sample.id,
            epoch=item.epoch,
            category=item.sample.category,
            prompt=item.prompt,
            completion=finish_completion(completion),
        )
        if work.grader is None:
            record = score_record(plan.task, record)
        work.store(record)
        if work.grader is not None and record.completion.error is None:
            work.grader.submit(item.key, record.prompt, record.completion)
            work.store_grades(work.grader.ready())
        session.scoring_s += time.perf_counter() - scoring_started
        session.generated += 1
        if record.completion.error is None:
            done.add(item.key)
        progress.advance(record)
        waiting_since = time.perf_counter()


def _finish_grading(plan: Plan, work: Work, grader: Grader, progress: ProgressReporter) -> None:
    """Wait for the grades still outstanding after generation, storing each as it arrives."""
    started = time.perf_counter()
    work.store_grades(grader.ready())
    if grader.outstanding:
        progress.start(f"grading {plan.spec.task} · {plan.spec.entry}", grader.outstanding, 0)
        try:
            for grade in grader.wait():
                for record in work.store_grades([grade]):
                    progress.advance(record)
        finally:
            progress.finish()
    work.session.scoring_s += time.perf_counter() - started


def score_all(
    task: Task, records: Sequence[SampleRecord], progress: ProgressReporter | None = None
) -> tuple[list[SampleRecord], dict[str, Any]]:
    """Score every record (errored completions get no score), through the task's grader if it has
    one; returns the records in the same order and the grading info."""
    grader = task.grader()
    if grader is None:
        return [score_record(task, record) for record in records], {}
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
        if grader.failures:
            info = {**info, "failures": grader.failures[:20], "failed": len(grader.failures)}
    finally:
        grader.close()
    return [by_key[record.key] for record in records], info


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
    spec_hash: str,
    records: dict[tuple[str, int], SampleRecord],
    previous: RunResult | None,
    session: Session,
    backend_info: dict[str, Any],
    max_error_rate: float,
    status: RunStatus | None = None,
    *,
    grading: dict[str, Any] | None = None,
) -> RunResult:
    planned = [records[item.key] for item in plan.items if item.key in records]
    metrics, categories, assessed = assess(plan.task, planned, len(plan.items), max_error_rate)
    return RunResult(
        spec=plan.spec,
        spec_hash=spec_hash,
        status=status or assessed,
        headline=plan.task.headline,
        metrics=metrics,
        categories=categories,
        counts=Counts(
            planned=len(plan.items),
            scored=sum(1 for r in planned if r.score is not None),
            errors=sum(1 for r in planned if r.completion.error is not None),
            generated=(previous.counts.generated if previous else 0) + session.generated,
        ),
        usage=sum((r.completion.usage for r in planned), Usage()),
        timings=_timings(previous.timings if previous else None, session),
        prompt_prefixes=plan.prefixes,
        backend_info=backend_info,
        grading=grading or {},
        notes=plan.notes,
        harness_version=__version__,
    )


def _timings(previous: Timings | None, session: Session) -> Timings:
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


def _differs(previous: RunResult, result: RunResult) -> bool:
    return previous.model_dump() != result.model_dump()


def rescore(
    run_dir: RunDir,
    output_dir: Path,
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
    *,
    data_dir: Path | None = None,
    task_options: dict[str, Any] | None = None,
    progress: ProgressReporter | None = None,
) -> RunOutcome:
    """Score stored completions again with the current scorer; the model is never called.

    With an unchanged task version the run is updated in place. A new task version is a different run:
    the completions are scored into a new run directory and the old one is left as it was.
    `task_options` may change how grading is done (workers, time limits), not what the run measured.
    """
    from harness.task import get_task

    with run_dir.lock():
        previous = run_dir.read_result()
        if previous.spec.backend == "external":
            raise ConfigError(
                f"{run_dir.path} holds results reported by others (no completions to grade); "
                "import the source file again instead."
            )
        stored = identity_options(get_task(previous.spec.task), previous.spec.task_params)
        task = get_task(previous.spec.task, {**stored, **(task_options or {})})
        if task.scoring_needs_data:
            # The test cases are not in the records; they come from the data the run was made with.
            task.load(data_dir)
        records = latest_records(run_dir.read_records(repair=True))
        spec = previous.spec
        target = run_dir
        if spec.task_version != task.version:
            spec = spec.model_copy(update={"task_version": task.version})
            target = RunDir.for_spec(output_dir, spec.task, spec.entry, spec.spec_hash())
        started = time.perf_counter()
        rescored, grading = score_all(task, list(records.values()), progress)
        scoring_s = time.perf_counter() - started
        metrics, categories, status = assess(task, rescored, previous.counts.planned, max_error_rate)
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
