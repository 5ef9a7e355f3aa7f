"""Runs and reported figures -> pandas DataFrames for one board, with the provenance of every number.

`aggregate(board, runs_root)` gives:

- `cells`: one row per board entry x task. Its number comes from exactly one source: our own run
  (`run`), published per-sample outputs re-scored by our scorer (`imported`), or a figure reported
  elsewhere (`reported`). A cell is one run: runs are never merged, and a run whose task version,
  parameters, date window, judge or baseline differ from the board's column is not shown in it.
  When several runs qualify, the complete one with the most samples wins (then the newest).
  `samples` < `samples_expected` marks a cell that covers fewer samples than the board asks for.
- `leaderboard`: one row per entry, ranked by the board's headline (the overall score by default).
- `categories`: per-category scores of the runs shown.
- `skipped`: every run of the board's entries and tasks that is not shown, and why.

Costs: a run's recorded `cost_usd` when the backend reported one, else its token usage priced with
the entry's published price (`cost_basis` says which). Input tokens are taken to include cached ones;
reasoning tokens are part of the output tokens, as the OpenAI and Anthropic APIs count them.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from harness.board import OVERALL, Board, ReportedFigure, run_mismatch
from harness.config import ModelEntry
from harness.cost import usage_cost
from harness.errors import HarnessError
from harness.run_views import RunView, read_run_view
from harness.store import RecentResults, RunDir, iter_runs, run_files_key
from harness.types import Usage

CELL_COLUMNS = [
    "entry",
    "task",
    "task_name",
    "task_version",
    "metric",
    "source",
    "score",
    "ci_low",
    "ci_high",
    "n",
    "samples",
    "samples_expected",
    "coverage",
    "subset",
    "status",
    "normalised",
    "unparsed_rate",
    "error_rate",
    "errors",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_basis",
    "cost_per_sample_usd",
    "model",
    "backend",
    "run",
    "spec_hash",
    "finished_at",
    "provenance",
    "notes",
    "reported_value",
    "reported_source",
    "reported_url",
    "alternatives",
]


COUNT_COLUMNS = [
    "n",
    "errors",
    "samples",
    "samples_expected",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "alternatives",
]


@dataclass
class BoardData:
    board: Board
    runs_root: Path
    cells: pd.DataFrame
    leaderboard: pd.DataFrame
    categories: pd.DataFrame
    skipped: pd.DataFrame
    chosen: dict[tuple[str, str], RunDir] = field(default_factory=dict)
    results: dict[tuple[str, str], RunView] = field(default_factory=dict)

    def copy(self, board: Board, runs_root: Path) -> BoardData:
        """The same figures in frames and mappings of their own, which the caller may change."""
        return BoardData(
            board=board,
            runs_root=runs_root,
            cells=self.cells.copy(),
            leaderboard=self.leaderboard.copy(),
            categories=self.categories.copy(),
            skipped=self.skipped.copy(),
            chosen=dict(self.chosen),
            results=dict(self.results),
        )

    def cell(self, entry: str, task: str) -> dict[str, Any]:
        row = self.cells[(self.cells["entry"] == entry) & (self.cells["task"] == task)]
        return dict(row.iloc[0])


@dataclass
class _Candidate:
    run_dir: RunDir
    result: RunView


# The boards aggregated last, by their content (spec and model entries) and their runs' files: a
# notebook that aggregates again, or a site build after it, decides nothing again while no run changed.
_recent: RecentResults[BoardData] = RecentResults(4)


def aggregate(board: Board, runs_root: Path) -> BoardData:
    entries, task_names = set(board.spec.entries), {t.task_name for t in board.tasks}
    run_dirs = [d for d in iter_runs(runs_root) if d.task in task_names and d.entry in entries]
    key = (
        runs_root.as_posix(),
        board.spec.model_dump_json(),
        board.models.model_dump_json(),
        run_files_key(run_dirs),
    )
    return _recent.get(key, lambda: _aggregate(board, runs_root, run_dirs)).copy(board, runs_root)


def _aggregate(board: Board, runs_root: Path, run_dirs: list[RunDir]) -> BoardData:
    candidates, skipped = _read_candidates(runs_root, run_dirs)
    rows: list[dict[str, Any]] = []
    category_rows: list[dict[str, Any]] = []
    chosen: dict[tuple[str, str], RunDir] = {}
    results: dict[tuple[str, str], RunView] = {}
    reported = {(f.entry, f.task): f for f in board.spec.reported}
    for entry in board.entries:
        for board_task in board.tasks:
            column = board_task.id
            eligible: list[_Candidate] = []
            for candidate in candidates.get((entry.id, board_task.task_name), []):
                reason = _exclusion(board, column, candidate.result)
                if reason is None:
                    eligible.append(candidate)
                else:
                    skipped.append(_skip(runs_root, candidate.run_dir, entry.id, column, reason))
            eligible.sort(key=_preference, reverse=True)
            figure = reported.get((entry.id, column))
            if eligible:
                best = eligible[0]
                for other in eligible[1:]:
                    skipped.append(
                        _skip(
                            runs_root,
                            other.run_dir,
                            entry.id,
                            column,
                            f"another run qualifies and is shown instead ({best.result.spec_hash}: "
                            "complete, more samples or newer)",
                        )
                    )
                chosen[(entry.id, column)] = best.run_dir
                results[(entry.id, column)] = best.result
                row = _run_cell(board, runs_root, entry, column, best, len(eligible) - 1)
                category_rows += _category_rows(board, entry.id, column, best.result)
            elif figure is not None:
                row = _reported_cell(board, entry, column, figure)
            else:
                row = _empty_cell(board, entry, column)
            if figure is not None:
                row.update(
                    reported_value=figure.value, reported_source=figure.source, reported_url=figure.url
                )
            rows.append(row)
    cells = _frame(rows, CELL_COLUMNS, integers=COUNT_COLUMNS)
    categories = _frame(category_rows, ["entry", "task", "category", "score", "ci_low", "ci_high", "n"])
    skipped_df = _frame(skipped, ["entry", "task", "run", "reason"])
    return BoardData(
        board=board,
        runs_root=runs_root,
        cells=cells,
        leaderboard=_leaderboard(board, rows),
        categories=categories,
        skipped=skipped_df,
        chosen=chosen,
        results=results,
    )


def _frame(rows: list[dict[str, Any]], columns: list[str], integers: Collection[str] = ()) -> pd.DataFrame:
    """`pd.DataFrame(rows, columns=columns)` with the `integers` columns as nullable Int64, built column
    by column: several times faster than from the row dicts for the cells of a large board."""
    if not rows:
        return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(integers, "Int64"))
    return pd.DataFrame(
        {
            column: pd.array([row[column] for row in rows], dtype="Int64")
            if column in integers
            else [row[column] for row in rows]
            for column in columns
        }
    )


def _read_candidates(
    runs_root: Path, run_dirs: list[RunDir]
) -> tuple[dict[tuple[str, str], list[_Candidate]], list[dict[str, Any]]]:
    candidates: dict[tuple[str, str], list[_Candidate]] = {}
    skipped: list[dict[str, Any]] = []
    for run_dir in run_dirs:
        task_name, entry = run_dir.task, run_dir.entry
        try:
            result = read_run_view(run_dir)
        except HarnessError as exc:
            skipped.append(_skip(runs_root, run_dir, entry, task_name, f"unreadable: {exc}"))
            continue
        key = (result.spec.entry, result.spec.task)
        candidates.setdefault(key, []).append(_Candidate(run_dir, result))
    return candidates, skipped


def _exclusion(board: Board, column: str, result: RunView) -> str | None:
    mismatch = run_mismatch(board, column, result.spec.task_version, result.spec.task_params)
    if mismatch is not None:
        return mismatch
    if result.status == "failed":
        rate = result.metrics.get("error_rate")
        detail = f" ({rate.value:.1%} of samples errored)" if rate is not None else ""
        return f"the run failed{detail}; fix the errors and resume it"
    if board.metric(column) not in result.metrics:
        return f"the run has no {board.metric(column)!r} metric"
    return None


def _preference(candidate: _Candidate) -> tuple[bool, int, str]:
    result = candidate.result
    metric = result.metrics.get(result.headline)
    return (
        result.status == "complete",
        metric.n if metric is not None else 0,
        result.timings.finished_at or "",
    )


def _skip(runs_root: Path, run_dir: RunDir, entry: str, task: str, reason: str) -> dict[str, Any]:
    return {"entry": entry, "task": task, "run": _relative(runs_root, run_dir), "reason": reason}


def _relative(runs_root: Path, run_dir: RunDir) -> str:
    # On strings: pathlib's relative_to for every run of a large store shows in a notebook's reads.
    path, root = run_dir.path.as_posix(), runs_root.as_posix().rstrip("/") + "/"
    return path[len(root) :] if path.startswith(root) else path


def _base_cell(board: Board, entry: ModelEntry, column: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(CELL_COLUMNS)
    row.update(
        entry=entry.id,
        task=column,
        task_name=board.task(column).task_name,
        task_version=board.version(column),
        metric=board.metric(column),
        samples_expected=board.task(column).samples,
        subset=False,
        alternatives=0,
        notes="",
    )
    return row


def _empty_cell(board: Board, entry: ModelEntry, column: str) -> dict[str, Any]:
    return _base_cell(board, entry, column)


def _normalised(board: Board, column: str, score: float | None) -> float | None:
    if score is None or math.isnan(score):
        return None
    chance = board.task(column).chance
    return (score - chance) / (1.0 - chance)


def _reported_cell(board: Board, entry: ModelEntry, column: str, figure: ReportedFigure) -> dict[str, Any]:
    row = _base_cell(board, entry, column)
    provenance = figure.source + (f" ({figure.url})" if figure.url else "")
    if figure.published:
        provenance += f", published {figure.published}"
    notes = [text for text in (figure.protocol, figure.note) if text]
    row.update(
        source="reported",
        score=figure.value,
        ci_low=figure.ci_low,
        ci_high=figure.ci_high,
        n=figure.n,
        samples=figure.n,
        normalised=_normalised(board, column, figure.value),
        provenance=provenance,
        notes=_join(notes),
        task_version=None,
    )
    return row


def _run_cell(
    board: Board, runs_root: Path, entry: ModelEntry, column: str, candidate: _Candidate, alternatives: int
) -> dict[str, Any]:
    result = candidate.result
    spec = result.spec
    metric = result.metrics[board.metric(column)]
    row = _base_cell(board, entry, column)
    source = "run" if result.provenance == "run" else "imported"
    epochs = max(spec.epochs, 1)
    samples = math.ceil(metric.n / epochs)
    planned = result.counts.planned // epochs
    expected = board.task(column).samples or planned
    coverage = samples / expected if expected else None
    notes: list[str] = []
    subset = samples < expected
    if subset:
        notes.append(f"covers {samples:,} of the {expected:,} samples the board asks for")
    if result.status == "partial":
        notes.append(f"partial run: {result.counts.scored:,} of {result.counts.planned:,} scored")
    notes += result.notes[:3]
    usage = result.usage
    usage_known = source == "run" or any(msgspec.structs.astuple(usage))
    cost, basis = result.cost_usd, "recorded" if result.cost_usd is not None else None
    if cost is None and usage_known and entry.price is not None:
        cost, basis = usage_cost(Usage(**msgspec.structs.asdict(usage)), entry.price), "price"
    row.update(
        source=source,
        task_version=spec.task_version,
        score=metric.value,
        ci_low=metric.ci_low,
        ci_high=metric.ci_high,
        n=metric.n,
        samples=samples,
        samples_expected=expected,
        coverage=coverage,
        subset=subset,
        status=result.status,
        normalised=_normalised(board, column, metric.value),
        unparsed_rate=_value(result, "unparsed_rate"),
        error_rate=_value(result, "error_rate"),
        # Samples that could not be answered; unless the task says otherwise they count as wrong.
        errors=result.counts.errors if result.provenance != "reported" else None,
        input_tokens=usage.input_tokens if usage_known else None,
        output_tokens=usage.output_tokens if usage_known else None,
        reasoning_tokens=usage.reasoning_tokens if usage_known else None,
        cost_usd=cost,
        cost_basis=basis,
        cost_per_sample_usd=(cost / samples) if cost is not None and samples else None,
        model=spec.model,
        backend=spec.backend,
        run=_relative(runs_root, candidate.run_dir),
        spec_hash=result.spec_hash,
        finished_at=result.timings.finished_at,
        provenance=_run_provenance(result),
        notes=_join(notes),
        alternatives=alternatives,
    )
    return row


def _join(notes: list[str]) -> str:
    return "; ".join(note.rstrip(". ") for note in notes)


def _value(result: RunView, name: str) -> float | None:
    metric = result.metrics.get(name)
    return metric.value if metric is not None else None


def _run_provenance(result: RunView) -> str:
    spec = result.spec
    if result.imported is not None and result.provenance == "reported":
        info = result.imported
        window = [spec.task_params.get("start_date"), spec.task_params.get("end_date")]
        scope = f" between {window[0] or '…'} and {window[1] or '…'}" if any(window) else ""
        return (
            f"per-sample results as reported in {Path(info.source_file).name} (sha256 "
            f"{info.source_sha256[:12]}): {info.records_imported:,} problems{scope}, averaged here, not "
            "re-graded"
        )
    if result.imported is not None:
        info = result.imported
        return (
            f"published outputs {Path(info.source_file).name} (sha256 {info.source_sha256[:12]}), "
            f"{info.records_imported:,} of {info.records_read:,} entries, re-scored by our "
            f"{spec.task} v{spec.task_version} scorer"
        )
    when = result.timings.finished_at or "unfinished"
    return (
        f"our run {result.spec_hash}: {spec.model} via {spec.backend}, {when}, "
        f"harness {result.harness_version or '?'}"
    )


def _category_rows(board: Board, entry: str, column: str, result: RunView) -> list[dict[str, Any]]:
    metric_name = board.metric(column)
    rows = []
    for category, metrics in result.categories.items():
        metric = metrics.get(metric_name)
        if metric is not None:
            rows.append(
                {
                    "entry": entry,
                    "task": column,
                    "category": category,
                    "score": metric.value,
                    "ci_low": metric.ci_low,
                    "ci_high": metric.ci_high,
                    "n": metric.n,
                }
            )
    return rows


def _leaderboard(board: Board, cell_rows: list[dict[str, Any]]) -> pd.DataFrame:
    overall_sources = set(board.spec.overall.sources)
    by_cell = {(c["entry"], c["task"]): c for c in cell_rows}
    rows = []
    for order, entry in enumerate(board.entries):
        row: dict[str, Any] = {
            "entry": entry.id,
            "display_name": entry.display_name,
            "organisation": entry.organisation,
            "backend": entry.backend,
            "open_weights": entry.open_weights,
            "input_per_mtok": entry.price.input_per_mtok if entry.price else None,
            "output_per_mtok": entry.price.output_per_mtok if entry.price else None,
            "price_as_of": entry.price.as_of.isoformat() if entry.price else None,
            "order": order,
        }
        normalised = [
            float(cell["normalised"])
            for cell in (by_cell[(entry.id, column)] for column in board.overall_tasks)
            if cell["source"] in overall_sources and cell["normalised"] is not None
        ]
        enough = len(normalised) >= board.overall_min_tasks
        row["overall"] = sum(normalised) / len(normalised) if enough and normalised else None
        row["overall_tasks"] = len(normalised)
        costs = [
            float(by_cell[(entry.id, t.id)]["cost_usd"])
            for t in board.tasks
            if by_cell[(entry.id, t.id)]["cost_usd"] is not None
        ]
        row["cost_usd"] = sum(costs) if costs else None
        for board_task in board.tasks:
            cell = by_cell[(entry.id, board_task.id)]
            row[board_task.id] = cell["score"]
            row[f"{board_task.id}_ci_low"] = cell["ci_low"]
            row[f"{board_task.id}_ci_high"] = cell["ci_high"]
            row[f"{board_task.id}_source"] = cell["source"]
        rows.append(row)
    headline = OVERALL if board.spec.headline == OVERALL else board.spec.headline

    def missing(row: dict[str, Any]) -> bool:
        value = row[headline]
        return value is None or (isinstance(value, float) and math.isnan(value))

    # Ranked by the headline, highest first, entries without one last, ties in the board's order.
    rows.sort(
        key=lambda row: (True, 0.0, row["order"]) if missing(row) else (False, -row[headline], row["order"])
    )
    ranks: list[int | None] = [None] * len(rows)
    for position, row in enumerate(rows):
        if not missing(row):
            ranks[position] = position + 1
    columns = [c for c in rows[0] if c != "order"] if rows else []
    table = _frame(rows, columns)
    table.insert(0, "rank", pd.Series(ranks, dtype=object))
    return table
