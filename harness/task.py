"""The Task contract, seeded randomness, subset selection and the task registry lookup."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import suggest
from harness.errors import ConfigError
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
    """Completions produced elsewhere, keyed by sample id, ready to be scored as an ordinary run."""

    completions: dict[str, Completion]
    info: ImportInfo
    model: str
    notes: list[str] = field(default_factory=list)


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

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig()

    def params(self) -> dict[str, Any]:
        """Task settings that change what is evaluated; they are part of the run's identity."""
        return {}

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


def get_task(name: str) -> Task:
    from tasks import TASKS

    factory = TASKS.get(name)
    if factory is None:
        raise ConfigError(f"unknown task {name!r}.{suggest(name, list(TASKS))}")
    return factory()
