"""`--shard i/n` and `harness merge`: shards of a run with the real embedded model merge into a run equal,
record for record and in its metrics, to the same run made whole."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from harness.backends import ModelClient
from harness.config import ModelEntry, load_models
from harness.errors import ConfigError
from harness.jobs import merge_runs, plan_job, run_plan
from harness.runner import RunOptions
from harness.runner.plan import PlannedItem
from harness.runner.shard import Shard, shard_items
from harness.store import RunDir
from harness.task import Task
from harness.types import Prompt, Sample, SampleRecord
from tests.conftest import MODELS_FILE, run_cli
from tests.test_runner import CountingClient


def items(count: int, epochs: int = 2) -> list[PlannedItem]:
    prompt = Prompt(messages=[], target="")
    return [PlannedItem(Sample(id=f"q{n}"), epoch, prompt) for n in range(count) for epoch in range(epochs)]


def test_shards_split_the_items_once_whatever_their_order() -> None:
    planned = items(200)
    shuffled = list(planned)
    random.Random(7).shuffle(shuffled)
    shards = [Shard(index, 3) for index in (1, 2, 3)]
    split = [{item.key for item in shard_items(planned, shard)[0]} for shard in shards]
    assert sum(len(keys) for keys in split) == len(planned)
    assert set().union(*split) == {item.key for item in planned}
    assert all(len(keys) > 40 for keys in split), "a hash split should be roughly even"
    assert [{item.key for item in shard_items(shuffled, shard)[0]} for shard in shards] == split
    # A larger subset keeps every item in the shard it had.
    grown = [{item.key for item in shard_items(items(300), shard)[0]} for shard in shards]
    assert all(before <= after for before, after in zip(split, grown, strict=True))
    assert shard_items(planned, Shard(2, 3))[1] == {"shard": "2/3"}
    assert shard_items(planned, None) == (planned, {})


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        Shard.parse(text)


def comparable(record: SampleRecord) -> dict[str, Any]:
    """A record without what differs between two runs of the same thing (time taken)."""
    dumped = record.model_dump()
    dumped["completion"].pop("latency_s")
    return dumped


def test_merged_shards_equal_the_unsharded_run(
    tmp_path: Path,
    shared_data: Path,
    embedded_entry: ModelEntry,
    embedded_client: ModelClient,
    mmlu_0shot: Task,
) -> None:
    def run(root: Path, shard: Shard | None) -> RunDir:
        options = RunOptions(
            runs_root=root,
            data_dir=shared_data,
            limit=4,
            epochs=1,
            generation={"max_tokens": 8},
            use_cache=False,
            shard=shard,
        )
        plan = plan_job(mmlu_0shot, embedded_entry, options)
        return run_plan(plan, options, client_factory=lambda e: CountingClient(embedded_client)).run_dir

    whole = run(tmp_path / "whole", None)
    shards = [run(tmp_path / "sharded", Shard(index, 2)) for index in (1, 2)]
    sizes = [len(shard.read_records()) for shard in shards]
    assert sum(sizes) == 4 and all(sizes), sizes
    assert len({whole.spec_hash, *(shard.spec_hash for shard in shards)}) == 3, "a shard is its own run"

    # One shard named on the command line; the other is found beside it.
    merged = run_cli(
        "merge", shards[1].relative(), "--runs", str(tmp_path / "sharded"), "--data-dir", str(shared_data),
        "--models", str(MODELS_FILE),
    )  # fmt: skip
    assert merged.returncode == 0, merged.stderr
    merged_dir = RunDir.for_spec(tmp_path / "sharded", whole.task, whole.entry, whole.spec_hash)
    assert merged_dir.exists(), merged.stdout

    expected, actual = whole.read_result(), merged_dir.read_result()
    assert actual.spec == expected.spec and actual.spec_hash == expected.spec_hash
    assert actual.metrics == expected.metrics and actual.categories == expected.categories
    assert actual.status == "complete" and actual.counts.planned == actual.counts.scored == 4
    assert actual.usage == expected.usage
    want = [comparable(r) for r in whole.read_records()]
    got = [comparable(r) for r in merged_dir.read_records()]
    assert got == want

    again = run_cli(
        "merge", shards[0].relative(), "--runs", str(tmp_path / "sharded"), "--data-dir", str(shared_data)
    )
    assert again.returncode == 2 and "already holds the whole run" in again.stderr


MOCK = """
  mock-entry:
    display_name: Mock entry
    organisation: test
    backend: mock
    model: mock-entry
    backend_options: {default: "The answer is (A)."}
"""


def mock_models(tmp_path: Path) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(MODELS_FILE.read_text(encoding="utf-8") + MOCK, encoding="utf-8")
    return path


def test_merge_refuses_an_incomplete_split(tmp_path: Path, shared_data: Path, mmlu_0shot: Task) -> None:
    models = load_models(mock_models(tmp_path))
    options = RunOptions(runs_root=tmp_path, data_dir=shared_data, limit=9, epochs=1, shard=Shard(1, 3))
    shard = run_plan(plan_job(mmlu_0shot, models.entries["mock-entry"], options), options).run_dir
    assert shard.read_result().status == "complete"
    with pytest.raises(ConfigError, match="found shards 1/3 of 3"):
        merge_runs([shard], RunOptions(runs_root=tmp_path, data_dir=shared_data, models=models))
