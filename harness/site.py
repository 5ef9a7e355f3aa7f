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
    data/samples/<task>/<entry>/     index.js (every sample's id, category, score) and shard-NNNN.js
    runs/<task>/<entry>/<hash>/      run.json and samples.jsonl.gz of each run shown
    leaderboard.json                 the aggregate as JSON
    static/                          css, js, and the one copy of plotly.min.js
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from harness import __version__
from harness.aggregate import BoardData, aggregate
from harness.board import OVERALL, Board
from harness.errors import ConfigError
from harness.store import RUN_FILE, RunDir, latest_records
from harness.types import RunResult, SampleRecord, is_http_url

SITE_ROOT = Path(__file__).resolve().parent.parent / "site"
TEMPLATES = SITE_ROOT / "templates"
STATIC = SITE_ROOT / "static"
MARKER = ".harness-site"
DEFAULT_SHARD_SIZE = 250
SOURCE_LABELS = {"run": "our run", "imported": "imported outputs", "reported": "reported"}
SOURCE_COLOURS = {"run": "#1f6feb", "imported": "#8250df", "reported": "#9a6700"}

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class BuildReport:
    out_dir: Path
    pages: int
    files: int
    bytes: int
    samples: int
    seconds: float
    notes: list[str] = field(default_factory=list)


def plotly_js_path() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise ConfigError(f"plotly.min.js is missing from the plotly package ({path}); reinstall plotly.")
    return path


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element and as a JavaScript literal."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def clean(value: Any) -> Any:
    """pandas/numpy values -> plain JSON values (NaN -> None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return clean(value.item())
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [clean(row) for row in frame.to_dict(orient="records")]


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


# --- charts ---------------------------------------------------------------------------------------


def _figure_json(figure: Any) -> Any:
    import plotly.io

    return json.loads(plotly.io.to_json(figure, validate=True, pretty=False))


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.15},
    }
    layout.update(extra)
    return layout


def scores_figure(rows: list[dict[str, Any]], names: dict[str, str]) -> Any:
    """Horizontal bars of score with CI error bars, one trace per source (best at the top)."""
    import plotly.graph_objects as go

    rows = sorted((r for r in rows if r["score"] is not None), key=lambda r: r["score"])
    figure = go.Figure()
    for source in ("run", "imported", "reported"):
        mine = [r for r in rows if r["source"] == source]
        if not mine:
            continue
        x = [r["score"] * 100 for r in mine]
        high = [
            (r["ci_high"] * 100 - xv) if r["ci_high"] is not None else 0
            for r, xv in zip(mine, x, strict=True)
        ]
        low = [
            (xv - r["ci_low"] * 100) if r["ci_low"] is not None else 0 for r, xv in zip(mine, x, strict=True)
        ]
        figure.add_trace(
            go.Bar(
                x=x,
                y=[names[r["entry"]] for r in mine],
                orientation="h",
                name=SOURCE_LABELS[source],
                marker={"color": SOURCE_COLOURS[source]},
                error_x={"type": "data", "symmetric": False, "array": high, "arrayminus": low},
                hovertemplate="%{y}: %{x:.1f}<extra>" + SOURCE_LABELS[source] + "</extra>",
            )
        )
    order = [names[r["entry"]] for r in rows]
    figure.update_layout(
        **_layout(
            height=max(160, 60 + 26 * len(rows)),
            xaxis={"title": {"text": "score (%) with 95% CI"}, "rangemode": "tozero"},
            yaxis={"categoryorder": "array", "categoryarray": order, "automargin": True},
            barmode="overlay",
        )
    )
    return _figure_json(figure)


def categories_figure(categories: pd.DataFrame, names: dict[str, str]) -> Any | None:
    import plotly.graph_objects as go

    if categories.empty:
        return None
    table = categories.pivot_table(index="entry", columns="category", values="score", aggfunc="first")
    table = table.loc[table.mean(axis=1).sort_values().index]
    z = [[None if pd.isna(v) else round(float(v) * 100, 1) for v in row] for row in table.to_numpy()]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in table.columns],
            y=[names[e] for e in table.index],
            colorscale="Blues",
            zmin=0,
            zmax=100,
            text=[["" if v is None else f"{v:.1f}" for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{z:.1f}%<extra></extra>",
            colorbar={"title": {"text": "%"}},
        )
    )
    figure.update_layout(
        **_layout(
            height=max(200, 90 + 28 * len(table.index)),
            xaxis={"tickangle": -30, "automargin": True},
            yaxis={"automargin": True},
        )
    )
    return _figure_json(figure)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both cost (lower) and score (higher), cheapest first."""
    front: list[tuple[float, float]] = []
    for cost, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or score > front[-1][1]:
            front.append((cost, score))
    return front


def cost_figure(rows: list[dict[str, Any]], names: dict[str, str]) -> Any | None:
    import plotly.graph_objects as go

    priced = [r for r in rows if r["score"] is not None and r["cost_per_sample_usd"] is not None]
    if not priced:
        return None
    figure = go.Figure()
    for source in ("run", "imported"):
        mine = [r for r in priced if r["source"] == source]
        if mine:
            figure.add_trace(
                go.Scatter(
                    x=[r["cost_per_sample_usd"] for r in mine],
                    y=[r["score"] * 100 for r in mine],
                    mode="markers+text",
                    text=[names[r["entry"]] for r in mine],
                    textposition="top center",
                    name=SOURCE_LABELS[source],
                    marker={"size": 10, "color": SOURCE_COLOURS[source]},
                    hovertemplate="%{text}: %{y:.1f}% at $%{x:.5f}/sample<extra></extra>",
                )
            )
    front = pareto_front([(r["cost_per_sample_usd"], r["score"] * 100) for r in priced])
    figure.add_trace(
        go.Scatter(
            x=[p[0] for p in front],
            y=[p[1] for p in front],
            mode="lines",
            line={"shape": "hv", "dash": "dot", "color": "#57606a"},
            name="Pareto front",
            hoverinfo="skip",
        )
    )
    log = all(r["cost_per_sample_usd"] > 0 for r in priced)
    figure.update_layout(
        **_layout(
            height=380,
            xaxis={"title": {"text": "cost per sample (USD)"}, "type": "log" if log else "linear"},
            yaxis={"title": {"text": "score (%)"}},
        )
    )
    return _figure_json(figure)


def entry_figure(rows: list[dict[str, Any]], titles: dict[str, str]) -> Any | None:
    import plotly.graph_objects as go

    shown = [r for r in rows if r["score"] is not None]
    if not shown:
        return None
    figure = go.Figure()
    for source in ("run", "imported", "reported"):
        mine = [r for r in shown if r["source"] == source]
        if not mine:
            continue
        x = [titles[r["task"]] for r in mine]
        y = [r["score"] * 100 for r in mine]
        figure.add_trace(
            go.Bar(
                x=x,
                y=y,
                name=SOURCE_LABELS[source],
                marker={"color": SOURCE_COLOURS[source]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        (r["ci_high"] * 100 - v) if r["ci_high"] is not None else 0
                        for r, v in zip(mine, y, strict=True)
                    ],
                    "arrayminus": [
                        (v - r["ci_low"] * 100) if r["ci_low"] is not None else 0
                        for r, v in zip(mine, y, strict=True)
                    ],
                },
            )
        )
    published = [r for r in shown if r["source"] != "reported" and r["reported_value"] is not None]
    if published:
        figure.add_trace(
            go.Scatter(
                x=[titles[r["task"]] for r in published],
                y=[r["reported_value"] * 100 for r in published],
                mode="markers",
                name="reported elsewhere",
                marker={"symbol": "diamond", "size": 12, "color": SOURCE_COLOURS["reported"]},
            )
        )
    figure.update_layout(**_layout(height=320, yaxis={"title": {"text": "score (%)"}, "rangemode": "tozero"}))
    return _figure_json(figure)


