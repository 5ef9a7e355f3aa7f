"""Plan a run: which samples and epochs, their prompts, and the run's identity (its spec).

`make_plan` is the one place a run's spec is built, whoever produced its completions: an entry of the
models file (`plan_run`), published outputs (`harness.importers.outputs`), or results reported by
others (`harness.importers.livecodebench_leaderboard`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cache import RequestCache, default_cache_path
from harness.config import ModelEntry, ModelsFile, Price
from harness.cost import Budget
from harness.runner.shard import Shard, shard_items
from harness.task import LoadedData, Task, derive_seed, fingerprint, select_subset
from harness.types import (
    BackendInfo,
    GenerationConfig,
    GenerationRequest,
    ImportInfo,
    Message,
    Prompt,
    Provenance,
    RunSpec,
    Sample,
)

DEFAULT_MAX_ERROR_RATE = 0.05


@dataclass
class RunOptions:
    """How runs are carried out. `models` resolves the entries a task names for scoring (a judge, a
    baseline); `workers` and `unsandboxed` concern tasks that execute answers."""

    runs_root: Path
    data_dir: Path | None = None
    limit: int | None = None
    epochs: int | None = None
    seed: int | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE
    # Shared by the runs of one command: no call is sent that could take spending past its limit.
    budget: Budget | None = None
    # Answer identical requests from `<runs_root>/.cache/requests.sqlite` (or `cache_path`).
    use_cache: bool = True
    cache_path: Path | None = None
    models: ModelsFile | None = None
    workers: int | None = None
    unsandboxed: bool = False
    # Plan only this shard of the run's items (`--shard i/n`, harness.runner.shard).
    shard: Shard | None = None

    def open_cache(self) -> RequestCache | None:
        if not self.use_cache:
            return None
        return RequestCache(self.cache_path or default_cache_path(self.runs_root))


@dataclass(frozen=True)
class RunSource:
    """Who produced a run's completions, and what that says about the run."""

    provenance: Provenance
    entry: str
    model: str
    backend: str
    generation: GenerationConfig | None = None
    price: Price | None = None
    imported: ImportInfo | None = None
    backend_info: BackendInfo | None = None

    @classmethod
    def of_entry(cls, entry: ModelEntry, generation: GenerationConfig) -> RunSource:
        return cls("run", entry.id, entry.model, entry.backend, generation, entry.price)


@dataclass
class PlannedItem:
    sample: Sample
    epoch: int
    prompt: Prompt

    @property
    def key(self) -> tuple[str, int]:
        return (self.sample.id, self.epoch)


@dataclass
class Plan:
    task: Task
    source: RunSource
    spec: RunSpec
    items: list[PlannedItem]
    loaded: LoadedData
    prefixes: dict[str, str]
    notes: list[str]
    plan_s: float
    entry: ModelEntry | None = None

    @property
    def generation(self) -> GenerationConfig:
        assert self.spec.generation is not None
        return self.spec.generation


def make_plan(
    task: Task,
    source: RunSource,
    loaded: LoadedData,
    items: Sequence[PlannedItem],
    *,
    epochs: int,
    seed: int = 0,
    limit: int | None = None,
    params: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
    started: float | None = None,
    data_dir: Path | None = None,
) -> Plan:
    """The plan and spec of a run of `task` over `items`, produced by `source`.

    A run's `task_params` are the task's options plus `params`; results reported by others were not
    produced with our options, so theirs are `params` alone. `data_dir` is the folder local data was
    read from (recorded, outside the run's identity)."""
    prefixes = shared_prefixes(loaded, items)
    options = {} if source.provenance == "reported" else task.params()
    samples = list({item.sample.id: item.sample for item in items}.values())
    spec = RunSpec(
        task=task.name,
        task_version=task.version,
        entry=source.entry,
        model=source.model,
        backend=source.backend,
        generation=source.generation,
        epochs=epochs,
        seed=seed,
        limit=limit,
        task_params={**options, **(params or {})},
        data=loaded.ref.model_copy(
            update={
                "fingerprint": fingerprint(samples, prefixes),
                "data_dir": str(data_dir) if data_dir is not None and loaded.ref.source == "local" else None,
            }
        ),
        imported_from_sha256=source.imported.source_sha256 if source.imported else None,
    )
    all_notes = [*loaded.notes, *notes, *item_notes(items)]
    plan_s = time.perf_counter() - started if started is not None else 0.0
    return Plan(task, source, spec, list(items), loaded, prefixes, all_notes, plan_s)


def plan_run(task: Task, entry: ModelEntry, options: RunOptions) -> Plan:
    """Plan a run of `entry` on `task`: load the data, pick the subset, build every prompt."""
    started = time.perf_counter()
    task = task.for_entry(entry)
    loaded = task.load(options.data_dir)
    generation = entry.generation.apply(task.generation_defaults()).merged(options.generation)
    seed = options.seed if options.seed is not None else (generation.seed or 0)
    generation = generation.merged({"seed": seed}) if generation.seed is not None else generation
    samples, entry_params = task.samples_for_entry(loaded.samples, entry)
    selected = select_subset(samples, options.limit, seed)
    epochs = options.epochs or task.default_epochs
    items, shard_params = shard_items(
        [
            PlannedItem(sample, epoch, task.build_prompt(sample, epoch, seed))
            for sample in selected
            for epoch in range(epochs)
        ],
        options.shard,
    )
    plan = make_plan(
        task,
        RunSource.of_entry(entry, generation),
        loaded,
        items,
        epochs=epochs,
        seed=seed,
        limit=options.limit,
        params={**entry_params, **shard_params},
        started=started,
        data_dir=options.data_dir,
    )
    plan.entry = entry
    return plan


def shared_prefixes(loaded: LoadedData, items: Sequence[PlannedItem]) -> dict[str, str]:
    """The shared prompt prefixes these items use (stored once in run.json)."""
    used = sorted({item.prompt.prefix_key for item in items if item.prompt.prefix_key is not None})
    return {key: loaded.prefixes[key] for key in used}


def item_notes(items: Sequence[PlannedItem]) -> list[str]:
    """The distinct notes tasks attached to these items' prompts (e.g. a disputed answer key)."""
    return sorted({str(item.prompt.metadata["note"]) for item in items if "note" in item.prompt.metadata})


def request_for(item: PlannedItem, plan: Plan) -> GenerationRequest:
    config = plan.generation
    messages = item.prompt.render(plan.prefixes)
    # Plain text for the model to continue (raw text) has no place for a system prompt.
    if config.system_prompt is not None and not item.prompt.raw_text and messages[0].role != "system":
        messages = [Message(role="system", content=config.system_prompt), *messages]
    if config.seed is not None:
        config = config.model_copy(update={"seed": derive_seed(config.seed, item.sample.id, item.epoch)})
    return GenerationRequest(messages=messages, config=config, raw_text=item.prompt.raw_text)
