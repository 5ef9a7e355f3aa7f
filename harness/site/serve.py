"""A built site served over HTTP (optionally under a sub-path) and photographed by headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.site.encoding import safe_name
from harness.site.pages import MARKER

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
        if (site_dir / f"data/samples/{safe_name(c['task'])}/{safe_name(c['entry'])}~0000.js").is_file()
    ]
    measured = {c["entry"] for c in shown}
    ranked = [r["entry"] for r in data["leaderboard"] if r["entry"] in measured]
    if ranked:
        pages.append(site_dir / "entries" / f"{safe_name(ranked[0])}.html")
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
