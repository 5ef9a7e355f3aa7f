"""A board's results as a static site: jinja2 pages, plotly charts, a lazily loaded per-sample browser.

Summarise to data first, then render (as HELM does): `aggregate()` gives the DataFrames, this module
turns them into pages. Every page is plain HTML with relative links, so the folder works opened from
disk (file://) and served under any sub-path (GitHub Pages). Data reaches the browser through
`<script>` elements, never fetch(), for the same reason. Model output is untrusted: the templates
autoescape, JSON embedded in pages has `<`, `>` and `&` escaped, and the browser scripts insert text
with `textContent` only.

Layout of a built site:

    index.html                       the leaderboard (sortable)
    tasks/<task>.html                one per board task: categories, CIs, score vs cost
    entries/<entry>.html             one per entry
    samples/<task>/<entry>.html      per-sample browser of one cell
    data/samples/<task>/<entry>*.js  the cell's index and compressed record shards (see harness.site.samples)
    data/prompts/, data/prefixes/    prompts and few-shot prefixes, stored once for all cells sharing them
    runs/<task>/<entry>~<hash>.run.json  the run.json of each run shown
    leaderboard.json                 the aggregate as JSON
    static/                          css, js, and the one copy of plotly.min.js

Builds are incremental: a cell's sample data is keyed by its run's content and how it is shown
(`.harness-exports.json` records the keys), and a rebuild takes the files of every unchanged cell from
the previous build (hard links, no copy) instead of reading the run again. Cells that do need exporting
are exported in parallel, one process a core. The new site is assembled beside the old one and
replaces it only once complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from harness import __version__
from harness.aggregate import BoardData, aggregate
from harness.board import OVERALL, Board
from harness.distillation import DistillationSite
from harness.errors import ConfigError
from harness.site.encoding import clean, records, safe_name, script_json
from harness.site.figures import categories_figure, cost_figure, entry_figure, scores_figure
from harness.site.samples import (
    DEFAULT_SHARD_SIZE,
    EXPORT_VERSION,
    CellExport,
    CellJob,
    export_cell,
    link_files,
)
from harness.store import RUN_FILE, process_pool
from harness.types import is_http_url

SITE_ROOT = Path(__file__).resolve().parents[2] / "site"
TEMPLATES = SITE_ROOT / "templates"
STATIC = SITE_ROOT / "static"
MARKER = ".harness-site"
EXPORTS_FILE = ".harness-exports.json"
CONTENT_ID = re.compile(r"[0-9a-f]{20}")


@dataclass
class BuildReport:
    out_dir: Path
    pages: int
    files: int
    bytes: int
    samples: int
    seconds: float
    exported: int = 0
    reused: int = 0
    notes: list[str] = field(default_factory=list)


def plotly_js_path() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise ConfigError(f"plotly.min.js is missing from the plotly package ({path}); reinstall plotly.")
    return path


# --- formatting filters -------------------------------------------------------------------------


def fmt_pct(value: Any, digits: int = 1) -> str:
    value = clean(value)
    return "–" if value is None else f"{value * 100:.{digits}f}"


def fmt_ci(low: Any, high: Any) -> str:
    low, high = clean(low), clean(high)
    if low is None or high is None or low == high:
        return ""
    return f"[{low * 100:.1f}, {high * 100:.1f}]"


def fmt_usd(value: Any) -> str:
    value = clean(value)
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.5f}"
    return f"${value:,.2f}"


def fmt_int(value: Any) -> str:
    value = clean(value)
    return "–" if value is None else f"{int(value):,}"


def fmt_num(value: Any) -> str:
    value = clean(value)
    return "" if value is None else repr(float(value))


def http_link(value: Any) -> str:
    """The value when it is an http(s) URL, else "": no other scheme (javascript:, data:) becomes an href,
    whatever reached the data (a board or run.json written by hand, an imported file)."""
    return value if is_http_url(value) else ""


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, ci=fmt_ci, usd=fmt_usd, int=fmt_int, num=fmt_num, http_link=http_link)
    env.filters["json"] = script_json
    return env


class SiteWriter:
    def __init__(self, data: BoardData, out: Path, shard_size: int, previous: Path | None = None) -> None:
        self.data = data
        self.board: Board = data.board
        self.out = out
        self.shard_size = shard_size
        self.previous = previous
        self.env = environment()
        self.pages = 0
        self.samples = 0
        self.exported = 0
        self.reused = 0
        self.built_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.entries = {e.id: e for e in self.board.entries}
        self.names = {e.id: e.display_name for e in self.board.entries}
        self.titles = {t.id: self.board.title_of(t.id) for t in self.board.tasks}
        self.cells = records(data.cells)
        self.board_rows = records(data.leaderboard)
        self.links: dict[tuple[str, str], dict[str, Any]] = {}
        self.distillation = DistillationSite.collect(data)

    def render(self, template: str, path: str, **context: Any) -> None:
        depth = path.count("/")
        root = "../" * depth
        html = self.env.get_template(template).render(
            root=root,
            board=self.board,
            board_title=self.board.title,
            tasks=[{"id": t.id, "title": self.titles[t.id]} for t in self.board.tasks],
            built_at=self.built_at,
            harness_version=__version__,
            has_distillation=self.distillation is not None,
            **context,
        )
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        self.pages += 1

    def build(self) -> None:
        static = self.out / "static"
        shutil.copytree(STATIC, static)
        shutil.copyfile(plotly_js_path(), static / "plotly.min.js")
        self.export_cells()
        self.write_index()
        for board_task in self.board.tasks:
            self.write_task(board_task.id)
        for entry in self.board.entries:
            self.write_entry(entry.id)
        if self.distillation is not None:
            self.render("distillation.html", "distillation.html", **self.distillation.page_context())
        self.write_json()
        (self.out / MARKER).write_text(f"built by leaderboard-harness {__version__} at {self.built_at}\n")

    def _previous_exports(self) -> dict[str, Any]:
        if self.previous is None:
            return {}
        try:
            manifest = json.loads((self.previous / EXPORTS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(manifest, dict) or manifest.get("version") != EXPORT_VERSION:
            return {}
        cells = manifest.get("cells")
        return cells if isinstance(cells, dict) else {}

    def _reuse(self, job: CellJob, key: str, previous: dict[str, Any]) -> CellExport | None:
        """The previous build's export of this cell, linked into the new site, if its key matches."""
        entry = previous.get(job.stem)
        if self.previous is None or not isinstance(entry, dict) or entry.get("key") != key:
            return None
        try:
            export = CellExport(
                count=int(entry["count"]),
                shards=int(entry["shards"]),
                prompt_set=entry["prompt_set"],
                prefix_set=entry["prefix_set"],
            )
            if not all(n is None or CONTENT_ID.fullmatch(n) for n in (export.prompt_set, export.prefix_set)):
                return None
            link_files(self.previous, self.out, export.files(job.stem))
        except (KeyError, TypeError, ValueError, OSError):
            return None  # a previous build damaged by hand: export the cell again
        return export

    def export_cells(self) -> None:
        previous = self._previous_exports()
        jobs: dict[tuple[str, str], tuple[CellJob, str]] = {}
        run_files: dict[tuple[str, str], list[str]] = {}
        for (entry, column), run_dir in self.data.chosen.items():
            result = self.data.results[(entry, column)]
            task, name = safe_name(result.spec.task), safe_name(entry)
            run_file = f"runs/{task}/{name}~{safe_name(result.spec_hash)}.{RUN_FILE}"
            (self.out / run_file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_dir.run_path, self.out / run_file)
            run_files[(entry, column)] = [run_file]
            publish = self.board.publishes_samples(column)
            job = CellJob(
                run_path=run_dir.path,
                site=self.out,
                stem=f"data/samples/{safe_name(column)}/{safe_name(entry)}",
                meta={
                    "key": f"{column}/{entry}",
                    "task": column,
                    "task_title": self.titles[column],
                    "entry": entry,
                    "entry_name": self.names[entry],
                },
                publish=publish,
                shard_size=self.shard_size,
                prefixes=result.prompt_prefixes if publish else {},
            )
            jobs[(entry, column)] = (job, job.key())
        exports: dict[tuple[str, str], CellExport] = {}
        for cell, (job, key) in jobs.items():
            reused = self._reuse(job, key, previous)
            if reused is not None:
                exports[cell] = reused
                self.reused += 1
        todo = [cell for cell in jobs if cell not in exports]
        for cell, export in zip(todo, _run_exports([jobs[cell][0] for cell in todo]), strict=True):
            exports[cell] = export
        self.exported = len(todo)
        manifest: dict[str, Any] = {"version": EXPORT_VERSION, "cells": {}}
        cells = {(cell["entry"], cell["task"]): cell for cell in self.cells}
        for (entry, column), (job, key) in jobs.items():
            export = exports[(entry, column)]
            manifest["cells"][job.stem] = {
                "key": key,
                "count": export.count,
                "shards": export.shards,
                "prompt_set": export.prompt_set,
                "prefix_set": export.prefix_set,
            }
            self.samples += export.count
            sample_page = f"samples/{safe_name(column)}/{safe_name(entry)}.html"
            self.links[(entry, column)] = {
                "samples_page": sample_page,
                "run_files": run_files[(entry, column)],
            }
            self.render(
                "samples.html",
                sample_page,
                cell=cells[(entry, column)],
                entry=self.entries[entry],
                task_id=column,
                task_title=self.titles[column],
                stem=job.stem,
                publish=job.publish,
                run_files=run_files[(entry, column)],
                count=export.count,
                task_params=self.data.results[(entry, column)].spec.task_params,
            )
        (self.out / EXPORTS_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")

    def cell_rows(self, *, entry: str | None = None, task: str | None = None) -> list[dict[str, Any]]:
        rows = []
        for cell in self.cells:
            if (entry is None or cell["entry"] == entry) and (task is None or cell["task"] == task):
                link = self.links.get((cell["entry"], cell["task"]), {})
                rows.append({**cell, "links": link, "name": self.names[cell["entry"]]})
        return rows

    def write_index(self) -> None:
        table = self.board_rows
        by_cell = {(c["entry"], c["task"]): c for c in self.cell_rows()}
        rows = []
        for row in table:
            cells = [by_cell[(row["entry"], t.id)] for t in self.board.tasks]
            overall_subset = any(
                c["subset"]
                for c in cells
                if c["task"] in self.board.overall_tasks and c["source"] is not None
            )
            rows.append(
                {
                    **row,
                    "cells": cells,
                    "entry_obj": self.entries[row["entry"]],
                    "overall_subset": overall_subset,
                }
            )
        self.render(
            "index.html",
            "index.html",
            rows=rows,
            headline=self.board.spec.headline,
            overall=OVERALL,
            overall_description=self.board.overall_description(),
            skipped=len(self.data.skipped),
        )

    def write_task(self, column: str) -> None:
        board_task = self.board.task(column)
        rows = sorted(
            self.cell_rows(task=column),
            key=lambda r: (r["score"] is None, -(r["score"] or 0.0)),
        )
        categories = self.data.categories[self.data.categories["task"] == column]
        category_names = sorted(categories["category"].unique()) if not categories.empty else []
        scores: dict[str, dict[str, Any]] = {}
        for row in records(categories):
            # The first row of an (entry, category) pair is the one shown, as a pandas lookup gives it.
            scores.setdefault(row["entry"], {}).setdefault(row["category"], row["score"])
        category_table = [
            {"entry": entry, "name": self.names[entry], "values": [mine.get(c) for c in category_names]}
            for entry, mine in scores.items()
        ]
        figures = {
            "scores": scores_figure(rows, self.names),
            "categories": categories_figure(categories, self.names),
            "cost": cost_figure(rows, self.names),
        }
        skipped = records(self.data.skipped[self.data.skipped["task"] == column])
        self.render(
            "task.html",
            f"tasks/{safe_name(column)}.html",
            board_task=board_task,
            task_title=self.titles[column],
            task_name=board_task.task_name,
            version=self.board.version(column),
            metric=self.board.metric(column),
            publish=self.board.publishes_samples(column),
            rows=rows,
            category_names=category_names,
            category_table=category_table,
            figures={k: v for k, v in figures.items() if v is not None},
            skipped=skipped,
        )

    def write_entry(self, entry_id: str) -> None:
        entry = self.entries[entry_id]
        rows = self.cell_rows(entry=entry_id)
        figure = entry_figure(rows, self.titles)
        board_row = next(r for r in self.board_rows if r["entry"] == entry_id)
        self.render(
            "entry.html",
            f"entries/{safe_name(entry_id)}.html",
            entry=entry,
            rows=rows,
            titles=self.titles,
            overall_value=board_row["overall"],
            rank=board_row["rank"],
            figures={"entry": figure} if figure is not None else {},
            skipped=records(self.data.skipped[self.data.skipped["entry"] == entry_id]),
            distillation=self.distillation.entry_context(entry_id) if self.distillation else None,
        )

    def write_json(self) -> None:
        spec = self.board.spec
        export = {
            "board": {
                "name": self.board.name,
                "title": spec.title,
                "description": spec.description,
                "headline": spec.headline,
                "overall": self.board.overall_description(),
                "tasks": [
                    {
                        **t.model_dump(mode="json"),
                        "task": t.task_name,
                        "version": self.board.version(t.id),
                        "metric": self.board.metric(t.id),
                    }
                    for t in self.board.tasks
                ],
                "entries": [
                    self.entries[e].model_dump(
                        mode="json",
                        include={
                            "id",
                            "display_name",
                            "organisation",
                            "backend",
                            "model",
                            "price",
                            "open_weights",
                            "release_date",
                        },
                    )
                    for e in spec.entries
                ],
            },
            "built_at": self.built_at,
            "harness_version": __version__,
            "leaderboard": records(self.data.leaderboard),
            "cells": [{**c, **self.links.get((c["entry"], c["task"]), {})} for c in self.cells],
            "categories": records(self.data.categories),
            "skipped": records(self.data.skipped),
        }
        (self.out / "leaderboard.json").write_text(
            json.dumps(export, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )


def _run_exports(jobs: list[CellJob]) -> list[CellExport]:
    """Export cells, in parallel across the machine's cores when there are several."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [export_cell(job) for job in jobs]
    with process_pool(workers) as pool:
        # Largest runs first, so that no core is left with a long one at the end.
        order = sorted(range(len(jobs)), key=lambda i: -_samples_size(jobs[i]))
        futures = {i: pool.submit(export_cell, jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]


def _samples_size(job: CellJob) -> int:
    try:
        return (job.run_path / "samples.jsonl").stat().st_size
    except OSError:
        return 0


def _folder_stats(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _work_folder(out_dir: Path, kind: str, pid: int) -> Path:
    return out_dir.parent / f".{out_dir.name}.{kind}-{pid}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_builds(out_dir: Path) -> list[str]:
    """Remove the work folders (`.<site>.building-<pid>`, `.<site>.old-<pid>`) of builds whose process is
    gone (killed with SIGKILL, or the machine stopped); a live process's folder is a build in progress
    and is left alone. Returns the names removed."""
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(?:building|old)-(\d+)")
    removed = []
    for path in sorted(out_dir.parent.iterdir()):
        match = pattern.fullmatch(path.name)
        if match and path.is_dir() and not path.is_symlink() and not _process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def build_site(
    board: Board, runs_root: Path, out_dir: Path, *, shard_size: int = DEFAULT_SHARD_SIZE
) -> BuildReport:
    """Render the board into `out_dir`, replacing a previous build there only once the new one is done;
    the unchanged cells of that previous build are reused."""
    started = time.perf_counter()
    if shard_size < 1:
        raise ConfigError("--shard-size must be at least 1.")
    previous = out_dir if (out_dir / MARKER).is_file() else None
    if previous is None and out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(
            f"{out_dir} exists and is not a site built by the harness; choose another -o folder or "
            "remove it (the build replaces the whole folder)."
        )
    data = aggregate(board, runs_root)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stale = remove_stale_builds(out_dir)
    staging = _work_folder(out_dir, "building", os.getpid())
    retired = _work_folder(out_dir, "old", os.getpid())
    for leftover in (staging, retired):  # of an earlier process that had this pid
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir()
    try:
        writer = SiteWriter(data, staging, shard_size, previous)
        writer.build()
        if out_dir.exists():
            out_dir.rename(retired)
        staging.rename(out_dir)
    except BaseException:
        # Failed or interrupted (Ctrl-C, SIGTERM): the previous build stays in place, nothing is left over.
        if retired.exists() and not out_dir.exists():
            retired.rename(out_dir)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)
    files, size = _folder_stats(out_dir)
    notes = [f"{len(data.skipped)} run(s) not shown (listed on the task pages)."] if len(data.skipped) else []
    if stale:
        notes.append(
            f"removed {len(stale)} folder(s) left by site builds that were killed: {', '.join(stale)}"
        )
    return BuildReport(
        out_dir=out_dir,
        pages=writer.pages,
        files=files,
        bytes=size,
        samples=writer.samples,
        seconds=time.perf_counter() - started,
        exported=writer.exported,
        reused=writer.reused,
        notes=notes,
    )
