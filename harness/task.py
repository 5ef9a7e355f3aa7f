"""The task contract: what a benchmark module gives (data, prompts, scoring, metrics) and what it
receives to score (a `ScoringContext`).

A task is configured once, by its options model, and is stateless afterwards: `load()` returns
everything a run needs (samples, shared prompt prefixes, per-sample resources such as hidden tests),
and scoring receives that data together with whatever else the task declares in `needs` — a judge
client (any entry of the models file, called through the run's cache, retries and spending limit),
the baseline's answers, the sandbox's isolation. So a judged benchmark is one module in `tasks/` plus
one registry line; neither the runner nor the CLI changes.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.grading import Grader
from harness.sandbox import Isolation
from harness.stats import bootstrap_mean, proportion
from harness.types import (
    Completion,
    DataRef,
    GenerationConfig,
    GenerationRequest,
    ImportInfo,
    Metric,
    Prompt,
    Sample,
    SampleRecord,
    Score,
)

# What a task may ask the runner for when scoring.
Need = Literal["data", "judge", "baseline", "sandbox"]


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


@dataclass(frozen=True)
class LoadedData:
    """Everything a run of the task needs from its dataset.

    `prefixes` are prompt prefixes shared by many samples (few-shot exemplars), stored once per run;
    `resources` holds, by sample id, what scoring needs but the stored records do not carry (hidden
    test cases, reference answers)."""

    samples: list[Sample]
    ref: DataRef
    notes: list[str] = field(default_factory=list)
    prefixes: dict[str, str] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)


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


class Judge(Protocol):
    """A model that scores answers. Its calls go through the run's request cache, retries, rate limits
    and spending limit; each completion carries its own usage and `cost_usd` (0 when cached)."""

    @property
    def entry(self) -> str: ...

    @property
    def model(self) -> str: ...

    def complete(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        """Yield `(index, completion)` as each finishes; failures are completions with `error` set."""
        ...


@dataclass(frozen=True)
class Baseline:
    """The answers of the entry a task compares against, by sample id, and where they come from."""

    entry: str
    answers: Mapping[str, Completion]
    source: str


@dataclass(frozen=True)
class ScoringContext:
    """What scoring receives. Only what the task declares in `Task.needs` is filled in."""

    data: LoadedData | None = None
    judge: Judge | None = None
    baseline: Baseline | None = None
    isolation: Isolation | None = None
    workers: int = 1
    # The run's directory, where a scorer may keep files of its own beside the records (a judge's
    # judgments); None when scoring outside a run.
    run_dir: Path | None = None

    def require_data(self, task: str) -> LoadedData:
        if self.data is None:
            raise ConfigError(f"task {task!r} scores with its loaded data; declare 'data' in its needs.")
        return self.data

    def require_judge(self, task: str) -> Judge:
        if self.judge is None:
            raise ConfigError(f"task {task!r} needs a judge: give one with -T judge=ENTRY.")
        return self.judge

    def require_baseline(self, task: str) -> Baseline:
        if self.baseline is None:
            raise ConfigError(f"task {task!r} needs a baseline: give one with -T baseline=ENTRY.")
        return self.baseline

    def require_isolation(self, task: str) -> Isolation:
        if self.isolation is None:
            raise ConfigError(f"task {task!r} executes answers; declare 'sandbox' in its needs.")
        return self.isolation


class TaskOptions(BaseModel):
    """Base of a task's options: the single declaration behind `-T key=value`, a board column's
    `params` and re-scoring. Fields in `runtime_fields` change how a run is carried out, not what it
    measures, and stay out of the run's identity. A field named `judge` or `baseline` names an entry
    the runner resolves for scoring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime_fields: ClassVar[frozenset[str]] = frozenset()


class NoOptions(TaskOptions):
    """A task that takes no options."""


