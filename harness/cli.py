"""The `harness` command: a thin layer over the runner, the store and the importers."""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import click
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

from harness.config import get_entry, load_models
from harness.cost import Budget
from harness.errors import HarnessError
from harness.hub import DATA_DIR_ENV
from harness.runner import (
    DEFAULT_MAX_ERROR_RATE,
    ClientPool,
    RunOptions,
    RunOutcome,
    execute,
    plan_run,
    rescore,
)
from harness.site_cli import board_app, site_app
from harness.store import RunDir, iter_runs, latest_records, resolve_run
from harness.task import get_task
from harness.types import Metric, RunResult, SampleRecord

OUTPUT_ENV = "HARNESS_OUTPUT_DIR"
DEFAULT_OUTPUT = Path("results")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run LLM benchmarks faithfully, resume them, and inspect the results.",
)
# Piped output is for files and scripts: do not wrap tables at rich's 80-column fallback.
PIPE_WIDTH = 180
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH)
err_console = Console(
    stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH
)
app.add_typer(site_app, name="site")
app.add_typer(board_app, name="board")

OutputDir = Annotated[
    Path, typer.Option("--output-dir", "-o", envvar=OUTPUT_ENV, help="Root folder of run directories.")
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

# Options of tasks that grade by executing code (LiveCodeBench); given to the task as typed options.
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", help="Grading worker processes (default: one per CPU).", rich_help_panel="Grading"
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
TestTimeout = Annotated[
    float | None,
    typer.Option(
        "--test-timeout", help="Seconds per test case (LiveCodeBench: 6).", rich_help_panel="Grading"
    ),
]
DATE_FORMATS = ["%Y-%m-%d"]
StartDate = Annotated[
    datetime | None,
    typer.Option(
        "--start-date", formats=DATE_FORMATS, help="Problems dated on/after this day.", rich_help_panel="Data"
    ),
]
EndDate = Annotated[
    datetime | None,
    typer.Option(
        "--end-date", formats=DATE_FORMATS, help="Problems dated up to this day.", rich_help_panel="Data"
    ),
]
Release = Annotated[
    str | None,
    typer.Option(
        "--release",
        help="LiveCodeBench release: release_v1..release_v6, v1..v6 or vA_vB.",
        rich_help_panel="Data",
    ),
]


def task_options(**given: Any) -> dict[str, Any]:
    """The task options actually given on the command line (unset flags and False switches left out)."""
    options: dict[str, Any] = {}
    for name, value in given.items():
        if value is None or value is False or value == []:
            continue
        if isinstance(value, datetime):
            value = value.date()
        elif isinstance(value, list):
            value = split_names(value)
        options[name] = value
    return options


def print_grading(result: RunResult) -> None:
    grading = result.grading
    if grading:
        err_console.print(
            f"[bold]grading:[/] isolation [bold]{escape(grading.isolation)}[/] · {grading.workers} "
            f"worker(s) · {grading.timeout_s}s per test — {escape(grading.mechanism)}; "
            f"{escape('; '.join(grading.protections))}",
            highlight=False,
        )
        if grading.failed:
            err_console.print(
                f"[red]{grading.failed} answer(s) could not be graded[/] (they stay unscored; run the "
                f"command again): {escape('; '.join(grading.failures[:3]))}",
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


def split_names(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


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


def summary_table(outcome: RunOutcome) -> Table:
    result = outcome.result
    table = Table(title=f"{result.spec.task} · {result.spec.entry} · {result.status}", title_justify="left")
    table.add_column("metric")
    table.add_column("value (%) [95% CI]", justify="right")
    table.add_column("n", justify="right")
    for name, metric in result.metrics.items():
        table.add_row(name, format_metric(metric), str(metric.n))
    timings = result.timings
    per_sample = timings.model_s / result.counts.generated if result.counts.generated else 0.0
    cached = f" (from cache {outcome.cached})" if outcome.cached else ""
    cost = (
        f" · cost {format_cost(result.cost_usd)} (this command {format_cost(outcome.cost_usd)})"
        if result.cost_usd is not None
        else ""
    )
    table.caption = (
        f"generated {outcome.generated}{cached}, reused {outcome.reused} · model {timings.model_s:.1f}s "
        f"({per_sample:.2f}s/sample) · total {timings.total_s:.1f}s{cost} · {outcome.run_dir.path}"
    )
    table.caption_justify = "left"
    return table


@app.command()
def run(
    task: Annotated[list[str], typer.Option("--task", "-t", help="Task name(s); repeat or comma-separate.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model entry (default: the file's default).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Evaluate a deterministic, category-stratified subset.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Repeats per sample (default: the task's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for shuffles, subsets and sampling.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Override the sampling temperature.")] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="Override nucleus sampling.")] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Override the generation limit.")
    ] = None,
    max_error_rate: Annotated[
        float, typer.Option("--max-error-rate", help="Fail a run above this fraction of errored samples.")
    ] = DEFAULT_MAX_ERROR_RATE,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            min=0.0,
            help="Spend at most this many USD in this command (all its tasks); the run stops before a "
            "request could exceed it and resumes on the next invocation.",
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the request cache.")
    ] = False,
    data_dir: DataDir = None,
    output_dir: OutputDir = DEFAULT_OUTPUT,
    models: ModelsPath = None,
    release: Release = None,
    start_date: StartDate = None,
    end_date: EndDate = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform", help="Only these platforms (leetcode, atcoder, codeforces).", rich_help_panel="Data"
        ),
    ] = None,
    difficulty: Annotated[
        list[str] | None,
        typer.Option(
            "--difficulty", help="Only these difficulties (easy, medium, hard).", rich_help_panel="Data"
        ),
    ] = None,
    contamination_free: Annotated[
        bool,
        typer.Option(
            "--contamination-free",
            help="Only problems released after the entry's knowledge_cutoff (models.yaml).",
            rich_help_panel="Data",
        ),
    ] = False,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
    test_timeout: TestTimeout = None,
) -> None:
    """Generate and score; the same command again resumes and never repeats finished samples.

    Exits with status 1 when a run failed (more errored samples than --max-error-rate) or was
    stopped by --max-cost."""
    models_file = load_models(models)
    entry = get_entry(models_file, model or models_file.default_entry, models)
    given = task_options(
        release=release,
        start_date=start_date,
        end_date=end_date,
        platform=platform,
        difficulty=difficulty,
        contamination_free=contamination_free,
        workers=workers,
        unsandboxed=unsandboxed,
        test_timeout=test_timeout,
    )
    tasks = [get_task(name, given) for name in split_names(task)]
    options = RunOptions(
        output_dir=output_dir,
        data_dir=data_dir,
        limit=limit,
        epochs=epochs,
        seed=seed,
        generation={"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens},
        max_error_rate=max_error_rate,
        budget=Budget(max_cost) if max_cost is not None else None,
        use_cache=not no_cache,
    )
    incomplete = False
    with ClientPool() as clients:
        for each in tasks:
            plan = plan_run(each, entry, options)
            for note in plan.notes:
                err_console.print(f"[yellow]note:[/] {note}")
            outcome = execute(plan, options, progress=RichProgress(), client_factory=clients)
            print_grading(outcome.result)
            console.print(summary_table(outcome))
            if report_incomplete(outcome, options, max_error_rate):
                incomplete = True
            if options.budget is not None and options.budget.refused:
                break
    if incomplete:
        raise typer.Exit(1)


def report_incomplete(outcome: RunOutcome, options: RunOptions, max_error_rate: float) -> bool:
    """Explain a failed run or one stopped by the spending limit; True when there was one."""
    incomplete = False
    if outcome.result.status == "failed":
        incomplete = True
        errors = outcome.result.counts.errors
        err_console.print(
            f"[bold red]failed:[/] {errors} of {outcome.result.counts.planned} samples errored, more "
            f"than --max-error-rate {max_error_rate:g} allows (`harness show {outcome.run_dir.path}` "
            "lists them); the same command retries only those samples.",
            highlight=False,
        )
    budget = options.budget
    if budget is not None and budget.refused:
        incomplete = True
        err_console.print(
            f"[bold yellow]stopped by --max-cost {format_cost(budget.limit_usd)}:[/] spent "
            f"{format_cost(budget.spent_usd)}; {outcome.not_sent} sample(s) of this run not sent. Run "
            "the same command again (with a higher --max-cost) to continue where it stopped.",
            highlight=False,
        )
    return incomplete


@app.command("ls")
def list_runs(output_dir: OutputDir = DEFAULT_OUTPUT) -> None:
    """List runs with their status and headline metric."""
    table = Table()
    for column in ("task", "entry", "run", "status", "n", "headline (%)", "cost", "source"):
        table.add_column(column)
    for run_dir in iter_runs(output_dir):
        try:
            result = run_dir.read_result()
        except HarnessError as exc:
            table.add_row("?", "?", run_dir.path.name, f"[red]unreadable[/]: {exc}", "", "", "", "")
            continue
        headline = result.metrics.get(result.headline)
        source = "imported" if result.imported else result.spec.backend
        table.add_row(
            result.spec.task,
            result.spec.entry,
            result.spec_hash,
            result.status,
            f"{result.counts.scored}/{result.counts.planned}",
            f"{result.headline} {format_metric(headline)}",
            format_cost(result.cost_usd),
            source,
        )
    console.print(table)


def _show_samples(records: list[SampleRecord], count: int) -> None:
    for record in records[:count]:
        completion = record.completion
        score = record.score
        console.rule(f"{record.sample_id} · epoch {record.epoch} · {record.category or ''}")
        console.print(
            f"[bold]prompt (end):[/] {record.prompt.messages[-1].content[-400:]}",
            markup=True,
            highlight=False,
        )
        if completion.reasoning:
            console.print(f"[bold]reasoning:[/] {completion.reasoning[:400]}", highlight=False)
        console.print(f"[bold]completion:[/] {completion.text[:800]}", highlight=False)
        verdict = (
            "error: " + completion.error
            if completion.error
            else (
                f"extracted {score.extracted!r} · target {record.prompt.target!r} · score {score.value}"
                if score
                else ""
            )
        )
        console.print(f"[bold]→[/] {verdict}", highlight=False)
        usage = completion.usage
        spent = " · from cache" if completion.cached else ""
        if completion.cost_usd is not None:
            spent += f" · {format_cost(completion.cost_usd)}"
        console.print(
            f"tokens in {usage.input_tokens:,} · out {usage.output_tokens:,}{spent}",
            style="dim",
            highlight=False,
        )


@app.command()
def show(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="Run directory, task/entry/hash, or hash prefix.")
    ],
    samples: Annotated[int, typer.Option(help="How many samples to print.")] = 3,
    output_dir: OutputDir = DEFAULT_OUTPUT,
) -> None:
    """Metrics, per-category breakdown and the first samples of one run."""
    run_dir = resolve_run(run_ref, output_dir)
    result = run_dir.read_result()
    _print_result(run_dir, result)
    records = list(latest_records(run_dir.read_records()).values())
    _show_samples(records, samples)


