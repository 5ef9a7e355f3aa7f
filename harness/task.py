"""The Task contract, seeded randomness, subset selection and the task registry lookup."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.config import ModelEntry, suggest
from harness.errors import ConfigError
from harness.grading import Grader
from harness.stats import bootstrap_mean, proportion
from harness.types import (
    Completion,
    DataRef,
    GenerationConfig,
    ImportInfo,
    Metric,
    Prompt,
    Sample,
    SampleRecord,
    Score,
)


def derive_seed(seed: int, sample_id: str, epoch: int) -> int:
    """A 32-bit seed that depends only on (seed, sample, epoch): never on order or concurrency."""
    digest = hashlib.sha256(f"{seed}/{sample_id}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def select_subset(samples: Sequence[Sample], limit: int | None, seed: int) -> list[Sample]:
    """A deterministic subset of `limit` samples, stratified by category.

    Categories take turns (in sorted order), each contributing its next sample in a seeded hash order,
    so every category gets the same count where it has enough items and the choice does not depend on
    the order of the dataset file.
    """
    if limit is None or limit >= len(samples):
        return list(samples)
    if limit <= 0:
        raise ConfigError(f"--limit must be a positive number of samples, got {limit}.")
    by_category: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_category[sample.category or ""].append(sample)
    queues = {
        category: sorted(items, key=lambda s: derive_seed(seed, s.id, 0))
        for category, items in sorted(by_category.items())
    }
    chosen: list[Sample] = []
    depth = 0
    while len(chosen) < limit:
        for items in queues.values():
            if depth < len(items) and len(chosen) < limit:
                chosen.append(items[depth])
        depth += 1
    return chosen


def fingerprint(samples: Sequence[Sample], prefixes: dict[str, str]) -> str:
    """A content hash of exactly what is evaluated, independent of where the data was read from."""
    digest = hashlib.sha256()
    for sample in sorted(samples, key=lambda s: s.id):
        digest.update(json.dumps(sample.model_dump(mode="json"), sort_keys=True).encode())
        digest.update(b"\n")
    digest.update(json.dumps(prefixes, sort_keys=True).encode())
    return digest.hexdigest()[:16]


@dataclass
class LoadedData:
    samples: list[Sample]
    ref: DataRef
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportedCompletions:
    """Completions produced elsewhere, keyed by sample id, ready to be scored as an ordinary run.

    `epochs`, when given, holds several completions per sample id (epoch = position in the list) and
    takes the place of `completions`; `prompt_metadata` is merged into every prompt's metadata (e.g. to
    tell the scorer that the completions are already extracted answers).
    """

    completions: dict[str, Completion]
    info: ImportInfo
    model: str
    notes: list[str] = field(default_factory=list)
    epochs: dict[str, list[Completion]] = field(default_factory=dict)
    prompt_metadata: dict[str, Any] = field(default_factory=dict)

    def by_epoch(self) -> dict[str, list[Completion]]:
        return self.epochs or {sample_id: [c] for sample_id, c in self.completions.items()}


class TaskOptions(BaseModel):
    """Base of a task's options (set on the command line). Fields in `runtime_fields` change how a run
    is carried out, not what it measures, and stay out of the run's identity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime_fields: ClassVar[frozenset[str]] = frozenset()


