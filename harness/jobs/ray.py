"""`--executor ray`: each (entry, task, shard) job a Ray task, with the entry's resources.

Jobs are planned and run inside their Ray task (`plan_job` + `run_plan`, exactly as the local executor
does), and write into the runs folder, which every node must see at the same path (a shared file
system on a cluster). A job reserves what its entry needs (`harness.jobs.job_resources`): its vLLM
engine's GPUs where the cluster has GPUs (vLLM's own tensor / pipeline parallelism runs inside the
job), else CPUs. Progress comes back through a small Ray actor: each job reports its planned, resumed
and finished samples, and the driver shows them. Ray is started locally when no cluster is named
(`--ray-address` or `RAY_ADDRESS`); a job that fails is reported and the others go on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.jobs import Job, job_options, job_resources, plan_job, run_plan
from harness.runner import RunOptions, RunOutcome
from harness.types import SampleRecord

INSTALL_HINT = "install Ray with `pip install -e '.[ray]'`"
# How often a job sends its progress, and the driver reads it.
REPORT_INTERVAL_S = 0.5


@dataclass
class JobState:
    label: str
    total: int = 0
    done: int = 0
    state: str = "queued"


class ProgressBoard:
    """The progress of every job (a Ray actor on the driver's side)."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.jobs = [JobState(label) for label in labels]

    def start(self, index: int, total: int, completed: int) -> None:
        job = self.jobs[index]
        job.total, job.done, job.state = total, completed, "running"

    def advance(self, index: int, count: int) -> None:
        self.jobs[index].done += count

    def finish(self, index: int, state: str) -> None:
        self.jobs[index].state = state

    def snapshot(self) -> list[JobState]:
        return self.jobs


class RayProgress:
    """A job's ProgressReporter: counts records and sends them to the board at most twice a second."""

    def __init__(self, board: Any, index: int) -> None:
        self.board = board
        self.index = index
        self.unsent = 0
        self.sent_at = 0.0

    def start(self, description: str, total: int, completed: int) -> None:
        self.board.start.remote(self.index, total, completed)

    def advance(self, record: SampleRecord) -> None:
        self.unsent += 1
        if time.monotonic() - self.sent_at >= REPORT_INTERVAL_S:
            self.flush()

    def finish(self) -> None:
        self.flush()

    def flush(self) -> None:
        if self.unsent:
            self.board.advance.remote(self.index, self.unsent)
            self.unsent = 0
        self.sent_at = time.monotonic()


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(f"--executor ray needs Ray: {INSTALL_HINT}.") from exc
    return ray


def run_job(job: Job, options: RunOptions, board: Any, index: int) -> RunOutcome:
    """One job, inside its Ray task."""
    options = job_options(options, job)
    progress = RayProgress(board, index)
    try:
        outcome = run_plan(plan_job(job.task, job.entry, options), options, progress=progress)
    except BaseException:
        board.finish.remote(index, "failed")
        raise
    board.finish.remote(index, outcome.result.status)
    return outcome


def run_on_ray(
    jobs: Sequence[Job],
    options: RunOptions,
    *,
    address: str | None = None,
    report: Callable[[list[JobState]], None] | None = None,
    num_cpus: int | None = None,
) -> list[RunOutcome]:
    """Run the jobs on Ray (a local instance unless `address` or RAY_ADDRESS names a cluster); the
    outcomes in job order. Raises after all jobs ended when any failed."""
    if options.budget is not None:
        raise ConfigError(
            "--max-cost keeps one account in one process; with --executor ray the jobs run apart. Run "
            "without --max-cost, or with the local executor."
        )
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address or os.environ.get("RAY_ADDRESS"),
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        return _run(ray, jobs, options, report)
    finally:
        if started_here:
            ray.shutdown()


def _run(
    ray: Any, jobs: Sequence[Job], options: RunOptions, report: Callable[[list[JobState]], None] | None
) -> list[RunOutcome]:
    cluster = ray.cluster_resources()
    gpus, cpus = float(cluster.get("GPU", 0)), float(cluster.get("CPU", 0))
    board = ray.remote(ProgressBoard).remote([job.label for job in jobs])
    remote = ray.remote(run_job)
    pending: dict[Any, int] = {}
    for index, job in enumerate(jobs):
        needs = job_resources(job.entry, gpus)
        if needs["num_gpus"] > gpus or needs["num_cpus"] > cpus:
            raise ConfigError(
                f"{job.label} needs {needs['num_cpus']:g} CPU and {needs['num_gpus']:g} GPU; the Ray cluster "
                f"has {cpus:g} CPU and {gpus:g} GPU in all."
            )
        task = remote.options(
            num_cpus=needs["num_cpus"], num_gpus=needs["num_gpus"], name=job.label, max_retries=0
        )
        pending[task.remote(job, options, board, index)] = index
    outcomes: dict[int, RunOutcome] = {}
    failures: list[str] = []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1, timeout=REPORT_INTERVAL_S)
        for ref in done:
            index = pending.pop(ref)
            try:
                outcomes[index] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                failures.append(f"{jobs[index].label}: {cause}")
        if report is not None:
            report(ray.get(board.snapshot.remote()))
    if failures:
        raise HarnessError(f"{len(failures)} of {len(jobs)} job(s) failed: " + "; ".join(failures))
    return [outcomes[index] for index in range(len(jobs))]
