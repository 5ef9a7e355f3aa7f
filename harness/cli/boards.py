"""`harness board ...` and `harness site ...`: produce a board's runs; build, serve, photograph its site."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness.aggregate import aggregate
from harness.board import load_board
from harness.cli.common import (
    DEFAULT_RUNS,
    BoardRunsRoot,
    DataDir,
    RichProgress,
    console,
    err_console,
    shown,
)
from harness.distillation import compute_map, map_dir, map_report, require_map_inputs
from harness.errors import ConfigError
from harness.populate import import_published, populate_board
from harness.site import MARKER, build_site, make_server, records, screenshot_site

DEFAULT_SITE = Path("site-build")

site_app = typer.Typer(no_args_is_help=True, help="Build, serve and screenshot a board's static site.")
board_app = typer.Typer(no_args_is_help=True, help="Show a board's table and produce the runs it needs.")

BoardPath = Annotated[
    Path, typer.Argument(metavar="BOARD", help="Board file, e.g. leaderboards/qwen2.5-max-launch.yaml.")
]
ModelsPath = Annotated[
    Path | None,
    typer.Option("--models", help="Models file (default: the board's, else leaderboards/models.yaml)."),
]


@site_app.command("build")
def build(
    board: BoardPath,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the site to (replaced).")
    ] = DEFAULT_SITE,
    runs: BoardRunsRoot = DEFAULT_RUNS,
    models: ModelsPath = None,
    shard_size: Annotated[
        int, typer.Option(min=1, help="Samples per lazily loaded part of the sample browser.")
    ] = 1000,
) -> None:
    """Render the board's leaderboard, task, entry and sample pages into a static folder."""
    report = build_site(load_board(board, models), runs, out, shard_size=shard_size)
    for note in report.notes:
        err_console.print(f"[yellow]note:[/] {shown(note)}", highlight=False, soft_wrap=True)
    console.print(
        f"built {report.pages} pages, {report.samples:,} samples, {report.files} files, "
        f"{report.bytes / 1e6:.1f} MB in {report.seconds:.1f}s → {shown(report.out_dir)}/index.html",
        soft_wrap=True,
    )


@site_app.command("serve")
def serve(
    site_dir: Annotated[
        Path, typer.Argument(metavar="DIR", help="A folder built by `harness site build`.")
    ] = DEFAULT_SITE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8000,
    base_path: Annotated[
        str,
        typer.Option("--base-path", help="Serve under this sub-path, as GitHub Pages serves project sites."),
    ] = "/",
) -> None:
    """Serve a built site locally until interrupted."""
    if not (site_dir / MARKER).is_file():
        raise ConfigError(f"{site_dir} is not a site built by `harness site build`; build one first.")
    server = make_server(site_dir, host, port, base_path)
    address = server.server_address
    prefix = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    console.print(
        f"serving {site_dir} at http://{address[0]}:{address[1]}{prefix} (Ctrl-C stops)", soft_wrap=True
    )
    console.file.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@site_app.command("screenshot")
def screenshot(
    site_dir: Annotated[
        Path, typer.Argument(metavar="DIR", help="A folder built by `harness site build`.")
    ] = DEFAULT_SITE,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files.")] = Path("screenshots"),
    chromium: Annotated[
        str, typer.Option(help="Chromium executable (Debian's package by default).")
    ] = "/usr/bin/chromium",
    width: Annotated[int, typer.Option(min=200, max=10_000, help="Viewport width in pixels.")] = 1400,
) -> None:
    """Full-page PNGs of the leaderboard, each task page, the top entry and a sample browser."""
    for path in screenshot_site(site_dir, out, chromium=chromium, width=width):
        console.print(shown(path), highlight=False)


@board_app.command("show")
def show(board: BoardPath, runs: BoardRunsRoot = DEFAULT_RUNS, models: ModelsPath = None) -> None:
    """The board's table in the terminal, with where each number comes from."""
    loaded = load_board(board, models)
    data = aggregate(loaded, runs)
    table = Table(title=shown(loaded.title), title_justify="left")
    for column in ("#", "entry", "overall", *(shown(loaded.title_of(t.id)) for t in loaded.tasks)):
        table.add_column(column, justify="right" if column != "entry" else "left")
    cells = {(c["entry"], c["task"]): c for c in records(data.cells)}
    for row in records(data.leaderboard):
        values = []
        for task in loaded.tasks:
            cell = cells[(row["entry"], task.id)]
            if cell["source"] is None:
                values.append("-")
                continue
            text = f"{cell['score'] * 100:.1f} ({cell['source']})"
            if cell["subset"]:
                text += f" {cell['samples']}/{cell['samples_expected']}"
            values.append(text)
        overall = "-" if row["overall"] is None else f"{row['overall'] * 100:.1f}"
        table.add_row(str(row["rank"] or ""), shown(row["entry"]), overall, *map(shown, values))
    console.print(table)
    for skipped in data.skipped.itertuples():
        err_console.print(
            f"[yellow]not shown:[/] {shown(skipped.run)}: {shown(skipped.reason)}",
            highlight=False,
            soft_wrap=True,
        )


@board_app.command("populate")
def populate(
    board: BoardPath,
    runs: BoardRunsRoot = DEFAULT_RUNS,
    data_dir: DataDir = None,
    entry: Annotated[
        list[str] | None,
        typer.Option(
            "--entry", "-m", help="Entries to run (default: the board's embedded llama.cpp entries)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Samples per task for our own runs (a subset).")
    ] = 14,
    epochs: Annotated[int | None, typer.Option(min=1, help="Repeats per sample (default: the task's).")] = 1,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Generation limit for our runs.")
    ] = 512,
    models: ModelsPath = None,
    imports_only: Annotated[
        bool, typer.Option("--imports-only", help="Only import the published outputs; run nothing.")
    ] = False,
) -> None:
    """Import the board's published outputs (skipping those already imported) and run its entries."""
    loaded = load_board(board, models)
    if imports_only:
        for line in import_published(loaded, runs, data_dir):
            console.print(line, highlight=False, soft_wrap=True)
        return
    for line in populate_board(
        loaded,
        runs,
        data_dir=data_dir,
        entries=entry,
        limit=limit,
        epochs=epochs,
        max_tokens=max_tokens,
        progress=RichProgress(),
    ):
        console.print(shown(line), highlight=False, soft_wrap=True)


@board_app.command("similarity-map")
def similarity_map(
    runs: BoardRunsRoot = DEFAULT_RUNS,
    data_dir: DataDir = None,
    questions: Annotated[
        int | None,
        typer.Option(min=2, help="Compare on the first N Arena-Hard questions only (a quick map)."),
    ] = None,
    embedding: Annotated[
        bool, typer.Option(help="Include the embedding half (needs the 'similarity' extra).")
    ] = True,
) -> None:
    """Compare every published Arena-Hard v0.1 answer set with every other (judge-free, offline) and
    cache the map with the runs, for the site's distillation page."""
    started = time.perf_counter()
    computed = compute_map(
        require_map_inputs(data_dir),
        runs,
        questions=questions,
        embedding=embedding,
        progress=lambda line: err_console.print(line, highlight=False),
    )
    for line in map_report(computed):
        console.print(shown(line), highlight=False, soft_wrap=True)
    console.print(
        f"{len(computed.models)} answer sets x {computed.questions} questions in "
        f"{time.perf_counter() - started:.1f}s → {map_dir(runs)}",
        highlight=False,
        soft_wrap=True,
    )
