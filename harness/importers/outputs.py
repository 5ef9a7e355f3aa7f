"""Turn outputs generated elsewhere into ordinary runs, scored by our own scorers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.backends import make_client
from harness.config import check_entry_id
from harness.errors import ConfigError
from harness.runner import RunOptions, RunOutcome
from harness.runner.calls import ClientFactory
from harness.runner.plan import PlannedItem, RunSource, make_plan
from harness.runner.progress import ProgressReporter
from harness.runner.rescore import score_all
from harness.runner.results import Session, build_result, mark_started, write_run
from harness.runner.scoring import scoring_context
from harness.store import RunDir, file_sha256
from harness.task import Task
from harness.types import BackendInfo, Prompt, SampleRecord


def import_run(
    task: Task,
    path: Path,
    entry: str,
    options: RunOptions,
    *,
    progress: ProgressReporter | None = None,
    client_factory: ClientFactory = make_client,
) -> RunOutcome:
    """Score the published outputs at `path` as a run of `entry` (an external entry's id)."""
    check_entry_id(entry)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder.")
    started = time.perf_counter()
    loaded = task.load(options.data_dir)
    imported = task.import_completions(path, loaded)
    imported.info.source_sha256 = file_sha256(path)
    by_epoch = imported.by_epoch()
    samples = [sample for sample in loaded.samples if sample.id in by_epoch]
    items = [
        PlannedItem(
            sample, epoch, _with_metadata(task.build_prompt(sample, epoch, 0), imported.prompt_metadata)
        )
        for sample in samples
        for epoch in range(len(by_epoch[sample.id]))
    ]
    source = RunSource(
        provenance="imported",
        entry=entry,
        model=imported.model,
        backend="import",
        imported=imported.info,
        backend_info=BackendInfo(backend="import"),
    )
    plan = make_plan(
        task,
        source,
        loaded,
        items,
        epochs=max((len(by_epoch[sample.id]) for sample in samples), default=1),
        notes=imported.notes,
        started=started,
        data_dir=options.data_dir,
    )
    run_dir = RunDir.for_spec(options.runs_root, task.name, entry, plan.spec.spec_hash())
    session = Session(plan_s=plan.plan_s)
    unscored = [
        SampleRecord(
            sample_id=item.sample.id,
            epoch=item.epoch,
            category=item.sample.category,
            prompt=item.prompt,
            completion=by_epoch[item.sample.id][item.epoch],
        )
        for item in items
    ]
    with run_dir.lock():
        mark_started(run_dir, plan)
        scoring_started = time.perf_counter()
        with scoring_context(task, loaded, options, client_factory, run_dir.path) as scoring:
            scored, grading = score_all(task, unscored, scoring.context, progress)
            plan.notes.extend(scoring.notes)
        session.scoring_s = time.perf_counter() - scoring_started
        records = {record.key: record for record in scored}
        result = build_result(
            plan, records, max_error_rate=options.max_error_rate, session=session, grading=grading
        )
        write_run(run_dir, result, list(records.values()))
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=0)


def _with_metadata(prompt: Prompt, metadata: dict[str, Any]) -> Prompt:
    if not metadata:
        return prompt
    return prompt.model_copy(update={"metadata": {**prompt.metadata, **metadata}})
