"""Generate and score what a run still lacks: skip what is done, answer from the cache or the model,
score inline or through the task's concurrent scorer, and append every record at once."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from harness.backends import Admit, ModelClient, make_client
from harness.config import ModelEntry
from harness.grading import Grader, RecordKey
from harness.runner.calls import ClientFactory, ModelCalls, check_priced
from harness.runner.plan import Plan, PlannedItem, RunOptions, request_for
from harness.runner.progress import ProgressReporter, SilentProgress
from harness.runner.results import Session, build_result
from harness.runner.scoring import ScoringResources, scoring_context
from harness.store import RecordAppender, RunDir, latest_records
from harness.task import ScoringContext, Task
from harness.types import (
    BackendInfo,
    Completion,
    GenerationRequest,
    GradingInfo,
    RunResult,
    SampleRecord,
    Score,
)


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
    starts once rather than once per task, and an entry that also judges is loaded once. Pass the pool
    as `execute(client_factory=...)`; the runs borrow its clients, and `close()` ends them all."""

    def __init__(self, factory: ClientFactory = make_client) -> None:
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

    def info(self) -> BackendInfo:
        return self._client.info()

    def close(self) -> None:
        """The pool closes it."""


def score_inline(task: Task, record: SampleRecord, context: ScoringContext) -> SampleRecord:
    if record.completion.error is not None:
        return record.model_copy(update={"score": None})
    return record.model_copy(update={"score": task.score(record.prompt, record.completion, context)})


@dataclass
class ResumeState:
    """What earlier invocations left of a run, and what it still lacks."""

    previous: RunResult | None
    records: dict[RecordKey, SampleRecord]
    superseded: int
    done: set[RecordKey]
    pending: list[PlannedItem]
    ungraded: list[RecordKey]

    @classmethod
    def read(cls, run_dir: RunDir, plan: Plan) -> ResumeState:
        previous = run_dir.read_result() if run_dir.exists() else None
        lines = run_dir.read_records(repair=True)
        records = latest_records(lines)
        done = {key for key, record in records.items() if record.completion.error is None}
        pending = [item for item in plan.items if item.key not in done]
        # Few-shot prompts of one category share a prefix; keeping them together lets local backends
        # reuse their KV cache.
        pending.sort(key=lambda item: item.prompt.prefix_key or "")
        ungraded = [item.key for item in plan.items if item.key in done and records[item.key].score is None]
        return cls(previous, records, len(lines) - len(records), done, pending, ungraded)

    @property
    def has_work(self) -> bool:
        return bool(self.pending or self.ungraded)


def execute(
    plan: Plan,
    options: RunOptions,
    *,
    progress: ProgressReporter | None = None,
    client_factory: Callable[[ModelEntry], ModelClient] = make_client,
) -> RunOutcome:
    """Generate and score whatever the run still lacks; safe to interrupt and to call again.

    With a task that scores concurrently (`Task.scorer()`), each completion is saved unscored first and
    its scored record appended when the grade returns; completions saved but not yet graded by an
    earlier invocation are graded, never generated again.
    """
    entry = plan.entry
    assert entry is not None, "an imported run has nothing to generate"
    check_priced(entry, options.budget)
    run_dir = RunDir.for_spec(options.runs_root, plan.spec.task, plan.spec.entry, plan.spec.spec_hash())
    with run_dir.lock():
        state = ResumeState.read(run_dir, plan)
        session = Session(plan_s=plan.plan_s)
        grading = state.previous.grading if state.previous else None
        # Opened before anything is written or the model is loaded, so a missing sandbox or judge
        # stops the run at once; a run with nothing left to do needs neither.
        opened = (
            scoring_context(plan.task, plan.loaded, options, client_factory, run_dir.path)
            if state.has_work
            else contextlib.nullcontext(ScoringResources(ScoringContext()))
        )
        with opened as scoring:
            grader = plan.task.scorer(scoring.context) if state.has_work else None
            if grader is not None:
                grading = grader.info() or grading
            result_of = functools.partial(
                build_result,
                plan,
                state.records,
                max_error_rate=options.max_error_rate,
                previous=state.previous,
            )
            if state.pending:
                run_dir.write_result(result_of(session=session, status="partial", grading=grading))
            try:
                if state.has_work:
                    filler = Filler(
                        plan,
                        state.records,
                        session,
                        progress or SilentProgress(),
                        state.done,
                        grader,
                        scoring,
                    )
                    filler.fill(run_dir, entry, state.pending, state.ungraded, options, client_factory)
            finally:
                if grader is not None:
                    grading = _closed(grader, grading)
                if session.replaced or state.superseded:
                    planned = {item.key for item in plan.items}
                    run_dir.rewrite_records(r for k, r in state.records.items() if k in planned)
                plan.notes.extend(note for note in scoring.notes if note not in plan.notes)
                result = result_of(session=session, grading=grading)
                if state.previous is None or state.previous.model_dump() != result.model_dump():
                    run_dir.write_result(result)
    reused = len(plan.items) - len(state.pending)
    return RunOutcome(
        run_dir=run_dir,
        result=result,
        generated=session.generated,
        reused=reused,
        cached=session.cached,
        cost_usd=session.cost_usd,
        not_sent=len(plan.items) - reused - session.generated - session.cached,
    )