# --- samples --------------------------------------------------------------------------------------


def _natural(sample_id: str) -> tuple[int, int | str]:
    return (0, int(sample_id)) if sample_id.isdigit() else (1, sample_id)


def _compact(record: SampleRecord) -> dict[str, Any]:
    """One sample for the browser, with empty fields left out (full sets are large)."""
    completion, prompt = record.completion, record.prompt
    item: dict[str, Any] = {"m": [[m.role, m.content] for m in prompt.messages], "c": completion.text}
    optional: dict[str, Any] = {
        "pk": prompt.prefix_key,
        "md": prompt.metadata or None,
        "r": completion.reasoning,
        "f": completion.finish_reason,
        "mo": completion.model,
        "e": completion.error,
        "l": round(completion.latency_s, 3) if completion.latency_s else None,
        "d": record.score.details if record.score and record.score.details else None,
    }
    usage = completion.usage
    if any(usage.model_dump().values()):
        optional["u"] = [
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens,
            usage.reasoning_tokens,
        ]
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


@dataclass
class SampleExport:
    count: int
    shards: int


def export_samples(
    run_dir: RunDir,
    result: RunResult,
    dest: Path,
    meta: dict[str, Any],
    *,
    publish: bool,
    shard_size: int,
) -> SampleExport:
    """Write `index.js` (every sample's id, category and score) and the record shards for one cell."""
    latest = latest_records(run_dir.read_records())
    ordered = sorted(latest.values(), key=lambda r: (r.category or "", _natural(r.sample_id), r.epoch))
    categories = sorted({r.category for r in ordered if r.category is not None})
    category_index = {c: i for i, c in enumerate(categories)}
    dest.mkdir(parents=True, exist_ok=True)
    key = meta["key"]
    shards = math.ceil(len(ordered) / shard_size) if publish else 0
    index = {
        **meta,
        "publish": publish,
        "shard_size": shard_size,
        "shards": shards,
        "categories": categories,
        "epochs": max((r.epoch for r in ordered), default=0) + 1,
        "prefixes": result.prompt_prefixes if publish else {},
        "id": [r.sample_id for r in ordered],
        "epoch": [r.epoch for r in ordered],
        "cat": [category_index.get(r.category, -1) if r.category is not None else -1 for r in ordered],
        "score": [r.score.value if r.score is not None else None for r in ordered],
        "extracted": [r.score.extracted if r.score is not None else None for r in ordered],
        "target": [r.prompt.target for r in ordered],
        "parsed": [1 if r.score is not None and r.score.parsed else 0 for r in ordered],
        "error": [1 if r.completion.error is not None else 0 for r in ordered],
    }
    (dest / "index.js").write_text(f"harnessSamples.load({script_json(clean(index))});\n", encoding="utf-8")
    for number in range(shards):
        chunk = ordered[number * shard_size : (number + 1) * shard_size]
        # Records are plain JSON types already (they were validated on reading): no cleaning pass.
        payload = script_json([_compact(r) for r in chunk])
        (dest / f"shard-{number:04d}.js").write_text(
            f"harnessSamples.shard({script_json(key)},{number},{payload});\n", encoding="utf-8"
        )
    return SampleExport(count=len(ordered), shards=shards)