def _print_result(run_dir: RunDir, result: RunResult) -> None:
    spec = result.spec
    console.print(
        f"[bold]{spec.task}[/] v{spec.task_version} · [bold]{spec.entry}[/] ({spec.model}, {spec.backend})"
    )
    console.print(f"status {result.status} · {run_dir.path}")
    data = spec.data
    console.print(f"data {data.dataset} @ {data.revision or data.source} · fingerprint {data.fingerprint}")
    if result.imported:
        info = result.imported
        console.print(
            f"imported from {info.source_file} (sha256 {info.source_sha256[:12]}): "
            f"{info.records_imported} of {info.records_read} entries; skipped "
            f"{info.skipped_malformed} malformed, {info.skipped_unknown_id} unknown id, "
            f"{info.skipped_duplicate} duplicate"
        )
    metrics = Table(title="metrics", title_justify="left")
    for column in ("metric", "value (%) [95% CI]", "n"):
        metrics.add_column(column)
    for name, metric in result.metrics.items():
        metrics.add_row(name, format_metric(metric), str(metric.n))
    console.print(metrics)
    if result.categories:
        names = sorted({name for group in result.categories.values() for name in group})
        table = Table(title="by category", title_justify="left")
        table.add_column("category")
        for name in names:
            table.add_column(name, justify="right")
        table.add_column("n", justify="right")
        for category, group in result.categories.items():
            n = max((m.n for m in group.values()), default=0)
            table.add_row(category, *(format_metric(group.get(name)) for name in names), str(n))
        console.print(table)
    if result.grading:
        grading = result.grading
        console.print(
            f"graded with isolation [bold]{escape(grading.isolation)}[/] ({escape(grading.mechanism)}), "
            f"{grading.workers} worker(s), {grading.timeout_s}s per test",
            highlight=False,
        )
    usage = result.usage
    cached_tokens = f" (cached {usage.cached_input_tokens:,})" if usage.cached_input_tokens else ""
    reasoning = f" (reasoning {usage.reasoning_tokens:,})" if usage.reasoning_tokens else ""
    console.print(
        f"tokens in {usage.input_tokens:,}{cached_tokens} · out {usage.output_tokens:,}{reasoning} · "
        f"model time {result.timings.model_s:.1f}s of {result.timings.total_s:.1f}s",
        highlight=False,
    )
    if result.cost_usd is not None:
        from_cache = (
            f" · {result.counts.cached} sample(s) from the request cache" if result.counts.cached else ""
        )
        console.print(f"cost {format_cost(result.cost_usd)}{from_cache}", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


@app.command()
def score(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="Run directory, task/entry/hash, or hash prefix.")
    ],
    output_dir: OutputDir = DEFAULT_OUTPUT,
    data_dir: DataDir = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
    test_timeout: TestTimeout = None,
) -> None:
    """Score stored completions again with the current scorer (never calls the model)."""
    outcome = rescore(
        resolve_run(run_ref, output_dir),
        output_dir,
        data_dir=data_dir,
        task_options=task_options(workers=workers, unsandboxed=unsandboxed, test_timeout=test_timeout),
        progress=RichProgress(),
    )
    print_grading(outcome.result)
    console.print(summary_table(outcome))


