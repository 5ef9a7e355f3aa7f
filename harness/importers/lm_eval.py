"""lm-eval output folders (`results_*.json` + `samples_*.jsonl`, written with `--log_samples`) as runs.

`harness import lm_eval PATH --entry NAME` makes one imported run per top-level task or group of each
results file; `harness run -t lm_eval:<task>` converts the output of the lm-eval run it made the same
way (`records_for_plan`). One record per document: the prompt lm-eval logged (chat messages, or the
text it sent), its answer (the first response; all of them in `score.details["responses"]` when a task
repeats), and lm-eval's per-document metric values as the score (see `tasks.lm_eval`). Filters are
noted per record (`score.details["filtered"]`: each filter's answer) and per run.

Malformed lines, documents with missing fields and duplicates are skipped and counted, never fatal;
`model_args` are not copied (a key passed there would be a secret), only the model's name and type.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.config import check_entry_id
from harness.errors import ConfigError, DataError
from harness.runner import DEFAULT_MAX_ERROR_RATE, RunOutcome
from harness.runner.plan import Plan, PlannedItem, RunSource, make_plan
from harness.runner.results import build_result, write_run
from harness.store import RunDir
from harness.task import LoadedData
from harness.types import (
    BackendInfo,
    Completion,
    DataRef,
    ImportInfo,
    Message,
    Prompt,
    Sample,
    SampleRecord,
    Score,
    Timings,
)
from tasks.lm_eval import (
    GENERATION_TYPES,
    UNPARSED,
    LmEvalOptions,
    LmEvalTask,
    format_gen_kwargs,
    sample_for,
)

RESULTS_GLOB = "results_*.json"
# A metric is recomputed as a mean over documents only when that reproduces lm-eval's own value.
MEAN_TOLERANCE = 1e-9
ROLES = frozenset({"system", "user", "assistant"})
DocKey = tuple[str, int]


@dataclass
class LoggedDoc:
    """Everything lm-eval logged about one document, over all its filters."""

    subtask: str
    doc_id: int
    doc: Any
    doc_hash: str
    target: str
    arguments: list[list[Any]]
    responses: list[list[Any]]
    filtered: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class LmEvalOutput:
    """One results file and the documents its sample logs hold."""

    results_path: Path
    results: dict[str, Any]
    docs: dict[DocKey, LoggedDoc]
    sample_files: list[Path]
    lines_read: int = 0
    skipped_malformed: int = 0
    skipped_duplicate: int = 0

    @property
    def configs(self) -> dict[str, Any]:
        configs = self.results.get("configs")
        return configs if isinstance(configs, dict) else {}

    @property
    def task_results(self) -> dict[str, Any]:
        results = self.results.get("results")
        return results if isinstance(results, dict) else {}

    def subtasks(self) -> list[str]:
        return sorted({doc.subtask for doc in self.docs.values()})

    def top_level(self) -> dict[str, list[str]]:
        """Each top-level group or task and the tasks whose documents it covers."""
        groups = self.results.get("group_subtasks")
        groups = {str(k): [str(c) for c in v] for k, v in groups.items()} if isinstance(groups, dict) else {}
        children = {child for members in groups.values() for child in members}
        logged = set(self.subtasks())

        def leaves(name: str, seen: frozenset[str] = frozenset()) -> list[str]:
            if name in seen:
                return []
            if groups.get(name):
                return sorted({leaf for child in groups[name] for leaf in leaves(child, seen | {name})})
            return [name] if name in logged else []

        tops = [name for name in groups if name not in children and groups[name]]
        tops += [name for name in sorted(logged) if name not in children and name not in groups]
        return {name: leaves(name) for name in tops if leaves(name)}

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for path in [self.results_path, *self.sample_files]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()


def read_outputs(path: Path) -> list[LmEvalOutput]:
    """Every results file under `path` (a folder, or one results file) with its sample logs."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder.")
    files = [path] if path.is_file() else sorted(path.rglob(RESULTS_GLOB))
    if not files:
        raise ConfigError(
            f"{path}: no lm-eval results file ({RESULTS_GLOB}); run lm-eval with --output_path and "
            "--log_samples and give its output folder."
        )
    return [read_output(file) for file in files]


