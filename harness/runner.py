"""plan (task x entry -> RunSpec and prompts) -> skip what is done -> generate -> score -> store."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harness import __version__
from harness.backends import Admit, GenerationRequest, ModelClient, make_client
from harness.cache import RequestCache, default_cache_path, request_key
from harness.config import ModelEntry
from harness.cost import Budget, SpendGuard, completion_cost
from harness.errors import ConfigError
from harness.grading import Grader, RecordKey
from harness.reasoning import split_reasoning
from harness.store import RecordAppender, RunDir, latest_records
from harness.task import Task, derive_seed, fingerprint, identity_options, select_subset
from harness.types import (
    Completion,
    Counts,
    GenerationConfig,
    GradingInfo,
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
    # Shared by the runs of one command: no call is sent that could take spending past its limit.
    budget: Budget | None = None
    # Answer identical requests from `<output_dir>/.cache/requests.sqlite` (or `cache_path`).
    use_cache: bool = True
    cache_path: Path | None = None

    def open_cache(self) -> RequestCache | None:
        if not self.use_cache:
            return None
        return RequestCache(self.cache_path or default_cache_path(self.output_dir))


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
    """`generated`, `cached` and `cost_usd` are this invocation's; `not_sent` counts the samples the
    spending limit kept back (the run stays partial and resumes on the next invocation)."""

    run_dir: RunDir
    result: RunResult
    generated: int
    reused: int
    cached: int = 0
    cost_usd: float = 0.0
    not_sent: int = 0


class ClientPool:
    """Clients kept open across the runs of one command, so that a managed server (or a loaded model)
    starts once rather than once per task. Pass the pool as `execute(client_factory=...)`; the runs
    borrow its clients, and `close()` ends them all."""

    def __init__(self, factory: Callable[[ModelEntry], ModelClient] = make_client) -> None:
        self._factory = factory
        self._clients: dict[str, ModelClient] = {}

    def __call__(self, entry: ModelEntry) -> ModelClient:
        if entry.id not in self._clients:
            self._clients[entry.id] = self._factory(entry)
        return _Borrowed(self._clients[entry.id])

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


class _Borrowed:
    def __init__(self, client: ModelClient) -> None:
        self._client = client

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        return self._client.generate(requests, admit)

    def info(self) -> dict[str, Any]:
        return self._client.info()

    def close(self) -> None:
        """The pool closes it."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def plan_run(task: Task, entry: ModelEntry, options: RunOptions) -> Plan:
    started = time.perf_counter()
    loaded = task.load(options.data_dir)
    generation = entry.generation.apply(task.generation_defaults()).merged(options.generation)
    seed = options.seed if options.seed is not None else (generation.seed or 0)
    generation = generation.merged({"seed": seed}) if generation.seed is not None else generation
    samples, entry_params = task.samples_for_entry(loaded.samples, entry)
    selected = select_subset(samples, options.limit, seed)
    epochs = options.epochs or task.default_epochs
    items = [
        PlannedItem(sample, epoch, task.build_prompt(sample, epoch, seed))
        for sample in selected
        for epoch in range(epochs)
    ]
    prefixes = shared_prefixes(task, items)
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
    notes = [*loaded.notes, *item_notes(items)]
    return Plan(task, entry, spec, items, prefixes, notes, time.perf_counter() - started)


def shared_prefixes(task: Task, items: Sequence[PlannedItem]) -> dict[str, str]:
    """The task's shared prompt prefixes that these items use (stored once in run.json)."""
    available = task.prompt_prefixes()
    used = sorted({item.prompt.prefix_key for item in items if item.prompt.prefix_key is not None})
    return {key: available[key] for key in used}


def item_notes(items: Sequence[PlannedItem]) -> list[str]:
    """The distinct notes tasks attached to these items' prompts (e.g. a disputed answer key)."""
    return sorted({str(item.prompt.metadata["note"]) for item in items if "note" in item.prompt.metadata})


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
    entry = plan.entry
    assert entry is not None, "an imported run has nothing to generate"
    if options.budget is not None and entry.price is None:
        raise ConfigError(
            f"--max-cost needs a price for entry {entry.id!r}: add `price:` (USD per million input and "
            "output tokens) to it in the models file."
        )
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
        grading_info = previous.grading if previous else None
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
                _fill(
                    plan,
                    entry,
                    pending,
                    ungraded,
                    run_dir,
                    records,
                    done,
                    session,
                    progress,
                    options,
                    client_factory,
                    grader,
                )
        finally:
            if grader is not None:
                failures = list(grader.failures)
                grader.close()
                if failures and grading_info is not None:
                    grading_info = grading_info.model_copy(
                        update={"failures": failures[:20], "failed": len(failures)}
                    )
            if session.replaced or superseded:
                planned = {item.key for item in plan.items}
                run_dir.rewrite_records(r for k, r in records.items() if k in planned)
            result = build_result(
                plan,
                spec_hash,
                records,
                previous,
                session,
                session.backend_info or backend_info,
                options.max_error_rate,
                grading=grading_info,
            )
            if previous is None or _differs(previous, result):
                run_dir.write_result(result)
    return RunOutcome(
        run_dir=run_dir,
        result=result,
        generated=session.generated,
        reused=reused,
        cached=session.cached,
        cost_usd=session.cost_usd,
        not_sent=len(plan.items) - reused - session.generated - session.cached,
    )


