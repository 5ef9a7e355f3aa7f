"""`harness ls`, `harness show` and `harness tasks`: what is in the store, and what can be run."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.common import DEFAULT_RUNS, RunsRoot, console, format_cost, format_metric
from harness.errors import HarnessError
from harness.store import RunDir, iter_runs, latest_records, resolve_run
from harness.types import RunResult, SampleRecord
from tasks import TASKS, get_task


def list_tasks() -> None:
    """The registered tasks, their protocol's headline metric, and the options each takes (-T)."""
    table = Table()
    for column in ("task", "version", "headline", "needs", "options (-T key=value)"):
        table.add_column(column)
    for name in sorted(TASKS):
        task = get_task(name)
        fields = task.options_model.model_fields
        options = ", ".join(
            f"{key}={field.default!r}" if field.default is not None else key for key, field in fields.items()
        )
        table.add_row(name, task.version, task.headline, ", ".join(sorted(task.needs)) or "-", options or "-")
    console.print(table)


def list_runs(runs: RunsRoot = DEFAULT_RUNS) -> None:
    """List runs with their status and headline metric."""
    table = Table()
    for column in ("task", "entry", "run", "status", "n", "headline (%)", "cost", "source"):
        table.add_column(column)
    for run_dir in iter_runs(runs):
        try:
            result = run_dir.read_result()
        except HarnessError as exc:
            table.add_row("?", "?", run_dir.path.name, f"[red]unreadable[/]: {exc}", "", "", "", "")
            continue
        headline = result.metrics.get(result.headline)
        source = result.spec.backend if result.provenance == "run" else result.provenance
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


def show(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="Run directory, task/entry/hash, or hash prefix.")
    ],
    samples: Annotated[int, typer.Option(help="How many samples to print.")] = 3,
    runs: RunsRoot = DEFAULT_RUNS,
) -> None:
    """Metrics, per-category breakdown and the first samples of one run."""
    run_dir = resolve_run(run_ref, runs)
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
    if result.judge_usage is not None:
        judge = result.judge_usage
        console.print(
            f"judge tokens in {judge.input_tokens:,} · out {judge.output_tokens:,} · "
            f"cost {format_cost(result.judge_cost_usd)}",
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
