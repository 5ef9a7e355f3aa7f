"""Any task of EleutherAI's lm-evaluation-harness ("lm-eval"), as a run of ours: `lm_eval:<task>`.

lm-eval builds the prompts, calls the model (its `local-chat-completions` / `local-completions` client
for HTTP entries, its `vllm` model for vLLM entries), filters the answers and computes each document's
metrics with its own code (`harness.jobs.lm_eval`); its per-sample log is converted into our records
(`harness.importers.lm_eval`, which also imports lm-eval output folders made elsewhere). This module
is the task side of that: which documents a run covers, its options, and its metrics.

- A sample is one lm-eval document. Its id is `<subtask>/<doc_id>` for a group (`mmlu_pro` runs 14
  subtasks, which become the categories) and `<doc_id>` for a single task; with `-T id_field=FIELD`
  it is the document's own field (MMLU-Pro's `question_id`), so `--limit` picks the same questions as
  our task of the same dataset and the two runs can be joined sample by sample.
- A record's score is lm-eval's per-document value of the task's first metric under its first
  filter (`exact_match,custom-extract` for `mmlu_pro`); every (metric, filter) value lm-eval computed is
  kept in `score.details["metrics"]`, each filter's filtered answer in `score.details["filtered"]`.
- Run metrics: `score` (the mean of those values) and every mean-aggregated lm-eval metric under its
  own name (`exact_match,custom-extract`), as the mean over documents, which is how lm-eval aggregates
  them (a group with `weight_by_size` is the same micro-average). Their 95% CIs are our percentile
  bootstrap over documents, like every other run here, not lm-eval's normal-approximation stderr (the
  conversion notes lm-eval's own value and stderr). Metrics lm-eval does not aggregate as a mean
  (BLEU, perplexity) are not recomputed; the run's notes give lm-eval's value.
- lm-eval scored the answers when the run was made: `harness score` cannot re-score such a run (run
  it again, or import the lm-eval output again).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from harness.errors import ConfigError, DataError
from harness.stats import bootstrap_mean, proportion
from harness.task import LoadedData, ScoringContext, Task, TaskOptions
from harness.types import Completion, DataRef, Metric, Prompt, Sample, SampleRecord, Score

PREFIX = "lm_eval:"
# The lm-eval release these runs are made and imported with (the `lm_eval` extra pins it).
LM_EVAL_VERSION = "0.4.13"
INSTALL_HINT = "install lm-eval with `pip install -e '.[lm_eval]'` (lm-eval[api]==0.4.13)"
# lm-eval's regex filters answer this when nothing matched.
UNPARSED = "[invalid]"
# Output types answered by generation; the others score the model's log-probabilities.
GENERATION_TYPES = frozenset({"generate_until"})


class LmEvalOptions(TaskOptions):
    """lm-eval's own evaluation settings. `include_path` (a folder of task YAMLs) and `tokenizer` (the
    Hugging Face tokenizer lm-eval counts tokens with for log-likelihood requests over HTTP) change where
    things are read from, not what is measured."""

    runtime_fields: ClassVar[frozenset[str]] = frozenset({"include_path", "tokenizer"})

    num_fewshot: int | None = Field(default=None, ge=0)
    # Chat messages through the chat template (lm-eval's --apply_chat_template), or plain text.
    chat: bool = True
    fewshot_as_multiturn: bool = True
    system_instruction: str | None = None
    # lm-eval's `key=value,...` generation overrides (e.g. max_gen_toks=256,temperature=0).
    gen_kwargs: str | None = None
    id_field: str | None = None
    include_path: str | None = None
    tokenizer: str | None = None


def parse_gen_kwargs(text: str | None) -> dict[str, Any]:
    """`max_gen_toks=64,temperature=0` as lm-eval reads it: numbers and booleans typed, the rest text."""
    parsed: dict[str, Any] = {}
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"gen_kwargs {text!r}: give key=value pairs separated by commas.")
        parsed[key.strip()] = _typed(value.strip())
    return parsed


def format_gen_kwargs(values: Mapping[str, Any]) -> str | None:
    if not values:
        return None
    return ",".join(
        f"{key}={str(value).lower() if isinstance(value, bool) else value}" for key, value in values.items()
    )


def _typed(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


@functools.lru_cache(maxsize=4)
def task_manager(include_path: str | None, name: str) -> Any:
    """lm-eval's task index. Indexing its ~10,000 bundled YAML files takes seconds, so a task found in
    `include_path` alone is loaded from there without them."""
    try:
        from lm_eval.tasks import TaskManager
    except ImportError as exc:
        raise ConfigError(f"lm_eval tasks need the lm-eval package: {INSTALL_HINT}.") from exc
    if include_path is not None:
        if not Path(include_path).is_dir():
            raise ConfigError(f"include_path {include_path!r} is not a folder of lm-eval task YAML files.")
        local = TaskManager(include_path=include_path, include_defaults=False)
        if name in local.all_tasks:
            return local
    return TaskManager(include_path=include_path)


def doc_hash(doc: Any) -> str:
    """lm-eval's hash of a document, as its per-sample log records it (`doc_hash`)."""
    from lm_eval.utils import handle_non_serializable, hash_string

    return str(hash_string(json.dumps(doc, indent=2, default=handle_non_serializable, ensure_ascii=False)))


