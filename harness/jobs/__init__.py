"""Jobs: one (entry, task, shard) run each, planned and carried out by one executor.

`plan_job` / `run_plan` are the one way a job is planned and run, whether the task is ours (the runner:
`plan_run` + `execute`) or lm-eval's (`harness.jobs.lm_eval`). The local executor runs jobs one after
another in this process; `harness.jobs.ray` runs each as a Ray task with the entry's resources, all
writing into one store. `merge_runs` turns the shards of a run back into the whole run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from harness.backends import ModelClient, make_client
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.jobs.lm_eval import plan_lm_eval, run_lm_eval
from harness.runner import RunOptions, RunOutcome, execute, plan_run
from harness.runner.merge import merge_shards, whole_run_options
from harness.runner.plan import Plan
from harness.runner.progress import ProgressReporter
from harness.runner.shard import SHARD_PARAM, Shard
from harness.store import RunDir, readable_runs
from harness.task import Task, identity_options
from harness.types import RunResult
from tasks import get_task, options_model
from tasks.lm_eval import LmEvalTask


@dataclass(frozen=True)
class Job:
    entry: ModelEntry
    task: Task
    shard: Shard | None = None

    @property
    def label(self) -> str:
        shard = f" · shard {self.shard}" if self.shard is not None else ""
        return f"{self.task.name} · {self.entry.id}{shard}"


def plan_job(task: Task, entry: ModelEntry, options: RunOptions) -> Plan:
    if isinstance(task, LmEvalTask):
        return plan_lm_eval(task, entry, options)
    return plan_run(task, entry, options)


def run_plan(
    plan: Plan,
    options: RunOptions,
    *,
    progress: ProgressReporter | None = None,
    client_factory: Callable[[ModelEntry], ModelClient] = make_client,
) -> RunOutcome:
    if isinstance(plan.task, LmEvalTask):
        return run_lm_eval(plan, options, progress=progress)
    return execute(plan, options, progress=progress, client_factory=client_factory)


def job_options(options: RunOptions, job: Job) -> RunOptions:
    return replace(options, shard=job.shard)


def job_resources(entry: ModelEntry, cluster_gpus: float) -> dict[str, float]:
    """What a job of `entry` reserves on a Ray cluster: the GPUs its vLLM engine spans (tensor x
    pipeline x data parallel) where the cluster has GPUs, else CPUs (llama.cpp's threads; one for an
    API client or a CPU build of vLLM)."""
    served_by_vllm = entry.backend == "vllm" or (entry.server is not None and entry.server.kind == "vllm")
    if served_by_vllm and cluster_gpus > 0:
        settings = entry.vllm
        gpus = 1
        if settings is not None:
            for size in (
                settings.tensor_parallel_size,
                settings.pipeline_parallel_size,
                settings.data_parallel_size,
            ):
                gpus *= int(size or 1)
        return {"num_cpus": 1.0, "num_gpus": float(gpus)}
    threads = entry.backend_options.get("n_threads") if entry.backend == "llamacpp" else None
    return {"num_cpus": float(threads) if isinstance(threads, int) and threads > 0 else 1.0, "num_gpus": 0.0}


def merge_runs(run_dirs: Sequence[RunDir], options: RunOptions) -> RunOutcome:
    """The whole run from its shard runs (given one, the others of its split are found beside it)."""
    if not run_dirs:
        raise ConfigError("name the shard runs to merge (or one of them).")
    shards = [(run_dir, run_dir.read_result()) for run_dir in run_dirs]
    if len(shards) == 1:
        shards = sibling_shards(*shards[0])
    run_dir, first = shards[0]
    spec = first.spec
    models = options.models
    if models is None or spec.entry not in models.entries:
        raise ConfigError(
            f"{run_dir.path}: entry {spec.entry!r} is not in the models file; merging re-plans the whole "
            "run, which needs the entry the shards were made with."
        )
    task = get_task(spec.task, identity_options(options_model(spec.task), spec.task_params))
    plan = plan_job(task, models.entries[spec.entry], whole_run_options(first, options))
    return merge_shards(plan, shards, options)


def sibling_shards(run_dir: RunDir, result: RunResult) -> list[tuple[RunDir, RunResult]]:
    """The shard runs of the same split as `result`: same task, entry, options, subset and decoding."""
    shard = result.spec.task_params.get(SHARD_PARAM)
    if not isinstance(shard, str):
        raise ConfigError(f"{run_dir.path} is not a shard (it was made without --shard).")
    count = Shard.parse(shard).count

    def split_of(candidate: RunResult) -> object:
        spec = candidate.spec.model_dump(exclude={"data"})
        params = dict(spec.pop("task_params"))
        raw = params.pop(SHARD_PARAM, None)
        return (spec, params, Shard.parse(raw).count if isinstance(raw, str) else None)

    wanted = split_of(result)
    found = [
        (candidate_dir, candidate)
        for candidate_dir, candidate in readable_runs(run_dir.root, run_dir.task, run_dir.entry)
        if split_of(candidate) == wanted
    ]
    if len(found) < count:
        have = ", ".join(sorted(str(r.spec.task_params[SHARD_PARAM]) for _, r in found))
        raise ConfigError(
            f"{run_dir.path}: found shards {have} of {count} beside it; run the others (the same command "
            "with --shard i/n) first, or name each shard run."
        )
    return found


__all__ = [
    "Job",
    "job_options",
    "job_resources",
    "merge_runs",
    "plan_job",
    "run_plan",
]
