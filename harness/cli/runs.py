"""`harness run`, `harness score`, `harness import` and `harness merge`: make runs, score them again,
import them, merge their shards."""

from __future__ import annotations

from enum import StrEnum
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
from harness.importers import REPORTED_IMPORTERS, import_judgments, import_lm_eval, import_run
from harness.jobs import Job, job_options, merge_runs, plan_job, run_plan
from harness.jobs.ray import JobState, run_on_ray
from harness.runner import (
    DEFAULT_MAX_ERROR_RATE,
    ClientPool,
    RunOptions,
    RunOutcome,
    rescore,
)
from harness.runner.shard import Shard
from harness.store import resolve_run
from tasks import get_task
from tasks.arena_hard import ArenaHard

# `harness import lm_eval FOLDER`: an lm-eval output folder (one run per top-level task or group).
LM_EVAL_IMPORT = "lm_eval"


class Executor(StrEnum):
    local = "local"
    ray = "ray"


RunRef = Annotated[str, typer.Argument(metavar="RUN", help="Run directory, task/entry/hash, or hash prefix.")]


Limit = Annotated[
    int | None, typer.Option(min=1, help="Evaluate a deterministic, category-stratified subset.")
]
Epochs = Annotated[int | None, typer.Option(min=1, help="Repeats per sample (default: the task's).")]
Seed = Annotated[int | None, typer.Option(min=0, help="Seed for shuffles, subsets and sampling.")]
Temperature = Annotated[
    float | None, typer.Option(min=0.0, max=2.0, help="Override the sampling temperature (0 to 2).")
]
TopP = Annotated[float | None, typer.Option("--top-p", min=0.0, max=1.0, help="Override nucleus sampling.")]
MaxTokens = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Override the generation limit.")]
MaxErrorRate = Annotated[
    float,
    typer.Option(
        "--max-error-rate", min=0.0, max=1.0, help="Fail a run above this fraction of errored samples."
    ),
]
MaxCost = Annotated[
    float | None,
    typer.Option(
        "--max-cost",
        min=0.0,
        help="Spend at most this many USD in this command (all its tasks, judges included); the run "
        "stops before a request could exceed it and resumes on the next invocation.",
    ),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the request cache.")]
ShardOption = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Run only shard I of N of each run (a deterministic split; `harness merge` joins them).",
        rich_help_panel="Scale-out",
    ),
]
ExecutorOption = Annotated[
    Executor,
    typer.Option(
        help="Where jobs run: here, one after another, or as Ray tasks.", rich_help_panel="Scale-out"
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        envvar="RAY_ADDRESS",
        help="The Ray cluster to use (default: start Ray on this machine).",
        rich_help_panel="Scale-out",
    ),
]