def sample_for(
    subtask: str,
    doc_id: int,
    digest: str,
    version: Any,
    output_type: Any,
    *,
    category: str | None,
    grouped: bool,
    own_id: Any = None,
) -> Sample:
    """One document as a sample; the same whether read from lm-eval's task or from its sample log. The
    subtask's version (its YAML's `metadata.version`) is part of it, so a new version of a task's
    prompt is a different run."""
    sample_id = f"{subtask}/{doc_id}" if grouped else str(doc_id)
    if own_id is not None:
        sample_id = str(own_id)
    data = {
        "task": subtask,
        "doc_id": doc_id,
        "doc_hash": digest,
        "version": _version(version),
        "output_type": str(output_type or "generate_until"),
    }
    return Sample(id=sample_id, category=category, data=data)


def _version(value: Any) -> str | None:
    return None if value is None else str(value)


class LmEvalTask(Task):
    """An lm-eval task or group, named `lm_eval:<name>`."""

    version = "1"
    headline = "score"
    options_model = LmEvalOptions

    def __init__(self, options: TaskOptions | None = None, *, lm_eval_task: str) -> None:
        super().__init__(options)
        if not lm_eval_task:
            raise ConfigError("name an lm-eval task after the prefix, e.g. lm_eval:mmlu_pro.")
        self.lm_eval_task = lm_eval_task
        self.name = PREFIX + lm_eval_task
        self.dataset = f"lm-eval:{lm_eval_task}"

    @property
    def lm_options(self) -> LmEvalOptions:
        assert isinstance(self.options, LmEvalOptions)
        return self.options

    def load(self, data_dir: Path | None) -> LoadedData:
        """The task's documents, as lm-eval loads them (its YAML names the dataset; `--data-dir` does
        not apply: point a local YAML's `dataset_path`/`data_files` at local files instead)."""
        manager = task_manager(self.lm_options.include_path, self.lm_eval_task)
        try:
            loaded = manager.load([self.lm_eval_task])
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"lm-eval has no task or group {self.lm_eval_task!r} ({exc}); `lm_eval ls tasks` lists "
                "them, and -T include_path=DIR adds a folder of your own task YAMLs."
            ) from exc
        subtasks: dict[str, Any] = dict(sorted(loaded["tasks"].items()))
        grouped = len(subtasks) > 1 or self.lm_eval_task not in subtasks
        samples: list[Sample] = []
        seen: set[str] = set()
        for subtask, task in subtasks.items():
            alias = task.config.task_alias or subtask
            version = (task.config.metadata or {}).get("version")
            for doc_id, doc in enumerate(task.eval_docs):
                own_id = self._own_id(doc, subtask, doc_id)
                sample = sample_for(
                    subtask,
                    doc_id,
                    doc_hash(doc),
                    version,
                    task.OUTPUT_TYPE,
                    category=alias if grouped else None,
                    grouped=grouped,
                    own_id=own_id,
                )
                if sample.id in seen:
                    raise DataError(
                        f"{self.name}: two documents share the id {sample.id!r}"
                        + (f" (field {self.lm_options.id_field!r})" if own_id is not None else "")
                        + "; choose a unique id_field."
                    )
                seen.add(sample.id)
                samples.append(sample)
        ref = DataRef(
            dataset=self.dataset,
            source="local" if self.lm_options.include_path else "hub",
            path=self.lm_options.include_path,
        )
        notes = [f"lm-eval {self.lm_eval_task}: {len(subtasks)} task(s), {len(samples)} documents"]
        return LoadedData(samples=samples, ref=ref, notes=notes)

    def _own_id(self, doc: Any, subtask: str, doc_id: int) -> Any:
        field = self.lm_options.id_field
        if field is None:
            return None
        if not isinstance(doc, Mapping) or field not in doc:
            raise DataError(f"{self.name}: document {doc_id} of {subtask} has no field {field!r} (id_field).")
        return doc[field]

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        """What the run asks lm-eval for: the document. lm-eval renders the prompt itself; the record
        carries the prompt it logged."""
        return Prompt(messages=[], target="", metadata={"lm_eval": dict(sample.data)})

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        raise ConfigError(
            f"{self.name} was scored by lm-eval when it ran; it cannot be scored again here. Run it again "
            "(lm-eval's cache answers what it already asked), or import its lm-eval output again."
        )

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        if not scored:
            return {}
        clusters = [r.sample_id for r in scored]
        metrics = {
            "score": bootstrap_mean([r.score.value for r in scored if r.score is not None], clusters=clusters)
        }
        names: list[str] = []
        for record in scored:
            assert record.score is not None
            names.extend(name for name in record.score.details.get("metrics", {}) if name not in names)
        for name in names:
            values = [_metric(r, name) for r in scored]
            present = [
                (value, r.sample_id) for value, r in zip(values, scored, strict=True) if value is not None
            ]
            if present:
                metrics[name] = bootstrap_mean([v for v, _ in present], clusters=[c for _, c in present])
        metrics["unparsed_rate"] = proportion([r.score is not None and not r.score.parsed for r in scored])
        return metrics


def _metric(record: SampleRecord, name: str) -> float | None:
    assert record.score is not None
    value = record.score.details.get("metrics", {}).get(name)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None
