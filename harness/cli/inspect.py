"""`harness ls`, `harness show` and `harness tasks`: what is in the store, and what can be run."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.common import (
    DEFAULT_RUNS,
    RunsRoot,
    console,
    errored_note,
    format_cost,
    format_metric,
    shown,
)
from harness.errors import HarnessError
from harness.importers import REPORTED_IMPORTERS
from harness.store import RunDir, iter_run_dirs, latest_records, resolve_run
from harness.task import Task, identity_options
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
    """List runs with their status and headline metric, and the command that completes each run that is
    not complete (interrupted before it wrote its run.json, unreadable, partial or failed)."""
    table = Table()
    for column in ("task", "entry", "run", "status", "n", "headline (%)", "errors", "cost", "source"):
        table.add_column(column)
    to_complete: list[tuple[RunDir, str]] = []
    for run_dir in iter_run_dirs(runs):
        where = (shown(run_dir.task), shown(run_dir.entry), shown(run_dir.spec_hash))
        if not run_dir.exists():
            saved = _saved_records(run_dir)
            count = "?" if saved is None else f"{len(saved)} saved"
            table.add_row(*where, "[red]interrupted[/] (no run.json)", count, "-", "-", "-", _kind(saved))
            to_complete.append((run_dir, guess_completion(run_dir, saved, runs)))
            continue
        try:
            result = run_dir.read_result()
        except HarnessError as exc:
            saved = _saved_records(run_dir)
            count = "?" if saved is None else f"{len(saved)} saved"
            table.add_row(*where, f"[red]unreadable[/]: {shown(exc)}", count, "-", "-", "-", _kind(saved))
            to_complete.append(
                (
                    run_dir,
                    f"its run.json is damaged: delete {run_dir.run_path}, then "
                    + guess_completion(run_dir, saved, runs),
                )
            )
            continue
        headline = result.metrics.get(result.headline)
        source = result.spec.backend if result.provenance == "run" else result.provenance
        table.add_row(
            shown(result.spec.task),
            shown(result.spec.entry),
            shown(result.spec_hash),
            shown(result.status),
            f"{result.counts.scored}/{result.counts.planned}",
            f"{shown(result.headline)} {escape(format_metric(headline))}",
            str(result.counts.errors) if result.provenance != "reported" else "-",
            format_cost(result.cost_usd),
            shown(source),
        )
        if result.status != "complete":
            to_complete.append((run_dir, completion_command(result, runs)))
    console.print(table)
    if to_complete:
        console.print("[bold]to complete:[/]")
        for run_dir, command in to_complete:
            console.print(f"  {shown(run_dir.relative())}: {shown(command)}", highlight=False, soft_wrap=True)


def _saved_records(run_dir: RunDir) -> list[SampleRecord] | None:
    try:
        return list(latest_records(run_dir.read_records()).values())
    except HarnessError:
        return None


def _kind(saved: list[SampleRecord] | None) -> str:
    if not saved:
        return "?"
    if _reported(saved):
        return "reported"
    return "imported" if _imported(saved) else "run"


def _reported(saved: list[SampleRecord]) -> bool:
    return all(r.score is not None and r.score.details.get("reported") is True for r in saved)


def _imported(saved: list[SampleRecord]) -> bool:
    # Generated completions carry their latency (or are marked as answered from the cache); imported ones
    # have neither, nor any token counts.
    return all(
        not r.completion.latency_s
        and not r.completion.cached
        and not any(r.completion.usage.model_dump().values())
        for r in saved
    )


def completion_command(result: RunResult, runs: Path) -> str:
    """The command that completes (or, for a failed run, retries) this run, from its run.json."""
    spec = result.spec
    task = _registered(spec.task)
    options = _task_option_args(task, spec.task_params)
    data = ["--data-dir", spec.data.data_dir] if spec.data.data_dir else []
    if result.provenance == "reported" and result.imported is not None:
        reported = result.imported.reported_model
        model = ["--model", reported.display_name] if reported is not None else []
        words = ["harness", "import", _reported_importer(spec.task), result.imported.source_file, *model]
        return shlex.join([*words, "--entry", spec.entry, *options, "--runs", str(runs)])
    if result.provenance == "imported" and result.imported is not None:
        words = ["harness", "import", spec.task, result.imported.source_file, "--entry", spec.entry]
        return shlex.join([*words, *data, *options, "--runs", str(runs)])
    words = ["harness", "run", "-t", spec.task, "-m", spec.entry]
    if spec.limit is not None:
        words += ["--limit", str(spec.limit)]
    if task is None or spec.epochs != task.default_epochs:
        words += ["--epochs", str(spec.epochs)]
    if spec.seed:
        words += ["--seed", str(spec.seed)]
    if spec.generation is not None:
        defaults = task.generation_defaults() if task is not None else None
        for flag, name in (
            ("--temperature", "temperature"),
            ("--top-p", "top_p"),
            ("--max-tokens", "max_tokens"),
        ):
            value = getattr(spec.generation, name)
            if defaults is None or value != getattr(defaults, name):
                words += [flag, str(value)]
    return shlex.join([*words, *options, *data, "--runs", str(runs)])


def guess_completion(run_dir: RunDir, saved: list[SampleRecord] | None, runs: Path) -> str:
    """What completes a run directory that has no run.json, from what its records tell."""
    task, entry = run_dir.task, run_dir.entry
    if not saved:
        return (
            f"nothing readable was saved before it stopped: run the command that made it again, or delete "
            f"{run_dir.path}"
        )
    if _reported(saved):
        words = ["harness", "import", _reported_importer(task), "FILE", "--model", entry, "--entry", entry]
        return (
            f"{shlex.join([*words, '--runs', str(runs)])}, where FILE is the file of reported results it was "
            "importing (add the -T window it was imported with, if any); it stopped before writing run.json"
        )
    if _imported(saved):
        words = ["harness", "import", task, "FILE", "--entry", entry, "--runs", str(runs)]
        return (
            f"{shlex.join(words)}, where FILE is the published outputs it was importing "
            f"({saved[0].completion.model or 'unnamed'!r}), with the --data-dir and -T options it was given; "
            "it stopped before writing run.json, and importing again redoes it whole"
        )
    epochs = max(r.epoch for r in saved) + 1
    words = ["harness", "run", "-t", task, "-m", entry, "--runs", str(runs)]
    return (
        f"{shlex.join(words)} with the options it was started with (--limit, --epochs (at least {epochs}), "
        "--seed, --data-dir, decoding options, -T): they are not recorded here, and the same options lead "
        f"back to {run_dir.spec_hash} and resume it from its {len(saved)} saved record(s)"
    )


def _registered(name: str) -> Task | None:
    try:
        return get_task(name)
    except HarnessError:
        return None


def _reported_importer(task: str) -> str:
    names = [name for name in REPORTED_IMPORTERS if name.startswith(task)]
    return names[0] if len(names) == 1 else "SOURCE"


def _task_option_args(task: Task | None, params: dict[str, Any]) -> list[str]:
    """-T KEY=VALUE for each task option of the run that differs from the task's default."""
    if task is None:
        return []
    defaults = task.params()
    args = []
    for key, value in sorted(identity_options(task.options_model, params).items()):
        if value is None or value == defaults.get(key):
            continue
        if isinstance(value, list):
            text = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = str(value)
        args += ["-T", f"{key}={text}"]
    return args