def copy_run_files(run_dir: RunDir, dest: Path, *, publish: bool) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir.run_path, dest / RUN_FILE)
    files = [RUN_FILE]
    if publish and run_dir.samples_path.is_file():
        with open(run_dir.samples_path, "rb") as source, gzip.open(dest / "samples.jsonl.gz", "wb", 1) as out:
            shutil.copyfileobj(source, out, 1 << 20)
        files.append("samples.jsonl.gz")
    return files


# --- pages ----------------------------------------------------------------------------------------


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


class SiteWriter:
    def __init__(self, data: BoardData, out: Path, shard_size: int) -> None:
        self.data = data
        self.board: Board = data.board
        self.out = out
        self.shard_size = shard_size
        self.env = environment()
        self.pages = 0
        self.samples = 0
        self.built_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.entries = {e.id: e for e in self.board.entries}
        self.names = {e.id: e.display_name for e in self.board.entries}
        self.titles = {t.id: self.board.title_of(t.id) for t in self.board.tasks}
        self.cells = records(data.cells)
        self.board_rows = records(data.leaderboard)
        self.links: dict[tuple[str, str], dict[str, Any]] = {}

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
        self.write_json()
        (self.out / MARKER).write_text(f"built by leaderboard-harness {__version__} at {self.built_at}\n")

    def export_cells(self) -> None:
        for (entry, column), run_dir in self.data.chosen.items():
            result = self.data.results[(entry, column)]
            publish = self.board.publishes_samples(column)
            run_path = f"runs/{_safe(result.spec.task)}/{_safe(entry)}/{_safe(result.spec_hash)}"
            files = copy_run_files(run_dir, self.out / run_path, publish=publish)
            sample_page = f"samples/{_safe(column)}/{_safe(entry)}.html"
            data_dir = f"data/samples/{_safe(column)}/{_safe(entry)}"
            meta = {
                "key": f"{column}/{entry}",
                "task": column,
                "task_title": self.titles[column],
                "entry": entry,
                "entry_name": self.names[entry],
            }
            export = export_samples(
                run_dir, result, self.out / data_dir, meta, publish=publish, shard_size=self.shard_size
            )
            self.samples += export.count
            self.links[(entry, column)] = {
                "samples_page": sample_page,
                "run_files": [f"{run_path}/{name}" for name in files],
            }
            cell = self.data.cell(entry, column)
            self.render(
                "samples.html",
                sample_page,
                cell=clean(cell),
                entry=self.entries[entry],
                task_id=column,
                task_title=self.titles[column],
                data_dir=data_dir,
                publish=publish,
                run_files=[f"{run_path}/{name}" for name in files],
                count=export.count,
            )

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
        category_table = []
        for entry in dict.fromkeys(categories["entry"]):
            mine = categories[categories["entry"] == entry].set_index("category")
            category_table.append(
                {
                    "entry": entry,
                    "name": self.names[entry],
                    "values": [
                        clean(mine.at[c, "score"]) if c in mine.index else None for c in category_names
                    ],
                }
            )
        figures = {
            "scores": scores_figure(rows, self.names),
            "categories": categories_figure(categories, self.names),
            "cost": cost_figure(rows, self.names),
        }
        skipped = records(self.data.skipped[self.data.skipped["task"] == column])
        self.render(
            "task.html",
            f"tasks/{_safe(column)}.html",
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
            f"entries/{_safe(entry_id)}.html",
            entry=entry,
            rows=rows,
            titles=self.titles,
            overall_value=board_row["overall"],
            rank=board_row["rank"],
            figures={"entry": figure} if figure is not None else {},
            skipped=records(self.data.skipped[self.data.skipped["entry"] == entry_id]),
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
    """Render the board into `out_dir`, replacing a previous build there only once the new one is done."""
    started = time.perf_counter()
    if shard_size < 1:
        raise ConfigError("--shard-size must be at least 1.")
    reusable = not out_dir.exists() or (out_dir / MARKER).is_file()
    if not reusable and (not out_dir.is_dir() or any(out_dir.iterdir())):
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
        writer = SiteWriter(data, staging, shard_size)
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
        notes=notes,
    )


