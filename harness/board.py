"""Leaderboard files (`leaderboards/<board>.yaml`): which entries, which tasks, how the overall aggregates.

A board names its entries (ids from models.yaml) and its columns. A column is a registered task in one
variant: a task version, task options (`params`, validated by the task's options model when the board
loads and compared with a run's `task_params`; for judged tasks they name the judge and the baseline,
entries of the models file), and an optional date window (the task's `start_date` / `end_date`
options, as LiveCodeBench's windows are). A run that differs in any of these is never shown in that
column; `harness board populate` runs each column with exactly these options.

The overall score is the mean over the board's tasks of chance-normalised scores,
`(score - chance) / (1 - chance)`, so 0 is guessing and 1 is perfect whatever the number of options.

Boards may also carry figures reported elsewhere (papers, model cards, launch posts), each with its
source; they fill cells that no run of ours covers and are shown beside our own numbers otherwise.
`imports` lists published per-sample outputs that `harness board populate` imports and re-scores.

Every unknown key, entry or task is an error that names the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.config import (
    ModelEntry,
    ModelsFile,
    default_models_path,
    load_models,
    load_yaml,
    suggest,
    validate_data,
)
from harness.errors import ConfigError
from harness.importers import REPORTED_IMPORTERS
from harness.runner.shard import SHARD_PARAM
from harness.task import OptionsError, Task
from harness.types import HttpUrl, check_date_window
from tasks import get_task, is_task, task_names

COLUMN_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
# Task options that name an entry of the models file; a run may record the entry's id or its model.
ENTRY_OPTIONS = ("judge", "baseline")
OVERALL = "overall"
Source = Literal["run", "imported", "reported"]
SOURCES: tuple[Source, ...] = ("run", "imported", "reported")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DateWindow(_Strict):
    """Problems released in [start, end], inclusive; either bound may be open."""

    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DateWindow:
        check_date_window(self.start, self.end, what="window")
        return self

    def params(self) -> dict[str, date | None]:
        """The window as the task options that select it."""
        return {"start_date": self.start, "end_date": self.end}

    def label(self) -> str:
        return f"{self.start or '…'} – {self.end or '…'}"


class BoardTask(_Strict):
    """One column of the board: a registered task in one variant."""

    id: str = Field(pattern=COLUMN_ID_PATTERN)
    task: str | None = None
    title: str | None = None
    description: str | None = None
    metric: str | None = None
    version: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    window: DateWindow | None = None
    samples: int | None = Field(default=None, gt=0)
    chance: float = Field(default=0.0, ge=0.0, lt=1.0)
    publish_samples: bool | None = None

    @property
    def task_name(self) -> str:
        return self.task or self.id

    @property
    def options(self) -> dict[str, Any]:
        """The task options this column runs with: its params and its window."""
        return {**self.params, **(self.window.params() if self.window else {})}


class Overall(_Strict):
    method: Literal["mean_chance_normalised"] = "mean_chance_normalised"
    tasks: list[str] | None = None
    min_tasks: int | None = Field(default=None, ge=1)
    sources: list[Source] = Field(default_factory=lambda: list(SOURCES))


class ReportedFigure(_Strict):
    """A score published elsewhere, as a fraction (0.759, not 75.9), with where it comes from."""

    entry: str
    task: str
    value: float = Field(ge=0.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=0.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=0.0, le=1.0)
    n: int | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)
    url: HttpUrl | None = None
    published: date | None = None
    protocol: str | None = None
    note: str | None = None


class PublishedOutputs(_Strict):
    """Per-sample outputs generated elsewhere; `path` is relative to the data directory.

    `importer` names a source of reported per-sample results (e.g. `livecodebench_leaderboard`) instead
    of completions to score; `model` then picks one model of that file, and the column's date window,
    if any, is applied when importing.
    """

    task: str
    entry: str
    path: str = Field(min_length=1)
    importer: str | None = None
    model: str | None = None


class BoardFile(_Strict):
    title: str
    description: str | None = None
    models: str | None = None
    entries: list[str] = Field(min_length=1)
    tasks: list[BoardTask] = Field(min_length=1)
    headline: str = OVERALL
    overall: Overall = Field(default_factory=Overall)
    reported: list[ReportedFigure] = Field(default_factory=list)
    imports: list[PublishedOutputs] = Field(default_factory=list)


@dataclass
class Board:
    """A validated board with its model entries and task objects resolved."""

    path: Path
    name: str
    spec: BoardFile
    models: ModelsFile
    models_path: Path
    task_objects: dict[str, Task]
    # Looked up for every cell and run of the board; the columns are fixed once the board is loaded.
    _columns: dict[str, BoardTask] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._columns = {t.id: t for t in self.spec.tasks}

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def entries(self) -> list[ModelEntry]:
        return [self.models.entries[name] for name in self.spec.entries]

    @property
    def tasks(self) -> list[BoardTask]:
        return self.spec.tasks

    def task(self, column: str) -> BoardTask:
        return self._columns[column]

    def version(self, column: str) -> str:
        """The task version this column shows: the board's pin, else the registered task's."""
        board_task = self.task(column)
        return board_task.version or self.task_objects[column].version

    def metric(self, column: str) -> str:
        return self.task(column).metric or self.task_objects[column].headline

    def publishes_samples(self, column: str) -> bool:
        board_task = self.task(column)
        if board_task.publish_samples is not None:
            return board_task.publish_samples
        return self.task_objects[column].publish_samples

    def title_of(self, column: str) -> str:
        return self.task(column).title or column

    @property
    def overall_tasks(self) -> list[str]:
        return self.spec.overall.tasks or [t.id for t in self.spec.tasks]

    @property
    def overall_min_tasks(self) -> int:
        return self.spec.overall.min_tasks or len(self.overall_tasks)

    def overall_description(self) -> str:
        parts = ", ".join(f"{self.title_of(c)} (chance {self.task(c).chance:g})" for c in self.overall_tasks)
        sources = ", ".join(self.spec.overall.sources)
        return (
            f"Overall = mean of chance-normalised scores, (score − chance) / (1 − chance), over {parts}; "
            f"an entry needs {self.overall_min_tasks} of {len(self.overall_tasks)} tasks; "
            f"cells from: {sources}."
        )


def board_name(path: Path) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower())


def load_board(path: Path, models_path: Path | None = None) -> Board:
    """Read and validate a board file and the models file it draws its entries from."""
    data, lines = load_yaml(path)
    spec = validate_data(path, data, lines, BoardFile)
    if models_path is None:
        models_path = _models_path(path, spec)
    models = load_models(models_path)
    problems: list[str] = []

    def problem(loc: tuple[str | int, ...], message: str) -> None:
        line = lines.line_for(loc)
        problems.append(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")

    known_entries = list(models.entries)
    for index, name in enumerate(spec.entries):
        if name not in models.entries:
            problem(
                ("entries", index),
                f"unknown entry {name!r} (not in {models_path}).{suggest(name, known_entries)}",
            )
        elif spec.entries.index(name) != index:
            problem(("entries", index), f"entry {name!r} is listed twice.")
    task_objects = _check_tasks(spec, models, problem)
    columns = [t.id for t in spec.tasks]
    if spec.headline != OVERALL and spec.headline not in columns:
        problem(
            ("headline",),
            f"headline {spec.headline!r} is neither 'overall' nor a task id."
            + suggest(spec.headline, [OVERALL, *columns]),
        )
    for index, column in enumerate(spec.overall.tasks or []):
        if column not in columns:
            problem(("overall", "tasks", index), f"unknown task {column!r}.{suggest(column, columns)}")
    overall_count = len(spec.overall.tasks or columns)
    if spec.overall.min_tasks is not None and spec.overall.min_tasks > overall_count:
        problem(
            ("overall", "min_tasks"),
            f"min_tasks {spec.overall.min_tasks} exceeds the {overall_count} overall tasks.",
        )
    seen_reported: set[tuple[str, str]] = set()
    for index, figure in enumerate(spec.reported):
        _check_cell_ref(spec, ("reported", index), figure.entry, figure.task, problem)
        if (figure.entry, figure.task) in seen_reported:
            problem(
                ("reported", index),
                f"a second reported figure for {figure.entry} on {figure.task}; keep one.",
            )
        seen_reported.add((figure.entry, figure.task))
        if (
            figure.ci_low is not None
            and figure.ci_high is not None
            and not figure.ci_low <= figure.value <= figure.ci_high
        ):
            problem(
                ("reported", index),
                f"value {figure.value} lies outside its CI [{figure.ci_low}, {figure.ci_high}].",
            )
    for index, published in enumerate(spec.imports):
        _check_cell_ref(spec, ("imports", index), published.entry, published.task, problem)
        if published.importer is not None and published.importer not in REPORTED_IMPORTERS:
            problem(
                ("imports", index, "importer"),
                f"unknown importer {published.importer!r}."
                + suggest(published.importer, list(REPORTED_IMPORTERS)),
            )
        if published.model is not None and published.importer is None:
            problem(("imports", index, "model"), "`model` picks a model of reported results: set `importer`.")
    if problems:
        raise ConfigError("invalid board:\n  " + "\n  ".join(problems))
    return Board(
        path=path,
        name=board_name(path),
        spec=spec,
        models=models,
        models_path=models_path,
        task_objects=task_objects,
    )


def _models_path(path: Path, spec: BoardFile) -> Path:
    if spec.models is not None:
        return (path.parent / spec.models).resolve()
    sibling = path.parent / "models.yaml"
    return sibling if sibling.is_file() else default_models_path()


def _check_tasks(spec: BoardFile, models: ModelsFile, problem: Any) -> dict[str, Task]:
    registered = task_names()
    task_objects: dict[str, Task] = {}
    for index, board_task in enumerate(spec.tasks):
        loc: tuple[str | int, ...] = ("tasks", index)
        if any(t.id == board_task.id for t in spec.tasks[:index]):
            problem((*loc, "id"), f"task id {board_task.id!r} is used twice; give each variant its own id.")
        name = board_task.task_name
        if not is_task(name):
            key = "task" if board_task.task else "id"
            problem((*loc, key), f"unknown task {name!r}.{suggest(name, registered)}")
            continue
        try:
            task_objects[board_task.id] = get_task(name, board_task.options)
        except OptionsError as exc:
            for option, message in exc.problems:
                where: tuple[str | int, ...] = loc
                if option is not None and option in board_task.params:
                    where = (*loc, "params", option)
                elif option in ("start_date", "end_date"):
                    where = (*loc, "window")
                problem(where, f"task option {option!r}: {message}")
            continue
        for role in ENTRY_OPTIONS:
            value = board_task.params.get(role)
            if value is not None and value not in models.entries:
                problem(
                    (*loc, "params", role),
                    f"unknown {role} entry {value!r}.{suggest(str(value), list(models.entries))}",
                )
    return task_objects


def _check_cell_ref(
    spec: BoardFile, loc: tuple[str | int, ...], entry: str, column: str, problem: Any
) -> None:
    if entry not in spec.entries:
        problem(
            (*loc, "entry"),
            f"entry {entry!r} is not one of this board's entries.{suggest(entry, spec.entries)}",
        )
    columns = [t.id for t in spec.tasks]
    if column not in columns:
        problem(
            (*loc, "task"), f"task {column!r} is not one of this board's tasks.{suggest(column, columns)}"
        )


def run_mismatch(board: Board, column: str, task_version: str, task_params: dict[str, Any]) -> str | None:
    """Why a run of this column's task cannot be shown in the column, or None when it can."""
    board_task = board.task(column)
    version = board.version(column)
    if task_version != version:
        return f"task version {task_version}; the board shows version {version}"
    if SHARD_PARAM in task_params:
        return f"shard {task_params[SHARD_PARAM]} of a run; `harness merge` its shards into the whole run"
    # Compared as the options model normalises them (a run stores them that way).
    column_params = board.task_objects[column].params()
    for key in sorted(board_task.params):
        if key in ENTRY_OPTIONS or key not in column_params:
            continue
        wanted = column_params[key]
        if task_params.get(key) != wanted:
            return f"task parameter {key}={task_params.get(key)!r}; the board asks for {wanted!r}"
    window = board_task.window
    run_window = (task_params.get("start_date"), task_params.get("end_date"))
    if window is None:
        if any(bound is not None for bound in run_window):
            return f"restricted to the date window {run_window[0]} – {run_window[1]}; the board has none"
    else:
        wanted_window = (_iso(window.start), _iso(window.end))
        if tuple(_iso(b) for b in run_window) != wanted_window:
            return f"date window {run_window[0]} – {run_window[1]}; the board asks for {window.label()}"
    column_task = board.task_objects[column]
    for role, wanted_entry in (("judge", column_task.judge), ("baseline", column_task.baseline)):
        actual = task_params.get(role)
        if wanted_entry is None:
            if actual is not None:
                return f"{role} {actual!r}; the board names no {role} for this task"
            continue
        known = board.models.entries.get(wanted_entry)
        if actual not in {wanted_entry, known.model if known else wanted_entry}:
            return f"{role} {actual!r}; the board asks for {wanted_entry!r}"
    return None


def _iso(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)