class Task(ABC):
    """One benchmark: how to load its data, prompt a sample, score an answer and aggregate scores."""

    name: str
    version: str
    dataset: str
    headline: str = "accuracy"
    default_epochs: int = 1
    # Whether prompts and completions may be shown on a public site (some datasets ask that their
    # questions never appear online in plain text).
    publish_samples: bool = True
    options_model: ClassVar[type[TaskOptions]] = NoOptions
    needs: ClassVar[frozenset[Need]] = frozenset()

    def __init__(self, options: TaskOptions | None = None) -> None:
        self.options = options if options is not None else self.options_model()
        if not isinstance(self.options, self.options_model):
            raise TypeError(f"{type(self).__name__} takes {self.options_model.__name__}")

    def params(self) -> dict[str, Any]:
        """Task settings that change what is evaluated; they are part of the run's identity."""
        dumped = self.options.model_dump(mode="json", exclude=set(self.options.runtime_fields))
        return {key: list(value) if isinstance(value, tuple) else value for key, value in dumped.items()}

    @property
    def judge(self) -> str | None:
        """The entry that judges this task's answers, when its options name one."""
        value = getattr(self.options, "judge", None)
        return str(value) if value is not None else None

    @property
    def baseline(self) -> str | None:
        """The entry whose answers this task compares against, when its options name one."""
        value = getattr(self.options, "baseline", None)
        return str(value) if value is not None else None

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig()

    def for_entry(self, entry: ModelEntry | None) -> Task:
        """This task as `entry` is evaluated on it. A task whose protocol depends on the model (a prompt
        style, the official script for its kind of backend) returns a copy with that choice made in its
        options, so that the choice is part of the run's identity; an option the user set is kept.
        Default: itself."""
        return self

    def samples_for_entry(
        self, samples: Sequence[Sample], entry: ModelEntry | None
    ) -> tuple[list[Sample], dict[str, Any]]:
        """The samples an entry is evaluated on, and the run-identity parameters that choice adds
        (e.g. a knowledge cutoff). Default: all samples."""
        return list(samples), {}

    @abstractmethod
    def load(self, data_dir: Path | None) -> LoadedData:
        """Load all samples, from `data_dir` when given, else from the hub at the pinned revision."""

    @abstractmethod
    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt: ...

    @abstractmethod
    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        """Score one answer now."""

    def scorer(self, context: ScoringContext) -> Grader | None:
        """A concurrent scorer for slow scoring (sandboxed execution, judge calls); None scores each
        answer inline with `score`."""
        return None

    def error_score(self) -> Score | None:
        """What a sample that could not be answered (a backend error after retries, a prompt longer than
        the context) counts as in the metrics. By default a wrong, unparsed answer (0; so it is also in
        the unparsed rate): an error never leaves the denominator, so errors lower the score instead of
        hiding. None, for a headline that has no "wrong" (a rate over judged answers, where 0 would read
        as a good or a neutral answer): such samples stay out of the metrics and are counted apart
        (`counts.errors`, the `errors` column). Either way, past `max_error_rate` the run fails."""
        return Score(value=0.0, parsed=False, details={"error": True})

    def counted_records(self, records: Sequence[SampleRecord]) -> list[SampleRecord]:
        """The records the metrics are computed over: the scored ones, and the errored ones with
        `error_score` when the task gives one."""
        substitute = self.error_score()
        counted = []
        for record in records:
            if record.score is not None:
                counted.append(record)
            elif record.completion.error is not None and substitute is not None:
                counted.append(record.model_copy(update={"score": substitute}))
        return counted

    def aggregate(
        self, records: Sequence[SampleRecord]
    ) -> tuple[dict[str, Metric], dict[str, dict[str, Metric]]]:
        """Overall metrics and per-category metrics over the scored records (errored ones as
        `error_score` says)."""
        scored = self.counted_records(records)
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

    def import_completions(self, path: Path, loaded: LoadedData) -> ImportedCompletions:
        raise ConfigError(f"task {self.name!r} has no importer for published outputs.")


class OptionsError(ConfigError):
    """Task options that do not validate; `problems` pairs each offending key (None: the whole set)
    with its message, so a board can point at the line of each."""

    def __init__(self, task: str, problems: list[tuple[str | None, str]], accepted: Sequence[str]) -> None:
        self.task = task
        self.problems = problems
        self.accepted = list(accepted)
        listed = "; ".join(f"{key}: {message}" if key else message for key, message in problems)
        super().__init__(f"task {task!r}: invalid options ({listed}).")


OptionsT = TypeVar("OptionsT", bound=BaseModel)


def validate_options(task: str, model: type[OptionsT], given: Mapping[str, Any]) -> OptionsT:
    """`given` (from -T key=value, a board's params or a run's task_params) as the task's options."""
    accepted = sorted(model.model_fields)
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes no options"
        raise OptionsError(task, [(key, f"unknown option ({takes})") for key in unknown], accepted)
    try:
        return model.model_validate(dict(given))
    except ValidationError as exc:
        problems = [(str(error["loc"][0]) if error["loc"] else None, error["msg"]) for error in exc.errors()]
        raise OptionsError(task, problems, accepted) from exc


def identity_options(model: type[TaskOptions], params: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a run's `task_params` that are options of the task (to configure it again)."""
    return {key: value for key, value in params.items() if key in model.model_fields}