# --- serving and screenshots ----------------------------------------------------------------------


def make_server(site_dir: Path, host: str, port: int, base_path: str = "/") -> Any:
    """An HTTP server for a built site, optionally under a sub-path as GitHub Pages serves project sites."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    prefix = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            if not path.startswith(prefix):
                return str(site_dir / ".no-such-file")
            return super().translate_path("/" + path[len(prefix) :])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Handler, directory=str(site_dir))
    return ThreadingHTTPServer((host, port), handler)


def launch_chromium(playwright: Any, executable: str = CHROMIUM_PATH) -> Any:
    """Debian's Chromium, headless; never a downloaded browser."""
    if not Path(executable).is_file():
        raise ConfigError(
            f"no Chromium at {executable}: install Debian's package (apt-get install chromium) or pass "
            "--chromium PATH."
        )
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def main_pages(site_dir: Path) -> list[Path]:
    """The pages worth a screenshot: the leaderboard, each task, the best-ranked entry with a run of
    its own or imported outputs, and the first sample browser that shows text."""
    pages = [site_dir / "index.html", *sorted((site_dir / "tasks").glob("*.html"))]
    data = json.loads((site_dir / "leaderboard.json").read_text(encoding="utf-8"))
    shown = [c for c in data["cells"] if c.get("samples_page")]
    published = [
        c
        for c in shown
        if (site_dir / f"data/samples/{_safe(c['task'])}/{_safe(c['entry'])}/shard-0000.js").is_file()
    ]
    measured = {c["entry"] for c in shown}
    ranked = [r["entry"] for r in data["leaderboard"] if r["entry"] in measured]
    if ranked:
        pages.append(site_dir / "entries" / f"{_safe(ranked[0])}.html")
    if published:
        pages.append(site_dir / published[0]["samples_page"])
    return pages


def screenshot_site(
    site_dir: Path, out_dir: Path, *, chromium: str = CHROMIUM_PATH, width: int = 1400
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    if not (site_dir / MARKER).is_file():
        raise ConfigError(f"{site_dir} is not a site built by `harness site build`.")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            for path in main_pages(site_dir):
                page.goto(path.resolve().as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                name = path.relative_to(site_dir).with_suffix("").as_posix().replace("/", "__") + ".png"
                page.screenshot(path=str(out_dir / name), full_page=True)
                written.append(out_dir / name)
        finally:
            browser.close()
    return written