def read_output(results_path: Path) -> LmEvalOutput:
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{results_path}: not a readable lm-eval results file ({exc}).") from exc
    if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
        raise DataError(f"{results_path}: not an lm-eval results file (no 'results' object).")
    stamp = results_path.stem.removeprefix("results_")
    sample_files = sorted(results_path.parent.glob(f"samples_*_{stamp}.jsonl"))
    if not sample_files:
        raise DataError(
            f"{results_path}: no samples_*_{stamp}.jsonl beside it; lm-eval writes them with --log_samples "
            "(per-document results are what an import needs)."
        )
    output = LmEvalOutput(results_path, results, {}, sample_files)
    seen: set[tuple[str, int, str]] = set()
    for file in sample_files:
        subtask = file.name.removeprefix("samples_").removesuffix(f"_{stamp}.jsonl")
        with open(file, "rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                output.lines_read += 1
                _add_line(output, subtask, line, seen)
    if not output.docs:
        raise DataError(f"{results_path}: its sample logs hold no readable document.")
    return output


def _add_line(output: LmEvalOutput, subtask: str, line: bytes, seen: set[tuple[str, int, str]]) -> None:
    try:
        entry = json.loads(line)
        doc_id = entry["doc_id"]
        if not isinstance(doc_id, int) or isinstance(doc_id, bool) or doc_id < 0:
            raise TypeError("doc_id")
        filter_name = str(entry["filter"])
        names = entry["metrics"]
        if not isinstance(names, list):
            raise TypeError("metrics")
        arguments = _arguments(entry["arguments"])
        responses = entry["resps"]
        if not isinstance(responses, list):
            raise TypeError("resps")
        doc_digest = str(entry["doc_hash"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        output.skipped_malformed += 1
        return
    if (subtask, doc_id, filter_name) in seen:
        output.skipped_duplicate += 1
        return
    seen.add((subtask, doc_id, filter_name))
    doc = output.docs.get((subtask, doc_id))
    if doc is None:
        doc = LoggedDoc(
            subtask,
            doc_id,
            entry.get("doc"),
            doc_digest,
            str(entry.get("target", "")),
            arguments,
            [r if isinstance(r, list) else [r] for r in responses],
        )
        output.docs[(subtask, doc_id)] = doc
    elif doc.doc_hash != doc_digest:
        output.skipped_malformed += 1
        return
    doc.filtered[filter_name] = entry.get("filtered_resps")
    for name in names:
        doc.values[f"{name},{filter_name}"] = entry.get(str(name))


def _arguments(raw: Any) -> list[list[Any]]:
    """Requests' arguments, as logged in memory (a list of tuples) or in a file (`gen_args_i.arg_j`)."""
    if isinstance(raw, dict):
        ordered = sorted(raw.items(), key=lambda kv: int(str(kv[0]).rsplit("_", 1)[-1]))
        return [
            [args[key] for key in sorted(args, key=lambda k: int(k.rsplit("_", 1)[-1]))]
            for _, args in ordered
        ]
    if isinstance(raw, list):
        return [list(args) if isinstance(args, (list, tuple)) else [args] for args in raw]
    raise TypeError("arguments")


def prompt_messages(context: Any) -> list[Message]:
    """The prompt lm-eval sent: chat messages (a JSON list, as lm-eval logs a chat request), or text."""
    if isinstance(context, list) and len(context) == 1 and isinstance(context[0], str):
        context = context[0]  # a chat prompt is logged wrapped in a one-element list
    if isinstance(context, str):
        try:
            parsed = json.loads(context)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and parsed and all(isinstance(m, dict) for m in parsed):
            return [_message(m) for m in parsed]
        return [Message(role="user", content=context)]
    return [Message(role="user", content=json.dumps(context, ensure_ascii=False, default=str))]


def _message(raw: Mapping[str, Any]) -> Message:
    role = str(raw.get("role", "user"))
    content = raw.get("content", "")
    if isinstance(content, list):
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return Message.model_validate({"role": role if role in ROLES else "user", "content": str(content)})


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    return None


def mean_metrics(output: LmEvalOutput, subtask: str) -> tuple[list[str], list[str]]:
    """The subtask's metric keys that are means over documents (lm-eval's value reproduced from the
    per-document values), in lm-eval's order; and lm-eval's notes on the others."""
    reported = output.task_results.get(subtask, {})
    docs = [doc for doc in output.docs.values() if doc.subtask == subtask]
    keys: list[str] = []
    for doc in docs:
        keys.extend(key for key in doc.values if key not in keys)
    order = [key for key in reported if key in keys] + [key for key in keys if key not in reported]
    means, others = [], []
    for key in order:
        values = [_number(doc.values.get(key)) for doc in docs]
        target = reported.get(key) if isinstance(reported, dict) else None
        if all(v is not None for v in values) and values:
            mean = sum(v for v in values if v is not None) / len(values)
            if not isinstance(target, (int, float)) or abs(mean - float(target)) <= MEAN_TOLERANCE:
                means.append(key)
                continue
        others.append(
            f"lm-eval's {key} on {subtask} = {target!r}: not a mean over documents, so not among this "
            "run's metrics"
        )
    return means, others


def reported_notes(output: LmEvalOutput, name: str) -> list[str]:
    """lm-eval's own aggregate of a task or group, with its stderr (for comparison with our CIs)."""
    source = output.results.get("groups", {}).get(name) or output.task_results.get(name)
    if not isinstance(source, dict):
        return []
    figures = []
    for key, value in source.items():
        metric, _, filter_name = key.partition(",")
        if metric.endswith("_stderr") or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        stderr = source.get(f"{metric}_stderr,{filter_name}")
        spread = f" ± {stderr:.4f} (stderr)" if isinstance(stderr, (int, float)) else ""
        figures.append(f"{key} = {value:.4f}{spread}")
    if not figures:
        return []
    return [f"lm-eval's own aggregate of {name}: {', '.join(figures)}"]


def record_for(
    doc: LoggedDoc, sample: Sample, output: LmEvalOutput, headline: str, means: Sequence[str]
) -> SampleRecord:
    """One document's record: lm-eval's prompt and answer, scored with its per-document values."""
    output_type = str(sample.data.get("output_type", "generate_until"))
    context = doc.arguments[0][0] if doc.arguments and doc.arguments[0] else ""
    choices: list[str] = []
    if output_type not in GENERATION_TYPES:
        choices = [str(args[1]) for args in doc.arguments if len(args) > 1]
    metadata: dict[str, Any] = {"lm_eval": dict(sample.data)}
    if (
        output_type in GENERATION_TYPES
        and len(doc.arguments[0]) > 1
        and isinstance(doc.arguments[0][1], dict)
    ):
        metadata["lm_eval"]["gen_kwargs"] = doc.arguments[0][1]
    prompt = Prompt(messages=prompt_messages(context), target=doc.target, choices=choices, metadata=metadata)
    first = doc.responses[0] if doc.responses else []
    if output_type in GENERATION_TYPES:
        text = str(first[0]) if first else ""
    else:
        text = _likeliest(choices, doc.responses)
    filter_name = headline.partition(",")[2]
    extracted = doc.filtered.get(filter_name)
    extracted_text = _answer_text(extracted)
    details: dict[str, Any] = {
        "metric": headline,
        "metrics": {key: doc.values[key] for key in means if key in doc.values},
        "filtered": {name: _answer_text(value) for name, value in doc.filtered.items()},
    }
    if output_type in GENERATION_TYPES and len(first) > 1:
        details["responses"] = [str(response) for response in first]
    value = _number(doc.values.get(headline))
    score = Score(
        value=value if value is not None else 0.0,
        extracted=extracted_text,
        parsed=extracted_text != UNPARSED,
        details=details,
    )
    return SampleRecord(
        sample_id=sample.id,
        epoch=0,
        category=sample.category,
        prompt=prompt,
        completion=Completion(text=text, model=_model_name(output.results), usage_missing=True),
        score=score,
    )


def _answer_text(value: Any) -> str | None:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _likeliest(choices: Sequence[str], responses: Sequence[Sequence[Any]]) -> str:
    """A multiple-choice answer: the choice lm-eval found most likely (its log-likelihoods are logged
    as text, `[logprob, is_greedy]`)."""
    scores = []
    for response in responses:
        value = response[0] if response else None
        if isinstance(value, (list, tuple)) and value:
            value = value[0]
        try:
            scores.append(float(str(value)))
        except ValueError:
            return ""
    if not scores or len(scores) != len(choices):
        return ""
    return choices[max(range(len(scores)), key=scores.__getitem__)]


def _model_name(results: Mapping[str, Any]) -> str:
    name = results.get("model_name")
    return str(name) if isinstance(name, str) and name else "unknown"


def options_of(output: LmEvalOutput, subtasks: Sequence[str]) -> dict[str, Any]:
    """The lm-eval settings the output was made with, as our task's options."""
    results = output.results
    config = results.get("config") if isinstance(results.get("config"), dict) else {}
    shots = {results.get("n-shot", {}).get(name) for name in subtasks}
    gen_kwargs = config.get("gen_kwargs") if isinstance(config, dict) else None
    if isinstance(gen_kwargs, str):
        gen_kwargs_text: str | None = gen_kwargs or None
    elif isinstance(gen_kwargs, dict):
        gen_kwargs_text = format_gen_kwargs(gen_kwargs)
    else:
        gen_kwargs_text = None
    options: dict[str, Any] = {
        "chat": results.get("chat_template") is not None,
        "fewshot_as_multiturn": bool(results.get("fewshot_as_multiturn", False)),
        "system_instruction": results.get("system_instruction"),
        "gen_kwargs": gen_kwargs_text,
    }
    if len(shots) == 1 and isinstance(next(iter(shots)), int):
        options["num_fewshot"] = next(iter(shots))
    return options


def headline_of(
    output: LmEvalOutput, subtasks: Sequence[str]
) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    """Per subtask: its headline key (the first mean metric) and its mean metric keys; and the notes."""
    headlines, means, notes = {}, {}, []
    for subtask in subtasks:
        keys, others = mean_metrics(output, subtask)
        notes.extend(others)
        if not keys:
            raise DataError(
                f"{output.results_path}: lm-eval computed no per-document metric for {subtask} that "
                "averages to its reported value; nothing to score the documents with."
            )
        headlines[subtask], means[subtask] = keys[0], keys
    for key in sorted(set(headlines.values())):
        notes.append(f"score = lm-eval's {key} per document (the task's first metric under its first filter)")
    return headlines, means, notes


def records_for_plan(
    plan: Plan, output: LmEvalOutput
) -> tuple[dict[tuple[str, int], SampleRecord], list[str]]:
    """The records of the planned documents found in `output` (a run made here), and notes."""
    planned = {(str(item.sample.data["task"]), int(item.sample.data["doc_id"])): item for item in plan.items}
    subtasks = sorted({key[0] for key in planned if key in output.docs})
    headlines, means, notes = headline_of(output, subtasks)
    records: dict[tuple[str, int], SampleRecord] = {}
    mismatched = 0
    for key, item in planned.items():
        doc = output.docs.get(key)
        if doc is None:
            continue
        if doc.doc_hash != item.sample.data["doc_hash"]:
            mismatched += 1
            continue
        record = record_for(doc, item.sample, output, headlines[doc.subtask], means[doc.subtask])
        records[item.key] = record
    if mismatched:
        notes.append(
            f"{mismatched} document(s) logged by lm-eval differ from the planned ones and were dropped"
        )
    return records, notes


def import_lm_eval(
    path: Path, *, runs_root: Path, entry: str | None, options: Mapping[str, Any]
) -> list[RunOutcome]:
    """One imported run per top-level task or group of each lm-eval results file under `path`."""
    if entry is None:
        raise ConfigError("--entry NAME is required: it names the entry the lm-eval outputs belong to.")
    check_entry_id(entry)
    outcomes = []
    for output in read_outputs(path):
        for name, subtasks in output.top_level().items():
            outcomes.append(_import_one(output, name, subtasks, entry, runs_root, options))
    return outcomes


def _import_one(
    output: LmEvalOutput,
    name: str,
    subtasks: list[str],
    entry: str,
    runs_root: Path,
    given: Mapping[str, Any],
) -> RunOutcome:
    grouped = len(subtasks) > 1 or name not in subtasks
    settings = {**options_of(output, subtasks), **given}
    task = LmEvalTask(LmEvalOptions.model_validate(settings), lm_eval_task=name)
    headlines, means, notes = headline_of(output, subtasks)
    versions = output.results.get("versions", {})
    items: list[PlannedItem] = []
    records: dict[tuple[str, int], SampleRecord] = {}
    skipped_id = 0
    for key in sorted(k for k in output.docs if k[0] in subtasks):
        doc = output.docs[key]
        config = output.configs.get(doc.subtask, {})
        alias = (config.get("task_alias") if isinstance(config, dict) else None) or doc.subtask
        own_id = None
        if task.lm_options.id_field is not None:
            own_id = doc.doc.get(task.lm_options.id_field) if isinstance(doc.doc, dict) else None
            if own_id is None:
                skipped_id += 1
                continue
        sample = sample_for(
            doc.subtask,
            doc.doc_id,
            doc.doc_hash,
            versions.get(doc.subtask) if isinstance(versions, dict) else None,
            config.get("output_type") if isinstance(config, dict) else None,
            category=str(alias) if grouped else None,
            grouped=grouped,
            own_id=own_id,
        )
        if (sample.id, 0) in records:
            skipped_id += 1
            continue
        record = record_for(doc, sample, output, headlines[doc.subtask], means[doc.subtask])
        items.append(PlannedItem(sample, 0, task.build_prompt(sample, 0, 0)))
        records[(sample.id, 0)] = record
    info = ImportInfo(
        source_file=str(output.results_path),
        source_sha256=output.sha256(),
        records_read=output.lines_read,
        records_imported=len(records),
        skipped_malformed=output.skipped_malformed,
        skipped_unknown_id=skipped_id,
        skipped_duplicate=output.skipped_duplicate,
    )
    source = RunSource(
        provenance="imported",
        entry=entry,
        model=_model_name(output.results),
        backend="import",
        imported=info,
        backend_info=backend_info(output.results),
    )
    loaded_ref = DataRef(dataset=task.dataset, source="import", path=str(output.results_path))
    plan = make_plan(
        task,
        source,
        LoadedData(samples=[item.sample for item in items], ref=loaded_ref),
        items,
        epochs=1,
        notes=[*reported_notes(output, name), *notes],
    )
    stamp = _finished_at(output.results)
    result = build_result(
        plan,
        records,
        max_error_rate=DEFAULT_MAX_ERROR_RATE,
        timings=Timings(started_at=stamp, finished_at=stamp),
    )
    run_dir = RunDir.for_spec(runs_root, task.name, entry, result.spec_hash)
    with run_dir.lock():
        write_run(run_dir, result, list(records.values()))
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=0)


def backend_info(results: Mapping[str, Any], **named: Any) -> BackendInfo:
    """What lm-eval says about the model it ran: its model type and versions, never its model_args."""
    config = results.get("config") if isinstance(results.get("config"), dict) else {}
    model_type = config.get("model") if isinstance(config, dict) else None
    version = results.get("lm_eval_version")
    return BackendInfo(
        backend=named.pop("backend", "lm-eval"),
        library="lm-eval",
        library_version=str(version) if isinstance(version, str) else None,
        transport=str(model_type) if isinstance(model_type, str) else None,
        **named,
    )


def _finished_at(results: Mapping[str, Any]) -> str | None:
    date = results.get("date")
    if isinstance(date, (int, float)) and not isinstance(date, bool):
        return datetime.fromtimestamp(float(date), tz=UTC).isoformat(timespec="seconds")
    return None
