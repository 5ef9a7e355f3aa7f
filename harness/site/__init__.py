"""A board's static site: pages (`pages`), charts (`figures`), the sample browser's data (`samples`),
and serving and screenshots (`serve`). The names below are the package's public interface."""

from harness.site.encoding import clean, records, script_json
from harness.site.figures import pareto_front
from harness.site.pages import MARKER, BuildReport, SiteWriter, build_site
from harness.site.samples import DEFAULT_SHARD_SIZE
from harness.site.serve import launch_chromium, main_pages, make_server, screenshot_site

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "MARKER",
    "BuildReport",
    "SiteWriter",
    "build_site",
    "clean",
    "launch_chromium",
    "main_pages",
    "make_server",
    "pareto_front",
    "records",
    "screenshot_site",
    "script_json",
]
