"""The official LiveCodeBench leaderboard's per-problem results, as runs of external entries.

Source: the site's data file (LiveCodeBench/livecodebench.github.io `src/mocks/performances_generation.json`):
`performances` holds one row per (model, problem) with the problem's date (ms since the epoch, UTC),
difficulty, platform and the model's `pass@1` in percent; `models` holds each model's name, display
name (`model_repr`), style, release date and link. The site averages `pass@1` over the problems whose
date lies in the slider's window (both ends included) and rounds to one decimal.

Each model becomes one run of task `livecodebench`, provenance `reported`: one record per problem whose
score is the reported pass@1 as a fraction, with no completion text and `details.reported = true`, and
the problem's date, difficulty and platform in the prompt metadata, so `window_pass_at_1` gives the
site's average for any window. Imported with a date window, a run keeps only that window's problems and
records the window in `task_params` (`start_date`, `end_date`) exactly as a run of our own over that
window does, so a leaderboard column shows both side by side. These runs cannot be re-graded (there is
nothing to execute).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from harness.config import ENTRY_ID_PATTERN, check_entry_id
from harness.errors import ConfigError, DataError
from harness.files import BoundedReader
from harness.runner import DEFAULT_MAX_ERROR_RATE, RunOutcome
from harness.runner.plan import PlannedItem, RunSource, make_plan
from harness.runner.results import build_result, mark_started, now_iso, write_run
from harness.store import RunDir, file_sha256
from harness.task import LoadedData, validate_options
from harness.types import (
    BackendInfo,
    Completion,
    DataRef,
    ImportInfo,
    Prompt,
    ReportedModel,
    Sample,
    SampleRecord,
    Score,
    Timings,
    check_date_window,
    is_http_url,
)
from tasks.livecodebench import LiveCodeBench, in_window

# Problem dates in milliseconds since the epoch: 1970 to 9999 (datetime's range).
MIN_DATE_MS, MAX_DATE_MS = 0, 253_402_214_400_000
SOURCE = "LiveCodeBench/livecodebench.github.io performances_generation.json"
REQUIRED = ("question_id", "model", "date", "difficulty", "pass@1", "platform")
NOTE = (
    "per-problem pass@1 as reported on the official LiveCodeBench leaderboard (livecodebench.github.io); "
    "not graded here, and the records carry no completions"
)


def entry_id(model_repr: str) -> str:
    """A filesystem-safe entry id from a display name.

    'O1-2024-12-17 (N=1) (Low)' -> 'o1-2024-12-17-n-1-low'."""
    slug = re.sub(r"[^a-z0-9._]+", "-", model_repr.lower()).strip("-._")
    return slug or "model"


def _utc(ms: Any) -> datetime:
    return datetime.fromtimestamp(float(ms) / 1000, tz=UTC).replace(tzinfo=None)


def read_leaderboard(path: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The performance rows and the model metadata by display name, validated."""
    data = BoundedReader().read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("performances"), list):
        raise DataError(f"{path}: expected the leaderboard's object with a 'performances' list and 'models'.")
    rows = []
    for number, row in enumerate(data["performances"]):
        missing = [key for key in REQUIRED if not isinstance(row, dict) or key not in row]
        if missing:
            raise DataError(f"{path}: performances[{number}] lacks {', '.join(missing)}.")
        for key in ("date", "pass@1"):
            value = row[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DataError(f"{path}: performances[{number}].{key} is {value!r}, not a number.")
        if not MIN_DATE_MS <= row["date"] <= MAX_DATE_MS:
            raise DataError(f"{path}: performances[{number}].date {row['date']!r} is not a date in ms.")
        rows.append(row)
    listed = data.get("models", [])
    models = {
        str(model["model_repr"]): model
        for model in (listed if isinstance(listed, list) else [])
        if isinstance(model, dict) and "model_repr" in model
    }
    return rows, models


class LeaderboardOptions(BaseModel):
    """The problems' date window: both ends included, at midnight, as the site's slider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _window(self) -> LeaderboardOptions:
        check_date_window(self.start_date, self.end_date, what="start_date/end_date")
        return self


def import_leaderboard(
    path: Path,
    *,
    runs_root: Path,
    entry: str | None = None,
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[RunOutcome]:
    """One run per model in the file, or of the one model named by `model` (display name or entry id).

    `entry` names the entry the run belongs to; without `model` it also selects the model. Without
    either, each model's entry id is derived from its display name. `options` may give a date window
    (`start_date`, `end_date`) that keeps only its problems.
    """
    window_options = validate_options("livecodebench_leaderboard", LeaderboardOptions, options or {})
    start_date, end_date = window_options.start_date, window_options.end_date
    if entry is not None:
        check_entry_id(entry)
    rows, models = read_leaderboard(path)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_model[str(row["model"])].append(row)
    names = sorted(by_model)
    wanted = model if model is not None else entry
    if wanted is not None:
        names = [name for name in names if wanted in (name, entry_id(name))]
        if not names:
            known = ", ".join(sorted(entry_id(n) for n in by_model))
            option = "--model" if model is not None else "--entry"
            raise ConfigError(f"{option} {wanted!r}: no such model in {path} (it has {known}).")
    sha = file_sha256(path)
    taken: set[str] = set()
    outcomes = []
    for name in names:
        identifier = entry if entry is not None else entry_id(name)
        while identifier in taken:
            identifier += "-1"
        taken.add(identifier)
        if not ENTRY_ID_PATTERN.match(identifier):
            raise ConfigError(f"model {name!r} gives no usable entry id ({identifier!r}).")
        inside = [r for r in by_model[name] if in_window(_utc(r["date"]), start_date, end_date)]
        if not inside:
            raise DataError(f"{path}: {name} has no problems between {start_date} and {end_date}.")
        window = (start_date, end_date) if start_date or end_date else None
        outcomes.append(
            _import_model(runs_root, path, sha, name, identifier, inside, models.get(name, {}), window)
        )
    return outcomes


def _import_model(
    runs_root: Path,
    path: Path,
    sha: str,
    name: str,
    identifier: str,
    rows: list[dict[str, Any]],
    model: dict[str, Any],
    window: tuple[date | None, date | None] | None,
) -> RunOutcome:
    model_name = str(model.get("model_name") or name)
    items, records, duplicates = _reported_records(path, name, model_name, rows)
    dates = sorted(r.prompt.metadata["contest_date"] for r in records.values())
    params: dict[str, Any] = {
        "source": "leaderboard",
        "problems": len(records),
        "first": dates[0],
        "last": dates[-1],
    }
    if window is not None:
        params["start_date"] = window[0].isoformat() if window[0] else None
        params["end_date"] = window[1].isoformat() if window[1] else None
    info = ImportInfo(
        source_file=str(path),
        source_sha256=sha,
        records_read=len(rows),
        records_imported=len(records),
        skipped_duplicate=duplicates,
        reported_model=ReportedModel(
            display_name=name,
            model_name=_text(model.get("model_name")),
            style=_text(model.get("model_style")),
            release_date=_release(model),
            # Only an http(s) link is kept: the file is not ours, and a link may end up on a page.
            link=link if is_http_url(link := model.get("link")) else None,
        ),
    )
    source = RunSource(
        provenance="reported",
        entry=identifier,
        model=model_name,
        backend="external",
        imported=info,
        backend_info=BackendInfo(backend="external", endpoint=SOURCE),
    )
    loaded = LoadedData(samples=[], ref=DataRef(dataset=SOURCE, source="import", path=str(path)))
    task = LiveCodeBench()
    plan = make_plan(task, source, loaded, items, epochs=1, params=params, notes=[NOTE])
    stamp = now_iso()
    result = build_result(
        plan,
        records,
        max_error_rate=DEFAULT_MAX_ERROR_RATE,
        timings=Timings(started_at=stamp, finished_at=stamp),
    )
    run_dir = RunDir.for_spec(runs_root, task.name, identifier, result.spec_hash)
    with run_dir.lock():
        mark_started(run_dir, plan)
        write_run(run_dir, result, list(records.values()))
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=0)


def _reported_records(
    path: Path, name: str, model_name: str, rows: list[dict[str, Any]]
) -> tuple[list[PlannedItem], dict[tuple[str, int], SampleRecord], int]:
    """One record per problem, in date order, scored with the reported pass@1; and the duplicates."""
    records: dict[tuple[str, int], SampleRecord] = {}
    items: list[PlannedItem] = []
    duplicates = 0
    for row in sorted(rows, key=lambda r: (r["date"], str(r["question_id"]))):
        question_id = str(row["question_id"])
        if (question_id, 0) in records:
            duplicates += 1
            continue
        pass_at_1 = float(row["pass@1"]) / 100.0
        if not 0.0 <= pass_at_1 <= 1.0:
            raise DataError(f"{path}: {name} on {question_id}: pass@1 {row['pass@1']} is not a percentage.")
        metadata = {
            "question_id": question_id,
            "contest_date": _utc(row["date"]).isoformat(),
            "date_ms": int(row["date"]),
            "difficulty": str(row["difficulty"]),
            "platform": str(row["platform"]),
            "reported": True,
        }
        prompt = Prompt(messages=[], target="", metadata=metadata)
        items.append(
            PlannedItem(Sample(id=question_id, category=str(row["difficulty"]), data=metadata), 0, prompt)
        )
        records[(question_id, 0)] = SampleRecord(
            sample_id=question_id,
            category=str(row["difficulty"]),
            prompt=prompt,
            completion=Completion(text="", model=model_name),
            score=Score(
                value=pass_at_1, details={"reported": True, "pass_at_1": pass_at_1, "source": SOURCE}
            ),
        )
    return items, records, duplicates


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _release(model: dict[str, Any]) -> str | None:
    value = model.get("release_date")
    usable = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and MIN_DATE_MS <= value <= MAX_DATE_MS
    )
    return _utc(value).date().isoformat() if usable else None
