"""The scoring context a task receives: what it declares in `needs`, resolved for one run.

- `data`: the loaded data (hidden tests and other per-sample resources).
- `judge`: the entry the task's `judge` option names, called through the run's cache and spending limit.
- `baseline`: the answers of the entry its `baseline` option names — from the task's own published
  answers when its data carries them (`resources["baselines"][entry]`), else from the fullest run of
  that entry on the same task in the store.
- `sandbox`: the isolation untrusted code runs under (probed once; refused without isolation unless
  `--unsandboxed`), and the number of grading workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cache import RequestCache
from harness.config import ModelsFile, get_entry, load_models
from harness.errors import ConfigError
from harness.runner.calls import CallStats, ClientFactory, JudgeClient, ModelCalls, check_priced
from harness.runner.plan import RunOptions
from harness.sandbox import select_isolation
from harness.store import latest_records, readable_runs
from harness.task import Baseline, LoadedData, ScoringContext, Task
from harness.types import Completion


@dataclass
class ScoringResources:
    """Opened for one run's scoring and closed after it; `judge_stats` counts the judge's calls."""

    context: ScoringContext
    judge: JudgeClient | None = None
    cache: RequestCache | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def judge_stats(self) -> CallStats | None:
        return self.judge.stats if self.judge is not None else None


@contextmanager
def scoring_context(
    task: Task,
    loaded: LoadedData | None,
    options: RunOptions,
    client_factory: ClientFactory,
    run_dir: Path | None = None,
) -> Iterator[ScoringResources]:
    needs = task.needs
    resources = ScoringResources(ScoringContext())
    try:
        judge = _judge(task, options, client_factory, resources) if "judge" in needs else None
        baseline = _baseline(task, loaded, options) if "baseline" in needs else None
        isolation = select_isolation(unsandboxed_ok=options.unsandboxed) if "sandbox" in needs else None
        resources.context = ScoringContext(
            data=loaded if "data" in needs or "baseline" in needs else None,
            judge=judge,
            baseline=baseline,
            isolation=isolation,
            workers=options.workers or max(1, os.cpu_count() or 1),
            run_dir=run_dir,
        )
        if baseline is not None:
            resources.notes.append(f"baseline {baseline.entry}: answers from {baseline.source}")
        yield resources
    finally:
        if resources.judge is not None:
            resources.judge.close()
        if resources.cache is not None:
            resources.cache.close()


def _models(options: RunOptions) -> ModelsFile:
    return options.models if options.models is not None else load_models()


def _judge(
    task: Task, options: RunOptions, client_factory: ClientFactory, resources: ScoringResources
) -> JudgeClient:
    name = task.judge
    if name is None:
        raise ConfigError(f"task {task.name!r} needs a judge: give one with -T judge=ENTRY (an entry id).")
    entry = get_entry(_models(options), name)
    if entry.backend == "external":
        raise ConfigError(f"judge {name!r} is external (known only through published results); pick another.")
    check_priced(entry, options.budget, "judge")
    resources.cache = options.open_cache()
    resources.judge = JudgeClient(ModelCalls(entry, resources.cache, options.budget, client_factory))
    return resources.judge


def _baseline(task: Task, loaded: LoadedData | None, options: RunOptions) -> Baseline:
    name = task.baseline
    if name is None:
        raise ConfigError(f"task {task.name!r} needs a baseline: give one with -T baseline=ENTRY.")
    # Published answers are keyed by the model name the data uses, which may be the entry's `model`.
    baselines = _published_baselines(loaded)
    entry = _models(options).entries.get(name)
    published = baselines.get(name) or (baselines.get(entry.model) if entry is not None else None)
    if published is not None:
        return Baseline(entry=name, answers=published, source="the task's published answers")
    stored = _stored_answers(task, name, options)
    if stored is None:
        raise ConfigError(
            f"task {task.name!r}: no answers of the baseline {name!r} — neither published with the data "
            f"nor in {options.runs_root}. Run it first: harness run -t {task.name} -m {name}."
        )
    return stored


def _published_baselines(loaded: LoadedData | None) -> Mapping[str, Mapping[str, Completion]]:
    if loaded is None:
        return {}
    baselines: Any = loaded.resources.get("baselines", {})
    return baselines if isinstance(baselines, Mapping) else {}


def _stored_answers(task: Task, name: str, options: RunOptions) -> Baseline | None:
    """The answers of the baseline's fullest run of this task in the store (ties: the newest)."""
    best: tuple[int, str, Baseline] | None = None
    for run_dir, result in readable_runs(options.runs_root, task.name, name):
        answers = {
            record.sample_id: record.completion
            for record in latest_records(run_dir.read_records()).values()
            if record.epoch == 0 and record.completion.error is None
        }
        rank = (len(answers), result.timings.finished_at or "")
        if best is None or rank > best[:2]:
            source = f"run {task.name}/{name}/{result.spec_hash}"
            best = (*rank, Baseline(entry=name, answers=answers, source=source))
    return best[2] if best is not None and best[0] else None