@dataclass
class Session:
    started: float
    plan_s: float
    model_load_s: float = 0.0
    model_s: float = 0.0
    scoring_s: float = 0.0
    generated: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    replaced: int = 0
    backend_info: dict[str, Any] | None = None
    began_at: str = field(default_factory=now_iso)


def _fill(
    plan: Plan,
    entry: ModelEntry,
    pending: Sequence[PlannedItem],
    ungraded: Sequence[RecordKey],
    run_dir: RunDir,
    records: dict[tuple[str, int], SampleRecord],
    done: set[tuple[str, int]],
    session: Session,
    progress: ProgressReporter,
    options: RunOptions,
    client_factory: Callable[[ModelEntry], ModelClient],
    grader: Grader | None,
) -> None:
    """Grade what an earlier invocation left ungraded, then answer `pending` from the request cache
    where it can and from the model otherwise (the model is not even loaded when the cache answers
    everything), then wait for the grades still outstanding."""
    with run_dir.appender() as appender:
        recorder = Recorder(plan, appender, records, session, progress, done, grader)
        recorder.regrade(ungraded)
        if pending:
            _answer(plan, entry, pending, recorder, options, client_factory)
        if grader is not None:
            _finish_grading(plan, recorder, grader, progress)


def _answer(
    plan: Plan,
    entry: ModelEntry,
    pending: Sequence[PlannedItem],
    recorder: Recorder,
    options: RunOptions,
    client_factory: Callable[[ModelEntry], ModelClient],
) -> None:
    session = recorder.session
    recorder.progress.start(
        f"{plan.spec.task} · {plan.spec.entry}", len(plan.items), len(plan.items) - len(pending)
    )
    cache = options.open_cache()
    try:
        requests = [request_for(item, plan) for item in pending]
        keys = [request_key(entry, r, item.epoch) for r, item in zip(requests, pending, strict=True)]
        misses = _answer_from_cache(cache, keys, pending, recorder)
        if not misses:
            return
        load_started = time.perf_counter()
        client = client_factory(entry)
        session.model_load_s = time.perf_counter() - load_started
        session.backend_info = client.info()
        try:
            _generate(
                entry,
                [pending[i] for i in misses],
                [requests[i] for i in misses],
                [keys[i] for i in misses],
                client,
                recorder,
                cache,
                options.budget,
            )
        finally:
            client.close()
    finally:
        recorder.progress.finish()
        if cache is not None:
            cache.close()


class Recorder:
    """Appends each record at once (a kill loses nothing): scored inline, or saved unscored and
    submitted to the task's grader, whose grades are appended as they return."""

    def __init__(
        self,
        plan: Plan,
        appender: RecordAppender,
        records: dict[tuple[str, int], SampleRecord],
        session: Session,
        progress: ProgressReporter,
        done: set[tuple[str, int]],
        grader: Grader | None,
    ) -> None:
        self.plan = plan
        self.appender = appender
        self.records = records
        self.session = session
        self.progress = progress
        self.done = done
        self.grader = grader

    def store(self, record: SampleRecord) -> None:
        self.appender.append(record)
        if record.key in self.records:
            self.session.replaced += 1
        self.records[record.key] = record

    def add(self, item: PlannedItem, completion: Completion) -> SampleRecord:
        scoring_started = time.perf_counter()
        record = SampleRecord(
            sample_id=item.sample.id,
            epoch=item.epoch,
            category=item.sample.category,
            prompt=item.prompt,
            completion=completion,
        )
        if self.grader is None:
            record = score_record(self.plan.task, record)
        self.store(record)
        if self.grader is not None and record.completion.error is None:
            self.grader.submit(item.key, record.prompt, record.completion)
            self.store_grades(self.grader.ready())
        self.session.scoring_s += time.perf_counter() - scoring_started
        if record.completion.error is None:
            self.done.add(item.key)
        self.progress.advance(record)
        return record

    def regrade(self, keys: Sequence[RecordKey]) -> None:
        """Grade completions saved by an earlier invocation that stopped before their grades came."""
        for key in keys:
            if self.grader is not None:
                self.grader.submit(key, self.records[key].prompt, self.records[key].completion)
            else:
                self.store(score_record(self.plan.task, self.records[key]))

    def store_grades(self, grades: Iterable[tuple[RecordKey, Score]]) -> list[SampleRecord]:
        stored = []
        for key, score in grades:
            record = self.records[key].model_copy(update={"score": score})
            self.store(record)
            stored.append(record)
        return stored


