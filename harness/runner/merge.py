"""`harness merge`: shard runs (`--shard i/n`) back into the whole run they split.

`merge_shards` checks that the shards are the split of one run (each shard's spec is exactly the one
that run's plan gives that shard) and cover every planned item of it once, then writes the whole run
into the directory an unsharded run would have: its records in plan order, its metrics computed over
them, so it equals the unsharded run record for record. Counts and timings are the shards' sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from harness.errors import ConfigError
from harness.runner.generate import RunOutcome
from harness.runner.plan import Plan, RunOptions, make_plan
from harness.runner.results import Session, build_result, write_run
from harness.runner.shard import SHARD_PARAM, Shard, shard_items
from harness.store import RunDir, latest_records
from harness.types import BackendInfo, RunResult, SampleRecord, Timings


def whole_run_options(result: RunResult, options: RunOptions) -> RunOptions:
    """`options` set to plan the whole run a shard run belongs to: its subset, epochs, seed, decoding."""
    spec = result.spec
    if not isinstance(spec.task_params.get(SHARD_PARAM), str):
        raise ConfigError(
            f"run {spec.task}/{spec.entry}/{result.spec_hash} is not a shard (it was made without --shard)."
        )
    return replace(
        options,
        limit=spec.limit,
        epochs=spec.epochs,
        seed=spec.seed,
        generation=spec.generation.model_dump() if spec.generation is not None else {},
        shard=None,
    )


def merge_shards(plan: Plan, shards: Sequence[tuple[RunDir, RunResult]], options: RunOptions) -> RunOutcome:
    """Write the whole run `plan` describes from its shard runs, which must cover it exactly once."""
    whole = plan.spec.spec_hash()
    counts = {int(str(result.spec.task_params[SHARD_PARAM]).split("/")[1]) for _, result in shards}
    if len(counts) != 1:
        raise ConfigError(
            f"the runs are shards of different splits (into {', '.join(map(str, sorted(counts)))}); "
            "merge the shards of one split."
        )
    count = counts.pop()
    seen: dict[int, RunDir] = {}
    for run_dir, result in shards:
        shard = Shard.parse(str(result.spec.task_params[SHARD_PARAM]))
        if shard.index in seen:
            raise ConfigError(f"shard {shard} is given twice ({seen[shard.index].path} and {run_dir.path}).")
        seen[shard.index] = run_dir
        expected = _shard_spec_hash(plan, shard)
        if result.spec_hash != expected:
            raise ConfigError(
                f"{run_dir.path} is not shard {shard} of {plan.spec.task}/{plan.spec.entry}/{whole}: its "
                "spec differs (task options, decoding, subset or data). Merge shards of one command line."
            )
        if result.status != "complete":
            raise ConfigError(
                f"{run_dir.path} is {result.status}: resume that shard (run its command again) first."
            )
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise ConfigError(
            f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} of {plan.spec.task}/{plan.spec.entry} "
            "are missing; run them (the same command with --shard i/n) and merge again."
        )
    records: dict[tuple[str, int], SampleRecord] = {}
    for run_dir, _ in shards:
        records.update(latest_records(run_dir.read_records()))
    absent = [item.key for item in plan.items if item.key not in records]
    if absent:
        raise ConfigError(
            f"the shards lack {len(absent)} planned sample(s), e.g. {absent[0]}; resume the shards first."
        )
    results = [result for _, result in shards]
    session = Session(
        generated=sum(r.counts.generated for r in results),
        backend_info=_common_backend(results),
    )
    planned = [records[item.key] for item in plan.items]
    result = build_result(
        plan,
        {record.key: record for record in planned},
        max_error_rate=options.max_error_rate,
        session=session,
        grading=results[0].grading,
        timings=_summed(results),
    )
    run_dir = RunDir.for_spec(options.runs_root, plan.spec.task, plan.spec.entry, whole)
    with run_dir.lock():
        if run_dir.exists() or run_dir.samples_path.exists():
            raise ConfigError(
                f"{run_dir.path} already holds the whole run; remove it to merge its shards again."
            )
        write_run(run_dir, result, planned)
    return RunOutcome(run_dir=run_dir, result=result, generated=0, reused=len(planned))


def _shard_spec_hash(plan: Plan, shard: Shard) -> str:
    """The spec hash the shard run of `plan` has: its items' fingerprint and the shard parameter."""
    items, params = shard_items(plan.items, shard)
    shard_plan = make_plan(
        plan.task,
        plan.source,
        plan.loaded,
        items,
        epochs=plan.spec.epochs,
        seed=plan.spec.seed,
        limit=plan.spec.limit,
        params={**{k: v for k, v in plan.spec.task_params.items() if k not in plan.task.params()}, **params},
    )
    return shard_plan.spec.spec_hash()


def _common_backend(results: Sequence[RunResult]) -> BackendInfo | None:
    infos = [r.backend_info for r in results if r.backend_info is not None]
    return infos[0] if infos else None


def _summed(results: Sequence[RunResult]) -> Timings:
    starts = [r.timings.started_at for r in results if r.timings.started_at]
    ends = [r.timings.finished_at for r in results if r.timings.finished_at]
    return Timings(
        started_at=min(starts) if starts else None,
        finished_at=max(ends) if ends else None,
        total_s=sum(r.timings.total_s for r in results),
        plan_s=sum(r.timings.plan_s for r in results),
        model_load_s=sum(r.timings.model_load_s for r in results),
        model_s=sum(r.timings.model_s for r in results),
        scoring_s=sum(r.timings.scoring_s for r in results),
    )
