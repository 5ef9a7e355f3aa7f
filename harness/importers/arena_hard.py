"""Arena-Hard results made elsewhere, as runs: judgment folders, the v0.1 leaderboard CSV, the v2.0 tables.

- `import_judgments`: upstream's `model_judgment/<judge>/<model>.jsonl` files, in the older schema
  (`question_id, model, judge, games[{user_prompt, judgment, score}]`) or the current one
  (`uid, category, judge, model, baseline, games[{score, judgment, prompt}]`). The models of one judge
  are scored together, as upstream's `show_result.py` scores a folder: the task's rules turn verdicts
  into battles (v0.1 or v2.0), and its bootstrap draws and style-control fit cover every model of the
  folder, in sorted model order, rows in file order. Style control needs the answers' metadata (token
  length, markdown counts) from the `model_answer/` folder beside `model_judgment/`; where an answer
  carries none it is computed from the answer's text. One run per model, provenance `reported` (the
  judgments are someone else's; nothing here can judge them again), with the per-prompt verdicts as
  records.
- `import_leaderboard` (`harness import arena_hard_leaderboard FILE`): upstream's leaderboard CSV
  (`model, score, rating_q025, rating_q975, CI, avg_tokens, date`) as v0.1 `win_rate` figures.
- `import_readme_tables` (`harness import arena_hard_v2_readme README.md`): the v2.0 leaderboards
  printed in upstream's README, each table with the category, judge and metric its heading names.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.config import ENTRY_ID_PATTERN, check_entry_id
from harness.errors import ConfigError, DataError
from harness.importers.livecodebench_leaderboard import entry_id
from harness.runner import DEFAULT_MAX_ERROR_RATE, RunOutcome
from harness.runner.plan import PlannedItem, RunSource, make_plan
from harness.runner.results import build_result, now_iso, write_run
from harness.store import RunDir, file_sha256
from harness.task import LoadedData, validate_options
from harness.types import (
    BackendInfo,
    Completion,
    DataRef,
    ImportInfo,
    Metric,
    Prompt,
    ReportedModel,
    Sample,
    SampleRecord,
    Score,
    Timings,
)
from tasks.arena_hard import (
    V01,
    ArenaHard,
    ArenaHardOptions,
    ArenaHardV2,
    ArenaHardV2Options,
    leaderboard,
    outcome_details,
)
from tasks.arena_hard_protocol import answer_style, joined_labels

SOURCE = "lmarena/arena-hard-auto"


@dataclass
class Judged:
    """One judgment line: a model's two games on one prompt."""

    model: str
    uid: str
    category: str
    baseline: str
    labels: list[str | None]


def import_judgments(
    path: Path,
    task: ArenaHard,
    *,
    runs_root: Path,
    baseline: str,
    entry: str | None = None,
    model: str | None = None,
) -> list[RunOutcome]:
    """One run per model judged in the folder (or of the one `model`), fitted together per judge."""
    if entry is not None:
        check_entry_id(entry)
    files = _judgment_files(path)
    by_judge: dict[str, list[tuple[Path, Judged]]] = defaultdict(list)
    malformed = 0
    for file in files:
        for row in _rows(file):
            judged = _judged(row, task, baseline)
            if judged is None:
                malformed += 1
                continue
            if judged.baseline != baseline or not _in_task(judged, task):
                continue
            judge = str(row.get("judge") or file.parent.name)
            by_judge[judge].append((file, judged))
    if not by_judge:
        raise DataError(
            f"{path}: no judgments against baseline {baseline!r} for {task.name} "
            f"({len(files)} file(s) read). Check --baseline (the baseline's model name in the files)."
        )
    outcomes = []
    for judge, judged_rows in sorted(by_judge.items()):
        outcomes += _import_pool(path, task, runs_root, judge, baseline, judged_rows, entry, model, malformed)
    return outcomes


