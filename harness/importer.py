"""Turn outputs generated elsewhere into ordinary runs, scored by our own scorers."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from harness.config import check_entry_id
from harness.errors import ConfigError
from harness.runner import (
    DEFAULT_MAX_ERROR_RATE,
    Plan,
    PlannedItem,
    ProgressReporter,
    RunOutcome,
    Session,
    build_result,
    item_notes,
    score_all,
    shared_prefixes,
)
from harness.store import RunDir
from harness.task import Task, fingerprint
from harness.types import Prompt, RunSpec, SampleRecord


def file_sha256(path: Path) -> str:
    """The hash of a file, or of every file in a folder (names and contents, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def import_run(
    task: Task,
    path: Path,
    entry: str,
    *,
    data_dir: Path | None,
    output_dir: Path,
    progress: ProgressReporter | None = None,
) -> RunOutcome:
    check_entry_id(entry)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder.")
    started = time.perf_counter()
    loaded = task.load(data_dir)
    by_id = {sample.id: sample for sample in loaded.samples}
    imported = task.import_completions(path, by_id)
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
    epochs = max((len(by_epoch[sample.id]) for sample in samples), default=1)
    prefixes = shared_prefixes(task, items)
    spec = RunSpec(
        task=task.name,
        task_version=task.version,
        entry=entry,
        model=imported.model,
        backend="import",
        generation=None,
        epochs=epochs,
        task_params=task.params(),
        data=loaded.ref.model_copy(update={"fingerprint": fingerprint(samples, prefixes)}),
        imported_from_sha256=imported.info.source_sha256,
    )
    notes = [*loaded.notes, *imported.notes, *item_notes(items)]
    plan = Plan(task, None, spec, items, prefixes, notes, time.perf_counter() - started)
    spec_hash = spec.spec_hash()
    run_dir = RunDir.for_spec(output_dir, task.name, entry, spec_hash)
    session = Session(started=time.perf_counter(), plan_s=plan.plan_s)
    scoring_started = time.perf_counter()
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
        scored, grading = score_all(task, unscored, progress)
        session.scoring_s = time.perf_counter() - scoring_started
        records = {record.key: record for record in scored}
        run_dir.rewrite_records(records.values())
        result = build_result(
            plan,
            spec_hash,
            records,
            None,
            session,
            {"backend": "import"},
            DEFAULT_MAX_ERROR_RATE,
            grading=grading,
        ).model_copy(update={"imported": imported.info})
        run_dir.write_result(result)
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=0)


def _with_metadata(prompt: Prompt, metadata: dict[str, Any]) -> Prompt:
    if not metadata:
        return prompt
    return prompt.model_copy(update={"metadata": {**prompt.metadata, **metadata}})
