"""Turn outputs generated elsewhere into ordinary runs, scored by our own scorers."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from harness.config import ENTRY_ID_PATTERN
from harness.errors import ConfigError
from harness.runner import (
    DEFAULT_MAX_ERROR_RATE,
    Plan,
    PlannedItem,
    RunOutcome,
    Session,
    build_result,
    score_record,
)
from harness.store import RunDir
from harness.task import Task, fingerprint
from harness.types import RunSpec, SampleRecord


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


def import_run(task: Task, path: Path, entry: str, *, data_dir: Path | None, output_dir: Path) -> RunOutcome:
    if not ENTRY_ID_PATTERN.match(entry):
        raise ConfigError(
            f"--entry {entry!r}: use lower-case letters, digits, '.', '_' or '-' (it names a directory)."
        )
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder.")
    started = time.perf_counter()
    loaded = task.load(data_dir)
    by_id = {sample.id: sample for sample in loaded.samples}
    imported = task.import_completions(path, by_id)
    imported.info.source_sha256 = file_sha256(path)
    samples = [sample for sample in loaded.samples if sample.id in imported.completions]
    items = [PlannedItem(sample, 0, task.build_prompt(sample, 0, 0)) for sample in samples]
    all_prefixes = task.prompt_prefixes()
    prefixes = {
        k: all_prefixes[k] for k in sorted({i.prompt.prefix_key for i in items if i.prompt.prefix_key})
    }
    spec = RunSpec(
        task=task.name,
        task_version=task.version,
        entry=entry,
        model=imported.model,
        backend="import",
        generation=None,
        task_params=task.params(),
        data=loaded.ref.model_copy(update={"fingerprint": fingerprint(samples, prefixes)}),
        imported_from_sha256=imported.info.source_sha256,
    )
    item_notes = sorted({str(i.prompt.metadata["note"]) for i in items if "note" in i.prompt.metadata})
    notes = [*loaded.notes, *imported.notes, *item_notes]
    plan = Plan(task, None, spec, items, prefixes, notes, time.perf_counter() - started)
    spec_hash = spec.spec_hash()
    run_dir = RunDir.for_spec(output_dir, task.name, entry, spec_hash)
    session = Session(started=time.perf_counter(), plan_s=plan.plan_s)
    scoring_started = time.perf_counter()
    records = {
        item.key: score_record(
            task,
            SampleRecord(
                sample_id=item.sample.id,
                category=item.sample.category,
                prompt=item.prompt,
                completion=imported.completions[item.sample.id],
            ),
        )
        for item in items
    }
    session.scoring_s = time.perf_counter() - scoring_started
    with run_dir.lock():
        run_dir.rewrite_records(records.values())
        result = build_result(
            plan, spec_hash, records, None, session, {"backend": "import"}, DEFAULT_MAX_ERROR_RATE
        ).model_copy(update={"imported": imported.info})
        run_dir.write_result(result)
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=0)