def _import_pool(
    path: Path,
    task: ArenaHard,
    runs_root: Path,
    judge: str,
    baseline: str,
    judged_rows: list[tuple[Path, Judged]],
    entry: str | None,
    model: str | None,
    malformed: int,
) -> list[RunOutcome]:
    by_model: dict[str, dict[str, Judged]] = defaultdict(dict)
    duplicates: dict[str, int] = defaultdict(int)
    for _, judged in judged_rows:
        if judged.uid in by_model[judged.model]:
            duplicates[judged.model] += 1
            continue
        by_model[judged.model][judged.uid] = judged
    styles = _answer_styles(path, [*by_model, baseline])
    details: dict[str, list[dict[str, Any]]] = {}
    for name, rows in by_model.items():
        details[name] = []
        for judged in rows.values():
            detail = outcome_details(task.edition, judged.labels)
            own, base = styles.get((name, judged.uid)), styles.get((baseline, judged.uid))
            if own is not None and base is not None:
                detail = {**detail, "style": own, "baseline_style": base}
            details[name].append(detail)
    pooled = leaderboard(task.edition, details, task.options)
    names = sorted(by_model)
    wanted = model if model is not None else entry
    if wanted is not None:
        names = [name for name in names if wanted in (name, entry_id(name))]
        if not names:
            raise ConfigError(f"{wanted!r}: no such model judged by {judge} in {path}.")
    sha = file_sha256(path)
    outcomes = []
    for name in names:
        identifier = entry if entry is not None else entry_id(name)
        if not ENTRY_ID_PATTERN.match(identifier):
            raise ConfigError(
                f"model {name!r} gives no usable entry id ({identifier!r}); name it with --entry."
            )
        notes = [
            f"judgments by {judge} against {baseline}, imported from {path}; scored together with the "
            f"{len(by_model)} model(s) this judge judged there, as upstream's show_result.py"
        ]
        if not all("style" in d for d in details[name] if d["outcomes"]):
            notes.append("answers' style metadata not found beside the judgments: no style control")
        if duplicates[name]:
            notes.append(f"{duplicates[name]} repeated judgment line(s) of a prompt ignored (the first kept)")
        info = ImportInfo(
            source_file=str(path),
            source_sha256=sha,
            records_read=len(by_model[name]) + duplicates[name],
            records_imported=len(by_model[name]),
            skipped_malformed=malformed,
            skipped_duplicate=duplicates[name],
            reported_model=ReportedModel(display_name=name, model_name=name),
        )
        params = {"source": "judgments", "judge": judge, "baseline": baseline}
        params.update(
            {
                k: v
                for k, v in task.params().items()
                if k in ("bootstrap_rounds", "bootstrap_seed", "category")
            }
        )
        records = {
            (judged.uid, 0): _record(judged, detail)
            for judged, detail in zip(by_model[name].values(), details[name], strict=True)
        }
        outcomes.append(
            _write(runs_root, task, path, identifier, name, info, params, notes, records, pooled[name])
        )
    return outcomes


def _record(judged: Judged, detail: Mapping[str, Any]) -> SampleRecord:
    kept = detail["outcomes"]
    prompt = Prompt(
        messages=[], target="", metadata={"uid": judged.uid, "category": judged.category, "reported": True}
    )
    return SampleRecord(
        sample_id=judged.uid,
        category=judged.category,
        prompt=prompt,
        completion=Completion(text=""),
        score=Score(
            value=sum(kept) / len(kept) if kept else 0.0,
            extracted=joined_labels(judged.labels),
            parsed=bool(kept),
            details={**detail, "reported": True},
        ),
    )


def _write(
    runs_root: Path,
    task: ArenaHard,
    path: Path,
    identifier: str,
    model: str,
    info: ImportInfo,
    params: dict[str, Any],
    notes: list[str],
    records: dict[tuple[str, int], SampleRecord],
    metrics: Mapping[str, Metric],
    headline: str | None = None,
) -> RunOutcome:
    source = RunSource(
        provenance="reported",
        entry=identifier,
        model=model,
        backend="external",
        imported=info,
        backend_info=BackendInfo(backend="external", endpoint=SOURCE),
    )
    items = [
        PlannedItem(Sample(id=r.sample_id, category=r.category, data=dict(r.prompt.metadata)), 0, r.prompt)
        for r in records.values()
    ]
    loaded = LoadedData(
        samples=[], ref=DataRef(dataset=f"{SOURCE} {task.edition}", source="import", path=str(path))
    )
    plan = make_plan(task, source, loaded, items, epochs=1, params=params, notes=notes)
    stamp = now_iso()
    result = build_result(
        plan,
        records,
        max_error_rate=DEFAULT_MAX_ERROR_RATE,
        timings=Timings(started_at=stamp, finished_at=stamp),
    )
    # The figures are fitted over everything the source scored together, not over this run's records.
    result = result.model_copy(update={"metrics": dict(metrics), "headline": headline or result.headline})
    run_dir = RunDir.for_spec(runs_root, task.name, identifier, result.spec_hash)
    with run_dir.lock():
        write_run(run_dir, result, list(records.values()))
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=0)