def _closed(grader: Grader, grading: GradingInfo | None) -> GradingInfo | None:
    """Close the scorer; the grading info, with the answers it could not grade."""
    info = grader.info()
    grader.close()
    return info or grading


class Filler:
    """Appends each record at once (a kill loses nothing): scored inline, or saved unscored and
    submitted to the task's scorer, whose grades are appended as they return."""

    def __init__(
        self,
        plan: Plan,
        records: dict[RecordKey, SampleRecord],
        session: Session,
        progress: ProgressReporter,
        done: set[RecordKey],
        grader: Grader | None,
        scoring: ScoringResources,
    ) -> None:
        self.plan = plan
        self.records = records
        self.session = session
        self.progress = progress
        self.done = done
        self.grader = grader
        self.scoring = scoring
        self.appender: RecordAppender | None = None

    def fill(
        self,
        run_dir: RunDir,
        entry: ModelEntry,
        pending: Sequence[PlannedItem],
        ungraded: Sequence[RecordKey],
        options: RunOptions,
        client_factory: ClientFactory,
    ) -> None:
        """Grade what an earlier invocation left ungraded, answer `pending` from the request cache
        where it can and from the model otherwise (the model is not even loaded when the cache answers
        everything), then wait for the grades still outstanding."""
        with run_dir.appender() as appender:
            self.appender = appender
            self.regrade(ungraded)
            if pending:
                self.answer(entry, pending, options, client_factory)
            if self.grader is not None:
                self.finish_grading()

    def answer(
        self,
        entry: ModelEntry,
        pending: Sequence[PlannedItem],
        options: RunOptions,
        client_factory: ClientFactory,
    ) -> None:
        plan, session = self.plan, self.session
        self.progress.start(
            f"{plan.spec.task} · {plan.spec.entry}", len(plan.items), len(plan.items) - len(pending)
        )
        cache = options.open_cache()
        calls = ModelCalls(entry, cache, options.budget, client_factory)
        try:
            requests = [request_for(item, plan) for item in pending]
            for index, completion in calls.answer(requests, [item.epoch for item in pending]):
                self.add(pending[index], completion)
        finally:
            calls.close()
            stats = calls.stats
            session.model_load_s += stats.model_load_s
            session.model_s += stats.model_s
            session.generated += stats.generated
            session.cached += stats.cached
            session.cost_usd += stats.cost_usd
            session.backend_info = stats.backend_info or session.backend_info
            self.progress.finish()
            if cache is not None:
                cache.close()

    def store(self, record: SampleRecord) -> None:
        assert self.appender is not None
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
            record = score_inline(self.plan.task, record, self.scoring.context)
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
                self.store(score_inline(self.plan.task, self.records[key], self.scoring.context))

    def store_grades(self, grades: Iterable[tuple[RecordKey, Score]]) -> list[SampleRecord]:
        stored = []
        for key, score in grades:
            record = self.records[key].model_copy(update={"score": score})
            self.store(record)
            stored.append(record)
        return stored

    def finish_grading(self) -> None:
        """Wait for the grades still outstanding after generation, storing each as it arrives."""
        grader = self.grader
        assert grader is not None
        started = time.perf_counter()
        self.store_grades(grader.ready())
        if grader.outstanding:
            self.progress.start(
                f"grading {self.plan.spec.task} · {self.plan.spec.entry}", grader.outstanding, 0
            )
            try:
                for grade in grader.wait():
                    for record in self.store_grades([grade]):
                        self.progress.advance(record)
            finally:
                self.progress.finish()
        self.session.scoring_s += time.perf_counter() - started
