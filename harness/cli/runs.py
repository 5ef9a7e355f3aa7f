"""`harness run`, `harness score` and `harness import`: make runs, score them again, import them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.common import (
    DEFAULT_RUNS,
    DataDir,
    ModelsPath,
    RichProgress,
    RunsRoot,
    TaskOptionArgs,
    Unsandboxed,
    Workers,
    console,
    err_console,
    format_cost,
    format_metric,
    parse_task_options,
    print_grading,
    shown,
    split_names,
    summary_table,
)
from harness.config import get_entry, load_models
from harness.cost import Budget
from harness.errors import ConfigError
from harness.importers import REPORTED_IMPORTERS, import_run
from harness.runner import (
    DEFAULT_MAX_ERROR_RATE,
    ClientPool,
    RunOptions,
    RunOutcome,
    execute,
    plan_run,
    rescore,
)
from harness.store import resolve_run
from tasks import get_task

RunRef = Annotated[str, typer.Argument(metavar="RUN", help="Run directory, task/entry/hash, or hash prefix.")]


def run(
    task: Annotated[list[str], typer.Option("--task", "-t", help="Task name(s); repeat or comma-separate.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model entry (default: the file's default).")
    ] = None,
    task_option: TaskOptionArgs = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Evaluate a deterministic, category-stratified subset.")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Repeats per sample (default: the task's).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed for shuffles, subsets and sampling.")] = None,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, max=2.0, help="Override the sampling temperature (0 to 2).")
    ] = None,
    top_p: Annotated[
        float | None, typer.Option("--top-p", min=0.0, max=1.0, help="Override nucleus sampling.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Override the generation limit.")
    ] = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate", min=0.0, max=1.0, help="Fail a run above this fraction of errored samples."
        ),
    ] = DEFAULT_MAX_ERROR_RATE,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            min=0.0,
            help="Spend at most this many USD in this command (all its tasks, judges included); the run "
            "stops before a request could exceed it and resumes on the next invocation.",
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the request cache.")
    ] = False,
    data_dir: DataDir = None,
    runs: RunsRoot = DEFAULT_RUNS,
    models: ModelsPath = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
) -> None:
    """Generate and score; the same command again resumes and never repeats finished samples.

    Exits with status 1 when a run failed (more errored samples than --max-error-rate) or was
    stopped by --max-cost."""
    models_file = load_models(models)
    entry = get_entry(models_file, model or models_file.default_entry, models)
    given = parse_task_options(task_option)
    tasks = [get_task(name, given) for name in split_names(task)]
    options = RunOptions(
        runs_root=runs,
        data_dir=data_dir,
        limit=limit,
        epochs=epochs,
        seed=seed,
        generation={"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens},
        max_error_rate=max_error_rate,
        budget=Budget(max_cost) if max_cost is not None else None,
        use_cache=not no_cache,
        models=models_file,
        workers=workers,
        unsandboxed=unsandboxed,
    )
    incomplete = False
    with ClientPool() as clients:
        for each in tasks:
            plan = plan_run(each, entry, options)
            for note in plan.notes:
                err_console.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
            outcome = execute(plan, options, progress=RichProgress(), client_factory=clients)
            print_grading(outcome.result)
            console.print(summary_table(outcome))
            if report_incomplete(outcome, options):
                incomplete = True
            if options.budget is not None and options.budget.refused:
                break
    if incomplete:
        raise typer.Exit(1)


def report_incomplete(outcome: RunOutcome, options: RunOptions) -> bool:
    """Explain a failed run or one stopped by the spending limit; True when there was one."""
    incomplete = False
    if outcome.result.status == "failed":
        incomplete = True
        errors = outcome.result.counts.errors
        err_console.print(
            f"[bold red]failed:[/] {errors} of {outcome.result.counts.planned} samples errored, more "
            f"than --max-error-rate {options.max_error_rate:g} allows "
            f"(`harness show {shown(outcome.run_dir.path)}` "
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


def score(
    run_ref: RunRef,
    task_option: TaskOptionArgs = None,
    runs: RunsRoot = DEFAULT_RUNS,
    data_dir: DataDir = None,
    models: ModelsPath = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
) -> None:
    """Score stored completions again with the current scorer (never calls the entry; a judged task
    asks its judge again, from the request cache where it can)."""
    options = RunOptions(
        runs_root=runs,
        data_dir=data_dir,
        models=load_models(models),
        workers=workers,
        unsandboxed=unsandboxed,
    )
    outcome = rescore(
        resolve_run(run_ref, runs),
        options,
        task_options=parse_task_options(task_option),
        progress=RichProgress(),
    )
    print_grading(outcome.result)
    console.print(summary_table(outcome))


def import_outputs(
    task: Annotated[
        str,
        typer.Argument(
            help="Task the outputs answer (e.g. mmlu_pro, livecodebench), or a source of reported results "
            f"({', '.join(sorted(REPORTED_IMPORTERS))}: one run per model)."
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
    task_option: TaskOptionArgs = None,
    data_dir: DataDir = None,
    runs: RunsRoot = DEFAULT_RUNS,
    models: ModelsPath = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
) -> None:
    """Score outputs generated elsewhere with our scorer, as an ordinary run marked as imported.

    For reported results, -T start_date=... -T end_date=... keep one date window."""
    given = parse_task_options(task_option)
    if task in REPORTED_IMPORTERS:
        import_reported(task, file, entry, model, given, runs)
        return
    if entry is None:
        raise ConfigError("--entry NAME is required: it names the external entry the outputs belong to.")
    if model is not None:
        raise ConfigError(
            f"--model applies to reported results ({', '.join(sorted(REPORTED_IMPORTERS))}), not to "
            f"importing {task!r} outputs."
        )
    options = RunOptions(
        runs_root=runs,
        data_dir=data_dir,
        models=load_models(models),
        workers=workers,
        unsandboxed=unsandboxed,
    )
    outcome = import_run(get_task(task, given), file, entry, options, progress=RichProgress())
    for note in outcome.result.notes:
        err_console.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
    print_grading(outcome.result)
    console.print(summary_table(outcome))


def import_reported(
    source: str, file: Path, entry: str | None, model: str | None, given: dict[str, str], runs: Path
) -> None:
    outcomes = REPORTED_IMPORTERS[source](file, runs_root=runs, entry=entry, model=model, options=given)
    table = Table(title=f"{shown(source)}: {len(outcomes)} run(s) of reported results", title_justify="left")
    for column in ("entry", "model", "problems", "pass@1 (%) [95% CI]", "run"):
        table.add_column(column)
    for outcome in outcomes:
        result = outcome.result
        reported = result.imported.reported_model if result.imported else None
        table.add_row(
            shown(result.spec.entry),
            shown(reported.display_name if reported else result.spec.model),
            str(result.counts.planned),
            escape(format_metric(result.metrics.get(result.headline))),
            shown(outcome.run_dir.path),
        )
    console.print(table)