def _judgment_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigError(f"{path}: no such file or folder.")
    for pattern in ("model_judgment/*/*.jsonl", "*/*.jsonl", "*.jsonl"):
        files = sorted(path.glob(pattern))
        if files:
            return files
    raise DataError(f"{path}: no judgment files (expected model_judgment/<judge>/<model>.jsonl).")


def _rows(file: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}:{number}: not valid JSON ({exc.msg}).") from exc
        rows.append(row if isinstance(row, dict) else {})
    return rows


def _judged(row: Mapping[str, Any], task: ArenaHard, baseline: str) -> Judged | None:
    uid = row.get("uid", row.get("question_id"))
    model = row.get("model")
    games = row.get("games")
    if (
        not isinstance(uid, str)
        or not isinstance(model, str)
        or not isinstance(games, list)
        or len(games) != 2
    ):
        return None
    labels = [game.get("score") if isinstance(game, dict) else None for game in games]
    labels = [label if isinstance(label, str) else None for label in labels]
    category = str(row.get("category") or ("arena-hard-v0.1" if task.edition == V01 else ""))
    # Upstream drops a path before the model name.
    return Judged(model.split("/")[-1], uid, category, str(row.get("baseline") or baseline), labels)


def _in_task(judged: Judged, task: ArenaHard) -> bool:
    if isinstance(task, ArenaHardV2):
        return judged.category == task.options.category
    return True


