"""`--executor ray` on a local Ray instance (2 CPUs): each (entry, task, shard) job a Ray task writing
into one store, with progress reported, and results equal to the local executor's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import load_models
from harness.jobs import Job, job_options, job_resources, merge_runs, plan_job, run_plan
from harness.jobs.ray import JobState, run_on_ray
from harness.runner import RunOptions
from harness.runner.shard import Shard
from harness.store import RunDir
from tasks import get_task
from tests.test_shards import comparable, mock_models

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray instance for the module (starting one takes seconds); run_on_ray uses it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def records(run_dir: RunDir) -> list[dict[str, object]]:
    return [comparable(record) for record in run_dir.read_records()]


def test_ray_jobs_equal_the_local_executor(tmp_path: Path, shared_data: Path) -> None:
    models = load_models(mock_models(tmp_path))
    entry = models.entries["mock-entry"]
    mmlu, gpqa = get_task("mmlu_pro_0shot"), get_task("gpqa_diamond")

    def options(root: Path) -> RunOptions:
        return RunOptions(
            runs_root=root, data_dir=shared_data, limit=6, epochs=1, models=models, use_cache=False
        )

    local = [Job(entry, mmlu), Job(entry, gpqa)]
    local_runs = []
    for job in local:
        opts = job_options(options(tmp_path / "local"), job)
        local_runs.append(run_plan(plan_job(job.task, job.entry, opts), opts).run_dir)

    reports: list[list[JobState]] = []
    jobs = [Job(entry, mmlu, Shard(1, 2)), Job(entry, mmlu, Shard(2, 2)), Job(entry, gpqa)]
    outcomes = run_on_ray(jobs, options(tmp_path / "ray"), report=reports.append)

    assert [o.result.status for o in outcomes] == ["complete"] * 3
    final = reports[-1]
    assert [job.label for job in final] == [job.label for job in jobs]
    assert all(job.state == "complete" and job.done == job.total > 0 for job in final), final
    assert sum(job.total for job in final[:2]) == 6

    merged = merge_runs([o.run_dir for o in outcomes[:2]], options(tmp_path / "ray"))
    for local_run, ray_run in zip(local_runs, [merged.run_dir, outcomes[2].run_dir], strict=True):
        assert ray_run.spec_hash == local_run.spec_hash
        assert ray_run.read_result().metrics == local_run.read_result().metrics
        assert records(ray_run) == records(local_run)


def test_a_failing_job_is_reported_and_the_others_finish(tmp_path: Path, shared_data: Path) -> None:
    models = load_models(mock_models(tmp_path))
    entry = models.entries["mock-entry"]
    # Its own entry id, so the two jobs never share a run directory whichever finishes first.
    broken = entry.model_copy(
        update={"id": "broken-entry", "backend_options": {"rules": [{"match": "(", "reply": "x"}]}}
    )
    options = RunOptions(runs_root=tmp_path, data_dir=shared_data, limit=2, epochs=1, models=models)
    jobs = [Job(broken, get_task("mmlu_pro_0shot")), Job(entry, get_task("mmlu_pro_0shot"))]
    with pytest.raises(Exception, match=r"1 of 2 job\(s\) failed: mmlu_pro_0shot · broken-entry"):
        run_on_ray(jobs, options)
    assert len(list(tmp_path.glob("mmlu_pro_0shot/mock-entry/*/run.json"))) == 1
    assert all(not f.read_text() for f in tmp_path.glob("mmlu_pro_0shot/broken-entry/*/samples.jsonl"))


def test_jobs_reserve_their_entrys_resources() -> None:
    models = load_models(Path(__file__).resolve().parents[1] / "leaderboards" / "models.yaml")
    assert job_resources(models.entries["smollm2"], cluster_gpus=0) == {"num_cpus": 1.0, "num_gpus": 0.0}
    served = models.entries["smollm2-server"]
    assert job_resources(served, cluster_gpus=8) == {"num_cpus": 1.0, "num_gpus": 0.0}
    threads = models.entries["smollm2"].model_copy(update={"backend_options": {"n_threads": 4}})
    assert job_resources(threads, cluster_gpus=0)["num_cpus"] == 4.0