def run(
    task: Annotated[list[str], typer.Option("--task", "-t", help="Task name(s); repeat or comma-separate.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model entry (default: the file's default).")
    ] = None,
    task_option: TaskOptionArgs = None,
    limit: Limit = None,
    epochs: Epochs = None,
    seed: Seed = None,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_tokens: MaxTokens = None,
    max_error_rate: MaxErrorRate = DEFAULT_MAX_ERROR_RATE,
    max_cost: MaxCost = None,
    no_cache: NoCache = False,
    data_dir: DataDir = None,
    runs: RunsRoot = DEFAULT_RUNS,
    models: ModelsPath = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
    shard: ShardOption = None,
    executor: ExecutorOption = Executor.local,
    ray_address: RayAddress = None,
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
    jobs = [Job(entry, each, Shard.parse(shard) if shard else None) for each in tasks]
    if executor is Executor.ray:
        incomplete = run_remotely(jobs, options, ray_address)
    else:
        incomplete = run_here(jobs, options)
    if incomplete:
        raise typer.Exit(1)


def run_remotely(jobs: list[Job], options: RunOptions, ray_address: str | None) -> bool:
    """The jobs as Ray tasks; whether any ended incomplete."""
    incomplete = False
    for outcome in run_on_ray(jobs, options, address=ray_address, report=RayReport()):
        console.print(summary_table(outcome))
        incomplete = report_incomplete(outcome, options) or incomplete
    return incomplete


def run_here(jobs: list[Job], options: RunOptions) -> bool:
    """The jobs one after another in this process, with live progress; whether any ended incomplete."""
    incomplete = False
    with ClientPool() as clients:
        for job in jobs:
            plan = plan_job(job.task, job.entry, job_options(options, job))
            for note in plan.notes:
                err_console.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
            outcome = run_plan(
                plan, job_options(options, job), progress=RichProgress(), client_factory=clients
            )
            print_grading(outcome.result)
            console.print(summary_table(outcome))
            incomplete = report_incomplete(outcome, options) or incomplete
            if options.budget is not None and options.budget.refused:
                break
    return incomplete


class RayReport:
    """Prints each job's progress when it changes (Ray jobs run elsewhere; no live bars)."""

    def __init__(self) -> None:
        self.shown: dict[str, tuple[int, str]] = {}

    def __call__(self, jobs: list[JobState]) -> None:
        for job in jobs:
            step = (job.done * 10 // job.total if job.total else 0, job.state)
            if self.shown.get(job.label) != step:
                self.shown[job.label] = step
                err_console.print(
                    f"[bold]{job.label}[/]: {job.state} {job.done}/{job.total}", highlight=False
                )


def merge(
    run_refs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN...",
            help="The shard runs to merge (directory, task/entry/hash or hash prefix); one finds the rest.",
        ),
    ],
    runs: RunsRoot = DEFAULT_RUNS,
    models: ModelsPath = None,
    data_dir: DataDir = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate", min=0.0, max=1.0, help="Fail the run above this fraction of errors."
        ),
    ] = DEFAULT_MAX_ERROR_RATE,
) -> None:
    """Merge the shards of a run (`harness run --shard i/n`) into the whole run, as one unsharded run
    would have written it."""
    options = RunOptions(
        runs_root=runs, data_dir=data_dir, models=load_models(models), max_error_rate=max_error_rate
    )
    outcome = merge_runs([resolve_run(ref, runs) for ref in run_refs], options)
    console.print(summary_table(outcome))
    console.print(str(outcome.run_dir.path), highlight=False, soft_wrap=True)


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
            help="Task the outputs answer (e.g. mmlu_pro, livecodebench), a source of reported results "
            f"({', '.join(sorted(REPORTED_IMPORTERS))}: one run per model), or lm_eval (an lm-eval output "
            "folder: one run per task or group)."
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
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Judgments (arena_hard, arena_hard_v2): FILE is a folder of model_judgment/<judge>/*.jsonl "
            "made against this baseline (its model name in the files); one run per model.",
        ),
    ] = None,
    task_option: TaskOptionArgs = None,
    data_dir: DataDir = None,
    runs: RunsRoot = DEFAULT_RUNS,
    models: ModelsPath = None,
    workers: Workers = None,
    unsandboxed: Unsandboxed = False,
) -> None:
    """Score outputs generated elsewhere with our scorer, as an ordinary run marked as imported.

    For reported results, -T start_date=... -T end_date=... keep one date window. With --baseline,
    judgments made elsewhere become runs (Arena-Hard)."""
    given = parse_task_options(task_option)
    if baseline is not None:
        judged = get_task(task, given)
        if not isinstance(judged, ArenaHard):
            raise ConfigError(f"--baseline imports Arena-Hard judgments; {task!r} is not an Arena-Hard task.")
        outcomes = import_judgments(file, judged, runs_root=runs, baseline=baseline, entry=entry, model=model)
        print_reported(f"{task}: {len(outcomes)} run(s) from judgments", outcomes)
        return
    if task in REPORTED_IMPORTERS:
        import_reported(task, file, entry, model, given, runs)
        return
    if task == LM_EVAL_IMPORT:
        for outcome in import_lm_eval(file, runs_root=runs, entry=entry, options=given):
            console.print(summary_table(outcome))
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
    print_reported(f"{shown(source)}: {len(outcomes)} run(s) of reported results", outcomes)


def print_reported(title: str, outcomes: list[RunOutcome]) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("entry", "model", "items", "headline (%) [CI]", "run"):
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