def _answer_styles(path: Path, models: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Style metadata by (model, uid) from the `model_answer/` folder of the judgments' benchmark."""
    folder = next((p / "model_answer" for p in [path, *path.parents] if (p / "model_answer").is_dir()), None)
    styles: dict[tuple[str, str], dict[str, Any]] = {}
    if folder is None:
        return styles
    for name in models:
        file = folder / f"{name}.jsonl"
        if not file.is_file():
            continue
        for row in _rows(file):
            uid = row.get("uid", row.get("question_id"))
            meta = row.get("metadata") or row.get("conv_metadata")
            if not isinstance(uid, str):
                continue
            if isinstance(meta, dict) and "token_len" in meta:
                styles[(name, uid)] = meta
                continue
            text = _answer_text(row)
            if text is not None:
                styles[(name, uid)] = answer_style(text)
    return styles


def _answer_text(row: Mapping[str, Any]) -> str | None:
    messages = row.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        content = content.get("answer") if isinstance(content, dict) else content
        return content if isinstance(content, str) else None
    try:
        content = row["choices"][0]["turns"][0]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


# --- Reported figures ---------------------------------------------------------------------------------


class LeaderboardOptions(BaseModel):
    """Who judged the figures and against which baseline (the CSV does not say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: str = "gpt-4-1106-preview"
    baseline: str = "gpt-4-0314"


def import_leaderboard(
    path: Path,
    *,
    runs_root: Path,
    entry: str | None = None,
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[RunOutcome]:
    """Upstream's v0.1 leaderboard CSV: one run per model, `win_rate` with its 95% interval."""
    settings = validate_options("arena_hard_leaderboard", LeaderboardOptions, options or {})
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file.") from exc
    needed = {"model", "score", "rating_q025", "rating_q975"}
    if not rows or not needed <= set(rows[0]):
        raise DataError(
            f"{path}: expected upstream's leaderboard CSV with columns {', '.join(sorted(needed))}."
        )
    task = ArenaHard(ArenaHardOptions(judge=settings.judge, baseline=settings.baseline))
    figures = []
    for number, row in enumerate(rows, start=2):
        try:
            score, low, high = (float(row[k]) / 100 for k in ("score", "rating_q025", "rating_q975"))
        except ValueError as exc:
            raise DataError(f"{path}:{number}: a score is not a number ({exc}).") from exc
        metrics = {"win_rate": Metric(value=score, ci_low=low, ci_high=high, n=500, ci_level=0.95)}
        if row.get("avg_tokens"):
            metrics["mean_token_len"] = Metric(value=float(row["avg_tokens"]), n=500)
        figures.append((str(row["model"]), metrics, {"date": row.get("date") or None}))
    params = {"source": "leaderboard", "judge": settings.judge, "baseline": settings.baseline}
    return _reported_runs(path, runs_root, task, figures, params, entry, model, None)


# The README's v2.0 tables: the start of a heading -> (category, judge, metric the scores are).
README_TABLES = {
    "Hard Prompt, Style Control, and Gemini-2.5 as Judge": (
        "hard_prompt",
        "gemini-2.5",
        "win_rate_style_controlled",
    ),
    "Hard Prompt, Style Control, and GPT-4.1 as Judge": (
        "hard_prompt",
        "gpt-4.1",
        "win_rate_style_controlled",
    ),
    "Creative Writing, Ensemble GPT-4.1 and Gemini 2.5 as Judges": (
        "creative_writing",
        "gpt-4.1+gemini-2.5",
        "win_rate",
    ),
}
# The baselines by the names the tables use.
README_BASELINES = {"hard_prompt": "o3-mini-2025-01-31", "creative_writing": "gemini-2.0-flash-001"}
_TABLE_ROW = re.compile(r"^\s*\d+\s+(\S+)\s+(\d+(?:\.\d+)?)(?:\s+\(-(\d+(?:\.\d+)?) / \+(\d+(?:\.\d+)?)\))?")


def import_readme_tables(
    path: Path,
    *,
    runs_root: Path,
    entry: str | None = None,
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[RunOutcome]:
    """The v2.0 tables of upstream's README: one run per model and table."""
    validate_options("arena_hard_v2_readme", _NoOptions, options or {})
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file.") from exc
    outcomes: list[RunOutcome] = []
    found = 0
    for heading, (category, judge, metric) in README_TABLES.items():
        start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
        if start is None:
            continue
        found += 1
        figures: list[tuple[str, dict[str, Metric], dict[str, Any]]] = []
        for line in _console_block(lines, start):
            match = _TABLE_ROW.match(line)
            if match is None:
                continue
            name, score = match.group(1), float(match.group(2)) / 100
            minus, plus = match.group(3), match.group(4)
            low = score - float(minus) / 100 if minus is not None else None
            high = score + float(plus) / 100 if plus is not None else None
            figures.append(
                (name, {metric: Metric(value=score, ci_low=low, ci_high=high, n=0, ci_level=0.90)}, {})
            )
        task = ArenaHardV2(ArenaHardV2Options(category=category, judge=judge))
        params = {
            "source": "readme",
            "table": heading,
            "category": category,
            "judge": judge,
            "baseline": README_BASELINES[category],
        }
        outcomes += _reported_runs(path, runs_root, task, figures, params, entry, model, metric)
    if not found:
        raise DataError(f"{path}: none of the v2.0 leaderboard tables ({'; '.join(README_TABLES)}) is there.")
    return outcomes


class _NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _console_block(lines: list[str], start: int) -> list[str]:
    """The lines of the first ```console block after `start`."""
    block: list[str] = []
    inside = False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            if inside:
                break
            inside = True
            continue
        if inside:
            block.append(line)
    return block


def _reported_runs(
    path: Path,
    runs_root: Path,
    task: ArenaHard,
    figures: list[tuple[str, dict[str, Metric], dict[str, Any]]],
    params: dict[str, Any],
    entry: str | None,
    model: str | None,
    headline: str | None,
) -> list[RunOutcome]:
    wanted = model if model is not None else entry
    if wanted is not None:
        figures = [f for f in figures if wanted in (f[0], entry_id(f[0]))]
    sha = file_sha256(path)
    outcomes = []
    for name, metrics, extra in figures:
        identifier = entry if entry is not None else entry_id(name)
        info = ImportInfo(
            source_file=str(path),
            source_sha256=sha,
            records_read=1,
            records_imported=0,
            reported_model=ReportedModel(display_name=name, model_name=name),
        )
        note = f"figures as {SOURCE} published them ({path.name}); no per-prompt results"
        run_params = {**params, **{k: v for k, v in extra.items() if v is not None}}
        outcomes.append(
            _write(runs_root, task, path, identifier, name, info, run_params, [note], {}, metrics, headline)
        )
    return outcomes
