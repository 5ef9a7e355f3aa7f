"""Produce what a board shows: import its published outputs, then run its entries on its tasks.

Both steps are idempotent. An import is skipped when a run of the same task version already holds the
same file (by sha256); our own runs resume and never regenerate a finished sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness.board import Board, run_mismatch
from harness.config import suggest
from harness.errors import ConfigError, DataError
from harness.importer import file_sha256, import_run
from harness.runner import ProgressReporter, RunOptions, execute, plan_run
from harness.store import readable_runs
from harness.task import get_task


def runnable_entries(board: Board) -> list[str]:
    """The entries that run here without keys or servers: the embedded llama.cpp models."""
    return [entry.id for entry in board.entries if entry.backend == "llamacpp"]


def _already_imported(board: Board, runs_root: Path, column: str, entry: str, sha256: str) -> str | None:
    """The hash of a run of this entry that holds this file and fits the column, if there is one."""
    task = board.task(column).task_name
    for _, result in readable_runs(runs_root, task, entry):
        if (
            result.imported
            and result.imported.source_sha256 == sha256
            and run_mismatch(board, column, result.spec.task_version, result.spec.task_params) is None
        ):
            return result.spec_hash
    return None


def import_published(board: Board, runs_root: Path, data_dir: Path | None) -> Iterator[str]:
    from tasks import REPORTED_IMPORTERS

    if board.spec.imports and data_dir is None:
        raise ConfigError(
            f"{board.path} lists published outputs to import; pass --data-dir with the folder they are "
            "relative to (or set HARNESS_DATA_DIR)."
        )
    for published in board.spec.imports:
        assert data_dir is not None
        path = data_dir / published.path
        if not path.exists():
            raise ConfigError(f"{board.path}: imports: {published.path} not found under {data_dir}.")
        column = board.task(published.task)
        existing = _already_imported(board, runs_root, published.task, published.entry, file_sha256(path))
        if existing is not None:
            yield f"already imported: {column.task_name}/{published.entry}/{existing} ({path.name})"
            continue
        yield f"importing {path.name} as {column.task_name}/{published.entry} …"
        if published.importer is not None:
            window = column.window
            (outcome,) = REPORTED_IMPORTERS[published.importer](
                path,
                output_dir=runs_root,
                entry=published.entry,
                model=published.model,
                start_date=window.start if window else None,
                end_date=window.end if window else None,
            )
        else:
            outcome = import_run(
                get_task(column.task_name), path, published.entry, data_dir=data_dir, output_dir=runs_root
            )
        headline = outcome.result.metrics.get(outcome.result.headline)
        score = f"{headline.value * 100:.1f}" if headline is not None else "-"
        yield (
            f"imported {column.task_name}/{published.entry}/{outcome.result.spec_hash}: "
            f"{outcome.result.counts.scored:,} samples, {outcome.result.headline} {score} ({path.name})"
        )


def run_entries(
    board: Board,
    runs_root: Path,
    *,
    data_dir: Path | None,
    entries: list[str],
    limit: int | None,
    epochs: int | None,
    max_tokens: int | None,
    progress: ProgressReporter | None = None,
) -> Iterator[str]:
    for name in entries:
        if name not in board.spec.entries:
            raise ConfigError(
                f"entry {name!r} is not on the board {board.path}.{suggest(name, board.spec.entries)}"
            )
        if board.models.entries[name].backend == "external":
            raise ConfigError(
                f"entry {name!r} is external (known only through published results); it cannot be run."
            )
    options = RunOptions(
        output_dir=runs_root,
        data_dir=data_dir,
        limit=limit,
        epochs=epochs,
        generation={"max_tokens": max_tokens},
    )
    for name in entries:
        entry = board.models.entries[name]
        for board_task in board.tasks:
            window = board_task.window
            task = get_task(
                board_task.task_name, {"start_date": window.start, "end_date": window.end} if window else None
            )
            try:
                plan = plan_run(task, entry, options)
            except DataError as exc:
                yield f"skipped {board_task.id} for {name}: {exc}"
                continue
            mismatch = run_mismatch(board, board_task.id, plan.spec.task_version, plan.spec.task_params)
            if mismatch is not None:
                yield f"skipped {board_task.id} for {name}: the registered task gives a run with {mismatch}"
                continue
            outcome = execute(plan, options, progress=progress)
            result = outcome.result
            headline = result.metrics.get(result.headline)
            score = f"{headline.value * 100:.1f}" if headline is not None else "-"
            yield (
                f"ran {task.name}/{name}/{result.spec_hash}: {result.status}, {result.counts.scored} scored "
                f"({outcome.generated} generated, {outcome.reused} reused), {result.headline} {score}"
            )


def populate_board(
    board: Board,
    runs_root: Path,
    *,
    data_dir: Path | None,
    entries: list[str] | None,
    limit: int | None,
    epochs: int | None,
    max_tokens: int | None,
    progress: ProgressReporter | None = None,
) -> Iterator[str]:
    yield from import_published(board, runs_root, data_dir)
    yield from run_entries(
        board,
        runs_root,
        data_dir=data_dir,
        entries=entries if entries else runnable_entries(board),
        limit=limit,
        epochs=epochs,
        max_tokens=max_tokens,
        progress=progress,
    )
