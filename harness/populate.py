"""Produce what a board shows: import its published outputs, then run its entries on its tasks.

Both steps are idempotent. An import is skipped when a run of the same task version already holds the
same file (by sha256); our own runs resume and never regenerate a finished sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness.backends.base import api_key
from harness.board import Board, run_mismatch
from harness.config import suggest
from harness.distillation import SIMILARITY_TASK, compute_map
from harness.errors import ConfigError, DataError
from harness.importers import REPORTED_IMPORTERS, import_run
from harness.jobs import plan_job, run_plan
from harness.runner import ClientPool, ProgressReporter, RunOptions
from harness.store import file_sha256, readable_runs


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
            (outcome,) = REPORTED_IMPORTERS[published.importer](
                path,
                runs_root=runs_root,
                entry=published.entry,
                model=published.model,
                options=column.window.params() if column.window else None,
            )
        else:
            options = RunOptions(runs_root=runs_root, data_dir=data_dir, models=board.models)
            outcome = import_run(board.task_objects[column.id], path, published.entry, options)
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
        runs_root=runs_root,
        data_dir=data_dir,
        limit=limit,
        epochs=epochs,
        generation={"max_tokens": max_tokens},
        models=board.models,
    )
    with ClientPool() as clients:
        for name in entries:
            for board_task in board.tasks:
                yield from _run_column(board, board_task.id, name, options, clients, progress)


def _run_column(
    board: Board,
    column: str,
    name: str,
    options: RunOptions,
    clients: ClientPool,
    progress: ProgressReporter | None,
) -> Iterator[str]:
    """Run one entry on one column, with the column's own task options."""
    task = board.task_objects[column]
    unavailable = _judge_unavailable(board, task.judge)
    if unavailable is not None:
        yield f"skipped {column} for {name}: {unavailable}"
        return
    try:
        plan = plan_job(task, board.models.entries[name], options)
    except (ConfigError, DataError) as exc:  # e.g. a prompt style this entry cannot be sent
        yield f"skipped {column} for {name}: {exc}"
        return
    mismatch = run_mismatch(board, column, plan.spec.task_version, plan.spec.task_params)
    if mismatch is not None:
        yield f"skipped {column} for {name}: the registered task gives a run with {mismatch}"
        return
    outcome = run_plan(plan, options, progress=progress, client_factory=clients)
    result = outcome.result
    headline = result.metrics.get(result.headline)
    score = f"{headline.value * 100:.1f}" if headline is not None else "-"
    yield (
        f"ran {task.name}/{name}/{result.spec_hash}: {result.status}, {result.counts.scored} scored "
        f"({outcome.generated} generated, {outcome.reused} reused), {result.headline} {score}"
    )


def _judge_unavailable(board: Board, judge: str | None) -> str | None:
    """Why the column's judge cannot be called from here (no key, known only by its results), if so."""
    entry = board.models.entries.get(judge) if judge is not None else None
    if entry is None:
        return None
    if entry.backend == "external":
        return f"its judge {entry.id} is known only through published results"
    try:
        api_key(entry)
    except ConfigError:
        return f"its judge {entry.id} needs ${entry.api_key_env} (set it to have {entry.id} judge here)"
    return None


def similarity_map_step(board: Board, runs_root: Path, data_dir: Path | None) -> Iterator[str]:
    """A board with a response_similarity column shows the map of the published answer sets."""
    if data_dir is None or not any(t.task_name == SIMILARITY_TASK for t in board.tasks):
        return
    lines: list[str] = []
    try:
        computed = compute_map(data_dir, runs_root, progress=lines.append)
    except DataError as exc:
        yield f"skipped the similarity map: {exc}"
        return
    yield from lines
    yield (
        f"similarity map: {len(computed.models)} published answer sets x {computed.questions} questions "
        f"({'n-gram and embedding' if computed.embedding is not None else 'n-gram only'})"
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
    yield from similarity_map_step(board, runs_root, data_dir)
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