def option_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Task(ABC):
    """One benchmark: how to load its data, prompt a sample, score an answer and aggregate scores.

    Instances are created per use (tasks may keep the data they loaded, such as few-shot exemplars).
    """

    name: str
    version: str
    dataset: str
    headline: str = "accuracy"
    default_epochs: int = 1
    # Whether prompts and completions may be shown on a public site (some datasets ask that their
    # questions never appear online in plain text).
    publish_samples: bool = True

    options_model: ClassVar[type[TaskOptions] | None] = None
    # Whether scoring needs the task's data loaded (test cases that are not stored in the records).
    scoring_needs_data: ClassVar[bool] = False

    def apply_options(self, options: TaskOptions) -> None:
        """Take the validated options (only called for tasks with an `options_model`)."""
        raise NotImplementedError(f"task {self.name!r} declares options but does not apply them")

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig()

    def params(self) -> dict[str, Any]:
        """Task settings that change what is evaluated; they are part of the run's identity."""
        return {}

    def samples_for_entry(
        self, samples: Sequence[Sample], entry: ModelEntry | None
    ) -> tuple[list[Sample], dict[str, Any]]:
        """The samples an entry is evaluated on, and the run-identity parameters that choice adds
        (e.g. a knowledge cutoff). Default: all samples."""
        return list(samples), {}

    def grader(self) -> Grader | None:
        """A concurrent grader for slow scorers (sandboxed execution); None scores inline by `score`."""
        return None

    @abstractmethod
    def load(self, data_dir: Path | None) -> LoadedData:
        """Load all samples, from `data_dir` when given, else from the hub at the pinned revision."""

    @abstractmethod
    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt: ...

    def prompt_prefixes(self) -> dict[str, str]:
        """Shared prompt prefixes (few-shot exemplars) by key; stored once per run."""
        return {}

    @abstractmethod
    def score(self, prompt: Prompt, completion: Completion) -> Score: ...

    def aggregate(
        self, records: Sequence[SampleRecord]
    ) -> tuple[dict[str, Metric], dict[str, dict[str, Metric]]]:
        """Overall metrics and per-category metrics over the scored records."""
        scored = [r for r in records if r.score is not None]
        metrics = self.summarize(scored)
        by_category: dict[str, list[SampleRecord]] = defaultdict(list)
        for record in scored:
            if record.category is not None:
                by_category[record.category].append(record)
        categories = {name: self.summarize(group) for name, group in sorted(by_category.items())}
        return metrics, categories

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        """Accuracy (CI over samples, repeats of a sample resampled together) and the unparsed rate."""
        if not scored:
            return {}
        values = [r.score.value for r in scored if r.score is not None]
        clusters = [r.sample_id for r in scored]
        return {
            "accuracy": bootstrap_mean(values, clusters=clusters),
            "unparsed_rate": proportion([r.score is not None and not r.score.parsed for r in scored]),
        }

    def import_completions(self, path: Path, samples: dict[str, Sample]) -> ImportedCompletions:
        raise ConfigError(f"task {self.name!r} has no importer for published outputs.")


def task_names() -> list[str]:
    from tasks import TASKS

    return sorted(TASKS)


def get_task(name: str, options: Mapping[str, Any] | None = None) -> Task:
    """The task `name`, configured with `options` (validated by the task's options model; an option
    the task does not take is an error)."""
    from tasks import TASKS

    factory = TASKS.get(name)
    if factory is None:
        raise ConfigError(f"unknown task {name!r}.{suggest(name, list(TASKS))}")
    task = factory()
    given = {key: value for key, value in (options or {}).items() if value is not None}
    if not given:
        if task.options_model is not None:
            task.apply_options(task.options_model())
        return task
    model = task.options_model
    flags = ", ".join(option_flag(key) for key in sorted(given))
    if model is None:
        raise ConfigError(f"{flags} does not apply to task {name!r} (it takes no options).")
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        accepted = ", ".join(option_flag(key) for key in sorted(model.model_fields))
        raise ConfigError(
            f"{', '.join(option_flag(k) for k in unknown)} does not apply to task {name!r} "
            f"(it takes {accepted})."
        )
    try:
        validated = model.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{option_flag(str(error['loc'][0])) if error['loc'] else 'options'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"task {name!r}: invalid option ({problems}).") from exc
    task.apply_options(validated)
    return task


def identity_options(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """The options stored in a run's `task_params` that configure `task` (for re-scoring a run)."""
    model = task.options_model
    if model is None:
        return {}
    return {key: value for key, value in params.items() if key in model.model_fields}