def _answer_from_cache(
    cache: RequestCache | None, keys: Sequence[str], pending: Sequence[PlannedItem], recorder: Recorder
) -> list[int]:
    """Record the pending items the cache can answer; return the indices of the others."""
    hits = cache.get_many(keys) if cache is not None else {}
    for key, item in zip(keys, pending, strict=True):
        if key in hits:
            recorder.add(item, hits[key])
            recorder.session.cached += 1
    return [index for index, key in enumerate(keys) if key not in hits]


def _generate(
    entry: ModelEntry,
    pending: Sequence[PlannedItem],
    requests: Sequence[GenerationRequest],
    keys: Sequence[str],
    client: ModelClient,
    recorder: Recorder,
    cache: RequestCache | None,
    budget: Budget | None,
) -> None:
    """Send `requests` to the model, recording (and caching) each completion as it arrives."""
    session = recorder.session
    guard = SpendGuard(budget, entry.price, requests) if budget is not None and entry.price else None
    waiting_since = time.perf_counter()
    for index, raw in client.generate(requests, guard.admit if guard is not None else None):
        session.model_s += time.perf_counter() - waiting_since
        completion = finish_completion(raw)
        completion.cost_usd = completion_cost(completion, entry.price)
        if guard is not None:
            guard.settle(index, completion)
        session.cost_usd += completion.cost_usd or 0.0
        session.generated += 1
        record = recorder.add(pending[index], completion)
        if cache is not None:
            cache.put(keys[index], record.completion)
        waiting_since = time.perf_counter()


def _finish_grading(plan: Plan, recorder: Recorder, grader: Grader, progress: ProgressReporter) -> None:
    """Wait for the grades still outstanding after generation, storing each as it arrives."""
    started = time.perf_counter()
    recorder.store_grades(grader.ready())
    if grader.outstanding:
        progress.start(f"grading {plan.spec.task} · {plan.spec.entry}", grader.outstanding, 0)
        try:
            for grade in grader.wait():
                for record in recorder.store_grades([grade]):
                    progress.advance(record)
        finally:
            progress.finish()
    recorder.session.scoring_s += time.perf_counter() - started


def score_all(
    task: Task, records: Sequence[SampleRecord], progress: ProgressReporter | None = None
) -> tuple[list[SampleRecord], GradingInfo | None]:
    """Score every record (errored completions get no score), through the task's grader if it has
    one; returns the records in the same order and the grading info."""
    grader = task.grader()
    if grader is None:
        return [score_record(task, record) for record in records], None
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
    grading: GradingInfo | None = None,
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
            cached=sum(1 for r in planned if r.completion.cached),
        ),
        usage=sum((r.completion.usage for r in planned), Usage()),
        cost_usd=run_cost(plan.entry, planned),
        timings=_timings(previous.timings if previous else None, session),
        prompt_prefixes=plan.prefixes,
        backend_info=backend_info,
        grading=grading,
        notes=[*plan.notes, *usage_notes(planned)],
        harness_version=__version__,
    )


def run_cost(entry: ModelEntry | None, planned: Sequence[SampleRecord]) -> float | None:
    """The sum of the samples' costs; None when the entry has no price (or the run was imported)."""
    if entry is None or entry.price is None:
        return None
    costs = (
        r.completion.cost_usd
        if r.completion.cost_usd is not None
        else completion_cost(r.completion, entry.price)
        for r in planned
    )
    return sum(cost or 0.0 for cost in costs)


def usage_notes(planned: Sequence[SampleRecord]) -> list[str]:
    missing = sum(1 for r in planned if r.completion.usage_missing)
    if not missing:
        return []
    return [
        f"{missing} response(s) carried no readable token counts: their tokens and cost are unknown "
        "and not included in usage and cost_usd"
    ]


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
