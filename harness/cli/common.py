"""What the `harness` commands share: consoles, option types, task options, progress and formatting."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness.errors import ConfigError
from harness.hub import DATA_DIR_ENV
from harness.runner import RunOutcome
from harness.types import Metric, RunResult, SampleRecord

RUNS_ENV = "HARNESS_RUNS"
# The runs folder's former name; still honoured.
RUNS_ENV_ALIAS = "HARNESS_OUTPUT_DIR"
DEFAULT_RUNS = Path("results")

# Piped output is for files and scripts: do not wrap tables at rich's 80-column fallback.
PIPE_WIDTH = 180
# No `:name:` emoji codes: text from models and files is printed as it is.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH, emoji=False)
err_console = Console(
    stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH, emoji=False
)

# What a terminal would act on rather than show: C0 and C1 control characters but newline and tab (ESC
# starts colour, title and clear-screen sequences; CR and backspace overwrite what was printed), and the
# invisible bidirectional controls that reorder what follows them.
_TERMINAL_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def shown(text: object) -> str:
    """Text that did not come from the harness itself (model output, imported or stored files, names,
    paths, error messages quoting them), ready to print: every control character and bidirectional
    override is shown as its escape (`\\x1b`, `\\u202e`) instead of acting on the terminal, and rich
    markup in it is printed as text."""
    text = str(text).replace("\r\n", "\n")
    visible = _TERMINAL_CONTROLS.sub(
        lambda match: match.group().encode("unicode_escape").decode("ascii"), text
    )
    return escape(visible)


RUNS_HELP = "Root folder of run directories (--output-dir is its former name)."
RunsRoot = Annotated[
    Path,
    typer.Option("--runs", "--output-dir", "-r", "-o", envvar=[RUNS_ENV, RUNS_ENV_ALIAS], help=RUNS_HELP),
]
# For the board and site commands, where -o names the site's folder.
BoardRunsRoot = Annotated[
    Path, typer.Option("--runs", "--output-dir", "-r", envvar=[RUNS_ENV, RUNS_ENV_ALIAS], help=RUNS_HELP)
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar=DATA_DIR_ENV,
        help="Local data folder (laid out like the hub files); else the hub.",
    ),
]
ModelsPath = Annotated[
    Path | None, typer.Option("--models", help="Models file (default: leaderboards/models.yaml).")
]
TaskOptionArgs = Annotated[
    list[str] | None,
    typer.Option(
        "--task-option",
        "-T",
        metavar="KEY=VALUE",
        help="A task option (repeatable; `harness tasks` lists each task's options), e.g. "
        "-T start_date=2024-08-01 -T judge=gpt-4.1.",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Grading worker processes (default: one per CPU).", rich_help_panel="Grading"
    ),
]
Unsandboxed = Annotated[
    bool,
    typer.Option(
        "--unsandboxed",
        help="Run generated code WITHOUT isolation (resource limits only): it can read your files and "
        "use the network. Only for trusted code or machines with no sandbox.",
        rich_help_panel="Grading",
    ),
]


def parse_task_options(pairs: list[str] | None) -> dict[str, Any]:
    """`-T key=value` pairs; a key given twice collects its values (`-T platform=a -T platform=b`)."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(
                f"-T {pair!r}: give a task option as KEY=VALUE (e.g. -T start_date=2024-08-01)."
            )
        value = value.strip()
        options[key] = f"{options[key]},{value}" if key in options else value
    return options


def split_names(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def print_grading(result: RunResult) -> None:
    grading = result.grading
    if grading:
        err_console.print(
            f"[bold]grading:[/] isolation [bold]{shown(grading.isolation)}[/] · {grading.workers} "
            f"worker(s) · {grading.timeout_s}s per test — {shown(grading.mechanism)}; "
            f"{shown('; '.join(grading.protections))}",
            highlight=False,
        )
        if grading.failed:
            err_console.print(
                f"[red]{grading.failed} answer(s) could not be graded[/] (they stay unscored; run the "
                f"command again): {shown('; '.join(grading.failures[:3]))}",
                highlight=False,
            )


class RichProgress:
    """A progress bar with rate and ETA, and the running headline score."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[score]}"),
            console=err_console,
            transient=False,
        )
        self._task_id: Any = None
        self._values: list[float] = []
        self._started = 0
        self._done = 0

    def start(self, description: str, total: int, completed: int) -> None:
        self._values = []
        self._started = completed
        self._done = completed
        self._progress.start()
        self._task_id = self._progress.add_task(
            description, total=total, completed=completed, rate="", score=""
        )

    def advance(self, record: SampleRecord) -> None:
        if record.score is not None:
            self._values.append(record.score.value)
        self._done += 1
        task = self._progress.tasks[0] if self._progress.tasks else None
        elapsed = task.elapsed if task is not None and task.elapsed else 0.0
        generated = self._done - self._started
        rate = f"{generated / elapsed:.2f}/s" if elapsed > 0 else ""
        score = f"score {sum(self._values) / len(self._values):.3f}" if self._values else ""
        self._progress.update(self._task_id, advance=1, rate=rate, score=score)

    def finish(self) -> None:
        self._progress.stop()


def format_metric(metric: Metric | None, *, percent: bool = True) -> str:
    if metric is None:
        return "-"
    scale, unit = (100.0, "") if percent else (1.0, "")
    text = f"{metric.value * scale:.2f}{unit}"
    if metric.ci_low is not None and metric.ci_high is not None and metric.ci_low != metric.ci_high:
        text += f" [{metric.ci_low * scale:.2f}, {metric.ci_high * scale:.2f}]"
    return text


def format_cost(cost_usd: float | None) -> str:
    if cost_usd is None:
        return "-"
    if cost_usd == 0:
        return "$0"
    return f"${cost_usd:.4f}" if cost_usd < 10 else f"${cost_usd:,.2f}"


def errored_note(result: RunResult) -> str:
    """The errored count shown next to a run's score ("" when none): unless its task says otherwise,
    those samples count as wrong in the score."""
    errors = result.counts.errors
    return f"{errors} of {result.counts.planned} errored" if errors else ""


def summary_table(outcome: RunOutcome) -> Table:
    result = outcome.result
    errored = errored_note(result)
    title = shown(
        f"{result.spec.task} · {result.spec.entry} · {result.status}" + (f" · {errored}" if errored else "")
    )
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value (%) [95% CI]", justify="right")
    table.add_column("n", justify="right")
    for name, metric in result.metrics.items():
        table.add_row(shown(name), escape(format_metric(metric)), str(metric.n))
    timings = result.timings
    per_sample = timings.model_s / result.counts.generated if result.counts.generated else 0.0
    cached = f" (from cache {outcome.cached})" if outcome.cached else ""
    cost = (
        f" · cost {format_cost(result.cost_usd)} (this command {format_cost(outcome.cost_usd)})"
        if result.cost_usd is not None
        else ""
    )
    judge = ""
    if result.judge_usage is not None:
        usage = result.judge_usage
        judge = (
            f" · judge tokens in {usage.input_tokens:,} out {usage.output_tokens:,}, "
            f"cost {format_cost(result.judge_cost_usd)}"
        )
    table.caption = (
        f"generated {outcome.generated}{cached}, reused {outcome.reused} · model {timings.model_s:.1f}s "
        f"({per_sample:.2f}s/sample) · total {timings.total_s:.1f}s{cost}{judge} · "
        f"{shown(outcome.run_dir.path)}"
    )
    table.caption_justify = "left"
    return table