def _show_samples(records: list[SampleRecord], count: int) -> None:
    for record in records[:count]:
        completion = record.completion
        score = record.score
        console.rule(shown(f"{record.sample_id} · epoch {record.epoch} · {record.category or ''}"))
        prompt_end = record.prompt.messages[-1].content[-400:] if record.prompt.messages else ""
        console.print(f"[bold]prompt (end):[/] {shown(prompt_end)}", highlight=False)
        if completion.reasoning:
            console.print(f"[bold]reasoning:[/] {shown(completion.reasoning[:400])}", highlight=False)
        console.print(f"[bold]completion:[/] {shown(completion.text[:800])}", highlight=False)
        verdict = (
            "error: " + completion.error
            if completion.error
            else (
                f"extracted {score.extracted!r} · target {record.prompt.target!r} · score {score.value}"
                if score
                else ""
            )
        )
        console.print(f"[bold]→[/] {shown(verdict)}", highlight=False)
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
    samples: Annotated[int, typer.Option(min=0, help="How many samples to print.")] = 3,
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
        f"[bold]{shown(spec.task)}[/] v{shown(spec.task_version)} · [bold]{shown(spec.entry)}[/] "
        f"({shown(spec.model)}, {shown(spec.backend)})",
        highlight=False,
    )
    errored = errored_note(result)
    console.print(
        f"status {shown(result.status)}{' · ' + errored if errored else ''} · {shown(run_dir.path)}",
        highlight=False,
    )
    data = spec.data
    console.print(
        shown(f"data {data.dataset} @ {data.revision or data.source} · fingerprint {data.fingerprint}"),
        highlight=False,
    )
    if result.imported:
        info = result.imported
        console.print(
            f"imported from {shown(info.source_file)} (sha256 {shown(info.source_sha256[:12])}): "
            f"{info.records_imported} of {info.records_read} entries; skipped "
            f"{info.skipped_malformed} malformed, {info.skipped_unknown_id} unknown id, "
            f"{info.skipped_duplicate} duplicate",
            highlight=False,
        )
    metrics = Table(title="metrics", title_justify="left")
    for column in ("metric", "value (%) [95% CI]", "n"):
        metrics.add_column(column)
    for name, metric in result.metrics.items():
        metrics.add_row(shown(name), escape(format_metric(metric)), str(metric.n))
    console.print(metrics)
    if result.categories:
        names = sorted({name for group in result.categories.values() for name in group})
        table = Table(title="by category", title_justify="left")
        table.add_column("category")
        for name in names:
            table.add_column(shown(name), justify="right")
        table.add_column("n", justify="right")
        for category, group in result.categories.items():
            n = max((m.n for m in group.values()), default=0)
            cells = (escape(format_metric(group.get(name))) for name in names)
            table.add_row(shown(category), *cells, str(n))
        console.print(table)
    if result.grading:
        grading = result.grading
        console.print(
            f"graded with isolation [bold]{shown(grading.isolation)}[/] ({shown(grading.mechanism)}), "
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
        console.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
