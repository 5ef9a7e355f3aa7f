"""The static site in a real browser: Debian's Chromium, headless, driven by Playwright.

The site is opened from disk (file://) and served under a sub-path, as GitHub Pages serves it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from harness.aggregate import aggregate
from harness.board import Board, load_board
from harness.errors import ConfigError
from harness.site import build_site, launch_chromium, make_server, pareto_front, script_json
from harness.store import RunDir, iter_runs, latest_records
from tests.conftest import REPO, SiteWorld
from tests.site_helpers import HOSTILE_DISPLAY, HOSTILE_ENTRY


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


class Watched:
    """A page with its console errors and uncaught exceptions collected."""

    def __init__(self, browser: Browser) -> None:
        self.page: Page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def open(self, url: str) -> Page:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        return self.page


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    page = Watched(browser)
    yield page
    page.page.close()


def url(site: Path, page: str) -> str:
    return (site / page).resolve().as_uri()


def column_values(page: Page, table: str, key: str) -> list[str]:
    values: list[str] = page.eval_on_selector_all(
        f"#{table} tbody tr td[data-key='{key}']", "cells => cells.map(c => c.getAttribute('data-value'))"
    )
    return values


def row_entries(page: Page, table: str) -> list[str]:
    entries: list[str] = page.eval_on_selector_all(
        f"#{table} tbody tr", "rows => rows.map(r => r.getAttribute('data-entry'))"
    )
    return entries


def test_leaderboard_rows_equal_the_aggregate(site_world: SiteWorld, watched: Watched) -> None:
    data = aggregate(load_board(site_world.board_path), site_world.runs)
    page = watched.open(url(site_world.site, "index.html"))
    assert row_entries(page, "leaderboard") == list(data.leaderboard["entry"])
    for key in ("overall", "mmlu_pro", "gpqa_diamond"):
        shown = column_values(page, "leaderboard", key)
        expected = list(data.leaderboard[key])
        assert len(shown) == len(expected)
        for text, value in zip(shown, expected, strict=True):
            if value is None or value != value:
                assert text == ""
            else:
                assert float(text) == pytest.approx(float(value), abs=1e-12)
    # Each measured cell carries its source badge; the subset cell says how much it covers.
    row = page.locator("#leaderboard tr[data-entry='deepseek-coder-v2'] td[data-key='mmlu_pro']")
    assert row.locator(".badge.src-imported").count() == 1
    cell = data.cell("deepseek-coder-v2", "mmlu_pro")
    assert f"{cell['samples']}/12032" in row.inner_text().replace(",", "")
    assert page.locator("#leaderboard tr[data-entry='gpt-4o'] .badge.src-reported").count() == 1
    assert page.locator("#leaderboard tr[data-entry='smollm2'] .badge.src-run").count() == 1
    # The board title and the entry's markup-laden display name are text, not markup.
    assert "Test board <b>not bold</b>" in page.inner_text("h1")
    assert HOSTILE_DISPLAY in page.inner_text(f"#leaderboard tr[data-entry='{HOSTILE_ENTRY}']")
    assert page.evaluate("window.__pwned") is None
    assert watched.errors == []


def test_sorting(site_world: SiteWorld, watched: Watched) -> None:
    page = watched.open(url(site_world.site, "index.html"))

    def scores() -> list[float | None]:
        return [float(v) if v else None for v in column_values(page, "leaderboard", "mmlu_pro")]

    header = page.locator("#leaderboard th[data-key='mmlu_pro']")
    header.click(position={"x": 2, "y": 2})
    assert header.get_attribute("aria-sort") == "descending"
    values = scores()
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True) and len(present) >= 3
    assert values[: len(present)] == present  # missing values stay at the bottom
    header.click(position={"x": 2, "y": 2})
    assert header.get_attribute("aria-sort") == "ascending"
    values = scores()
    assert [v for v in values if v is not None] == sorted(present)
    assert all(v is None for v in values[len(present) :])
    page.locator("#leaderboard th[data-key='entry']").click()
    names = column_values(page, "leaderboard", "entry")
    assert names == sorted(names, key=str.lower)
    assert watched.errors == []


def test_task_and_entry_pages_render_charts_without_errors(site_world: SiteWorld, watched: Watched) -> None:
    page = watched.open(url(site_world.site, "tasks/mmlu_pro.html"))
    charts = page.locator(".chart")
    assert charts.count() == 3  # scores with CIs, categories, score against cost
    assert page.locator(".chart .main-svg").count() >= 3
    # The error bars are drawn: plotly renders one path per bar.
    assert page.locator(".chart[data-figure='scores'] g.errorbar").count() >= 3
    assert page.locator(".chart[data-figure='cost'] .scatterlayer .trace").count() >= 2
    # The errored count stands next to the error rate (the errored sample counts as wrong).
    hostile = page.locator(f"#task-table tr[data-entry='{HOSTILE_ENTRY}']")
    assert hostile.locator("td").nth(4).inner_text().split() == ["20.0", "(1)"]
    assert "Runs not shown" in page.inner_text("main")
    assert "task version 0" in page.inner_text("ul.skipped")
    page = watched.open(url(site_world.site, "tasks/gpqa_diamond.html"))
    assert "not published" in page.inner_text("dl.facts")
    page = watched.open(url(site_world.site, "entries/qwen1.5-7b-chat.html"))
    assert page.locator(".chart .main-svg").count() >= 1
    assert "reported elsewhere" in page.inner_text(".chart")
    assert watched.errors == []


def test_sample_browser_shows_model_output_as_text(site_world: SiteWorld, watched: Watched) -> None:
    page = watched.open(url(site_world.site, f"samples/mmlu_pro/{HOSTILE_ENTRY}.html"))
    samples = page.locator("article.sample")
    assert samples.count() == 5
    first = samples.first
    first.locator("summary", has_text="Prompt").click()
    text = first.inner_text()
    assert '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">' in text
    # Nothing hostile became an element, and nothing ran.
    assert page.locator("#results script, #results img, #results b").count() == 0
    assert page.evaluate("window.__pwned") is None
    # Score details render generically: the test outcomes as a table, the judge verdict as key/value.
    details = first.locator("details", has_text="Score details")
    tests_row = details.locator("tr", has=page.locator("th", has_text=re.compile(r"^tests$")))
    assert tests_row.locator("table.rows tr").count() == 3  # header and two outcomes
    assert tests_row.locator("table.rows th").all_inner_texts() == [
        "#",
        "input",
        "passed",
        "time_s",
        "stderr",
    ]
    assert '<img src="x" onerror="window.__pwned = 6">' in details.inner_text()
    assert "A>>B" in details.inner_text()
    first.locator("summary", has_text="Reasoning").click()
    assert "<script>window.__pwned = 5</script>" in first.inner_text()
    assert page.evaluate("window.__pwned") is None
    assert watched.errors == []


def test_sample_browser_filters_search_and_pages(site_world: SiteWorld, watched: Watched) -> None:
    (run_dir,) = [r for r in iter_runs(site_world.runs) if r.entry == "qwen1.5-7b-chat"]
    records = list(latest_records(run_dir.read_records()).values())
    page = watched.open(url(site_world.site, "samples/mmlu_pro/qwen1.5-7b-chat.html"))
    status = page.locator("#status")
    assert status.inner_text().startswith("12032 of 12032 samples")
    assert page.locator("article.sample").count() == 20
    law = sum(1 for r in records if r.category == "law")
    page.select_option("#category", label="law")
    page.wait_for_function(f"document.getElementById('status').textContent.startsWith('{law} of')")
    assert set(page.locator("article.sample .tag").all_inner_texts()) == {"law"}
    page.select_option("#outcome", "unparsed")
    unparsed_law = sum(1 for r in records if r.category == "law" and r.score and not r.score.parsed)
    page.wait_for_function(f"document.getElementById('status').textContent.startsWith('{unparsed_law} of')")
    page.select_option("#category", "")
    page.select_option("#outcome", "")
    # Full-text search loads every part of the run lazily, then filters on prompt and completion text.
    needle = "ring homomorphism"
    expected = sum(
        1
        for r in records
        if needle in r.completion.text.lower() or any(needle in m.content.lower() for m in r.prompt.messages)
    )
    assert expected > 0
    page.fill("#q", needle)
    page.wait_for_function(
        f"document.getElementById('status').textContent.startsWith('{expected} of')", timeout=120_000
    )
    assert "q=ring+homomorphism" in page.evaluate("location.hash")
    page.fill("#q", "")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('12032 of')")
    first_page = page.locator("article.sample .sample-id").all_inner_texts()
    page.click("#next")
    page.wait_for_function("document.getElementById('status').textContent.includes('page 2 of')")
    assert page.locator("article.sample .sample-id").all_inner_texts() != first_page
    # A link to one sample opens it alone.
    target = records[123].sample_id
    page.goto(url(site_world.site, "samples/mmlu_pro/qwen1.5-7b-chat.html") + f"#id={target}")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('1 of')")
    assert page.locator("article.sample .sample-id").all_inner_texts() == [target]
    assert watched.errors == []


def test_gpqa_questions_are_not_published(site_world: SiteWorld, watched: Watched) -> None:
    (run_dir,) = [r for r in iter_runs(site_world.runs) if r.task == "gpqa_diamond"]
    records = list(latest_records(run_dir.read_records()).values())
    questions = [r.prompt.messages[-1].content[200:260] for r in records]
    completions = [r.completion.text for r in records if len(r.completion.text) > 20]
    site_text = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in site_world.site.rglob("*")
        if p.is_file() and p.suffix in (".html", ".js", ".json")
    )
    leaked = [q for q in questions + completions if q in site_text]
    assert not leaked, "GPQA text appears in the site"  # never print the questions themselves
    assert not list(site_world.site.glob("runs/gpqa_diamond/**/samples.jsonl.gz"))
    page = watched.open(url(site_world.site, "samples/gpqa_diamond/smollm2.html"))
    assert page.locator("article.sample").count() == 2
    assert page.locator("article.sample details").count() == 0
    assert "not published" in page.inner_text(".notice")
    assert watched.errors == []


@pytest.fixture
def served(site_world: SiteWorld) -> Iterator[str]:
    server = make_server(site_world.site, "127.0.0.1", 0, "/leaderboard-harness/")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_works_under_a_sub_path(served: str, watched: Watched) -> None:
    page = watched.open(f"{served}/leaderboard-harness/index.html")
    assert row_entries(page, "leaderboard")
    page.click("header nav a:has-text('MMLU-Pro')")
    page.wait_for_selector("body[data-ready='1']")
    assert page.url == f"{served}/leaderboard-harness/tasks/mmlu_pro.html"
    assert page.locator(".chart .main-svg").count() >= 3
    page.click("#task-table tr[data-entry='qwen1.5-7b-chat'] a:has-text('samples')")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("article.sample").count() == 20
    page.click("header a.brand")
    page.wait_for_selector("body[data-ready='1']")
    assert page.url == f"{served}/leaderboard-harness/index.html"
    # Nothing is served from the root: every link above was relative.
    response = page.request.get(f"{served}/index.html")
    assert response.status == 404
    assert watched.errors == []


def test_links_and_assets_are_relative_and_plotly_ships_once(site_world: SiteWorld) -> None:
    plotly_copies = [p for p in site_world.site.rglob("*.js") if "plotly" in p.name]
    assert [p.relative_to(site_world.site).as_posix() for p in plotly_copies] == ["static/plotly.min.js"]
    attribute = re.compile(r'(?:src|href)="([^"]*)"')
    for page in site_world.site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "fetch(" not in html
        for link in attribute.findall(html):
            if link.startswith("https://"):
                assert 'src="' + link not in html, f"{page}: external script {link}"
                continue
            assert not link.startswith(("/", "file:", "http:")), f"{page}: {link}"
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), f"{page}: broken link {link}"
    for script in (REPO / "site" / "static").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "fetch(" not in text and "eval(" not in text
    export = json.loads((site_world.site / "leaderboard.json").read_text(encoding="utf-8"))
    assert {"board", "leaderboard", "cells", "categories", "skipped"} <= set(export)
    assert len(export["cells"]) == 10


def test_rebuild_replaces_and_refuses_foreign_folders(site_world: SiteWorld, tmp_path: Path) -> None:
    board = load_board(site_world.board_path)
    out = tmp_path / "site"
    build_site(board, site_world.runs, out, shard_size=5000)
    (out / "stale.html").write_text("old")
    report = build_site(board, site_world.runs, out, shard_size=5000)
    assert not (out / "stale.html").exists() and report.pages > 10 and report.samples > 20000
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(ConfigError, match="not a site built by the harness"):
        build_site(board, site_world.runs, foreign)
    assert (foreign / "thesis.tex").read_text() == "keep me"


def test_script_json_cannot_close_its_script_element() -> None:
    text = script_json({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_pareto_front() -> None:
    points = [(1.0, 50.0), (2.0, 40.0), (3.0, 70.0), (0.5, 20.0), (3.0, 60.0), (5.0, 70.0)]
    assert pareto_front(points) == [(0.5, 20.0), (1.0, 50.0), (3.0, 70.0)]


def test_cli_build_serve_and_screenshot(site_world: SiteWorld, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    site = tmp_path / "built"
    completed = run_cli(
        "site", "build", str(site_world.board_path), "--runs", str(site_world.runs), "-o", str(site)
    )
    assert completed.returncode == 0, completed.stderr
    assert "pages" in completed.stdout and (site / "index.html").is_file()
    shots = tmp_path / "png"
    completed = run_cli("site", "screenshot", str(site), "-o", str(shots))
    assert completed.returncode == 0, completed.stderr
    names = sorted(p.name for p in shots.glob("*.png"))
    assert (
        "index.png" in names
        and "tasks__mmlu_pro.png" in names
        and any(n.startswith("samples__") for n in names)
    )
    for png in shots.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "site",
            "serve",
            str(site),
            "--port",
            "0",
            "--base-path",
            "/lb/",
        ],
        cwd=REPO,
        env={**_env(), "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/lb/", line)
        assert match, line
        import urllib.request

        with urllib.request.urlopen(
            f"http://127.0.0.1:{match.group(1)}/lb/index.html", timeout=10
        ) as response:
            assert b'id="leaderboard"' in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _env() -> dict[str, Any]:
    import os

    return dict(os.environ)


def test_rebuilds_reuse_unchanged_cells_and_redo_changed_ones(site_world: SiteWorld, tmp_path: Path) -> None:
    runs = tmp_path / "results"
    shutil.copytree(site_world.runs, runs)
    board = load_board(site_world.board_path)
    out = tmp_path / "site"
    first = build_site(board, runs, out, shard_size=500)
    assert first.exported == 4 and first.reused == 0  # four cells show a run
    shard = out / "data/samples/mmlu_pro/qwen1.5-7b-chat~0000.js"
    inode = shard.stat().st_ino

    again = build_site(board, runs, out, shard_size=500)
    assert again.exported == 0 and again.reused == 4
    assert shard.stat().st_ino == inode  # the same file, linked from the previous build, not rewritten

    # A retried sample in the hostile run: only its cell is exported again, and shows the new record.
    (hostile,) = [r for r in iter_runs(runs) if r.path.parent.name == HOSTILE_ENTRY and _shown_run(r, board)]
    (record, *_) = latest_records(hostile.read_records()).values()
    with hostile.appender() as appender:
        appender.append(record.model_copy(update={"score": None}))
    changed = build_site(board, runs, out, shard_size=500)
    assert changed.exported == 1 and changed.reused == 3
    assert shard.stat().st_ino == inode
    script = (out / f"data/samples/mmlu_pro/{HOSTILE_ENTRY}.js").read_text(encoding="utf-8")
    index = json.loads(script.removeprefix("harnessSamples.load(").removesuffix(");\n"))
    assert index["score"][index["id"].index(record.sample_id)] is None
    # A different shard size changes how every cell is shown: all are exported again.
    assert build_site(board, runs, out, shard_size=400).exported == 4


def _shown_run(run_dir: RunDir, board: Board) -> bool:
    data = aggregate(board, run_dir.path.parents[2])
    return run_dir.path in {chosen.path for chosen in data.chosen.values()}


def test_a_runs_samples_page_shows_its_task_parameters(site_world: SiteWorld) -> None:
    """The parameters in a run's identity (e.g. MMLU-Pro's protocol, chosen per entry) are on its page."""
    hosted = (site_world.site / "samples" / "mmlu_pro" / f"{HOSTILE_ENTRY}.html").read_text(encoding="utf-8")
    assert "Task parameters: <code>protocol=api</code> <code>shots=5</code>" in hosted
    imported = (site_world.site / "samples" / "mmlu_pro" / "qwen1.5-7b-chat.html").read_text(encoding="utf-8")
    assert "Task parameters: <code>shots=5</code></p>" in imported