@app.command("import")
def import_outputs(
    task: Annotated[
        str,
        typer.Argument(
            help="Task the outputs answer (e.g. mmlu_pro, livecodebench), or a source of reported results "
            "(livecodebench_leaderboard: one run per model)."
        ),
    ],
    file: Annotated[Path, typer.Argument(help="Published outputs: a file or a folder of files.")],
    entry: Annotated[
        str | None,
        typer.Option(
            "--entry",
            help="Name of the external entry the outputs belong to (for reported results without "
            "--model: also the model to import).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Reported results: import only this model (display name or id)."),
    ] = None,
    data_dir: DataDir = None,
    output_dir: OutputDir = DEFAULT_OUTPUT,
    release: Release = None,
    start_date: StartDate = None,
    end_date: EndDate = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
    test_timeout: TestTimeout = None,
) -> None:
    """Score outputs generated elsewhere with our scorer, as an ordinary run marked as imported."""
    from harness.importer import import_run
    from tasks import REPORTED_IMPORTERS

    if task in REPORTED_IMPORTERS:
        outcomes = REPORTED_IMPORTERS[task](
            file,
            output_dir=output_dir,
            entry=entry,
            model=model,
            start_date=start_date.date() if start_date else None,
            end_date=end_date.date() if end_date else None,
        )
        table = Table(title=f"{task}: {len(outcomes)} run(s) of reported results", title_justify="left")
        for column in ("entry", "model", "problems", "pass@1 (%) [95% CI]", "run"):
            table.add_column(column)
        for outcome in outcomes:
            result = outcome.result
            table.add_row(
                result.spec.entry,
                str(result.backend_info.get("display_name", result.spec.model)),
                str(result.counts.planned),
                format_metric(result.metrics.get(result.headline)),
                str(outcome.run_dir.path),
            )
        console.print(table)
        return
    if entry is None:
        raise HarnessError("--entry NAME is required: it names the external entry the outputs belong to.")
    if model is not None or start_date is not None or end_date is not None:
        raise HarnessError(
            f"--model, --start-date and --end-date apply to reported results "
            f"({', '.join(sorted(REPORTED_IMPORTERS))}), not to importing {task!r} outputs."
        )
    given = task_options(release=release, workers=workers, unsandboxed=unsandboxed, test_timeout=test_timeout)
    outcome = import_run(
        get_task(task, given), file, entry, data_dir=data_dir, output_dir=output_dir, progress=RichProgress()
    )
    for note in outcome.result.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    print_grading(outcome.result)
    console.print(summary_table(outcome))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = app(standalone_mode=False)
        if code == 130:
            # typer turns Ctrl-C (and SIGTERM, see _interrupt) into exit status 130.
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except HarnessError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted: everything scored so far is saved; run the same command to resume.")
        sys.exit(130)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
