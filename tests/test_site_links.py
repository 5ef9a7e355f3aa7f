"""No page of a built site links anywhere but http(s) and its own files, whatever reached its data: a board
written by hand past validation, markup in display names. Every link of every page is clicked in a real
Chromium, and no script may run."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Browser, Dialog, Route, sync_playwright

from harness.board import load_board
from harness.site import build_site, launch_chromium
from tests.conftest import MODELS_FILE
from tests.site_helpers import HOSTILE_ENTRY, models_yaml, write_hostile_run

LINK_ENTRY = "link-model"
LINK_DISPLAY = "<a href=\"javascript:alert('display name')\">Link model</a>"
SAFE_URL = "https://example.org/paper"
# Each fills one reported figure's `url`, as a board written by hand could (the loader refuses them).
URLS = [
    "javascript:alert('plain')",
    "JaVaScRiPt:alert('mixed case')",
    " javascript:alert('leading space')",
    "java\tscript:alert('tab')",
    "data:text/html,<script>alert('data')</script>",
    SAFE_URL,
]
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def scheme_of(href: str) -> str | None:
    """The scheme a browser reads in an href: leading and trailing spaces and controls are stripped and
    tabs and newlines removed first (the URL standard)."""
    cleaned = re.sub(r"[\t\n\r]", "", href.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f "))
    match = SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def test_no_link_on_any_page_runs_script(tmp_path: Path, shared_data: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        models_yaml(MODELS_FILE)
        + f"""
  {LINK_ENTRY}:
    display_name: '{LINK_DISPLAY.replace("'", "''")}'
    organisation: <a href="javascript:alert('organisation')">org</a>
    backend: external
    model: link/model
""",
        encoding="utf-8",
    )
    board_path = tmp_path / "board.yaml"
    reported = "\n".join(
        f"  - {{entry: {entry}, task: {task}, value: 0.5, source: a paper, url: {SAFE_URL}}}"
        for entry in (HOSTILE_ENTRY, LINK_ENTRY, "gpt-4o")
        for task in ("mmlu_pro", "gpqa_diamond")
    )
    board_path.write_text(
        f"title: Links\nmodels: {models}\nentries: [{HOSTILE_ENTRY}, {LINK_ENTRY}, gpt-4o]\n"
        "tasks: [{id: mmlu_pro}, {id: gpqa_diamond}]\noverall: {min_tasks: 1}\n"
        f"reported:\n{reported}\n",
        encoding="utf-8",
    )
    board = load_board(board_path)
    for figure, url in zip(board.spec.reported, URLS, strict=True):
        figure.url = url  # past validation, as a hand-edited board or a future loader bug would be
    runs = tmp_path / "runs"
    write_hostile_run(runs, shared_data, board.models.entries[HOSTILE_ENTRY], limit=3)
    site = tmp_path / "site"
    build_site(board, runs, site)

    dialogs: list[str] = []
    external: list[str] = []

    def elsewhere(route: Route) -> None:
        external.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>elsewhere</p>")

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    clicked = []
    with sync_playwright() as playwright:
        browser: Browser = launch_chromium(playwright)
        try:
            context = browser.new_context()
            context.route(re.compile(r"^https?://"), elsewhere)
            page = context.new_page()
            page.on("dialog", dismiss)

            def reopen(address: str, *, charts: bool = True) -> None:
                if not charts:  # the links are all in the HTML: no need to wait for the charts
                    page.goto(address, wait_until="domcontentloaded")
                    return
                page.goto(address)
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)

            for html in sorted(site.rglob("*.html")):
                address = html.resolve().as_uri()
                reopen(address)
                # HTML and SVG (plotly) links alike.
                hrefs: list[str | None] = page.eval_on_selector_all(
                    "a", "links => links.map(a => a.getAttribute('href') ?? a.getAttribute('xlink:href'))"
                )
                charts = page.locator("svg a").count() > 0
                for index, href in enumerate(hrefs):
                    if href is None:
                        continue
                    assert scheme_of(href) in (None, "http", "https"), f"{html.name}: {href!r}"
                    if page.url != address:
                        reopen(address, charts=charts)
                    # Each click waits until it has led where it should: a run's records are a download,
                    # everything else a page.
                    link = page.locator("a").nth(index)
                    if href.endswith(".gz"):
                        with page.expect_download():
                            link.dispatch_event("click")
                    else:
                        with page.expect_navigation(url=urljoin(address, href), wait_until="commit"):
                            link.dispatch_event("click")
                    clicked.append(href)
        finally:
            browser.close()
    assert dialogs == []
    assert len(clicked) > 40 and clicked.count(SAFE_URL) == 1 and external == [SAFE_URL]
