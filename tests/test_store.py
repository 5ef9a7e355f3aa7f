"""Run directories: atomic run.json, append-only records, torn-line repair, locking, run lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import ModelEntry
from harness.errors import StoreError
from harness.importers.livecodebench_leaderboard import import_leaderboard
from harness.runner import RunOptions, plan_run
from harness.store import RunDir, atomic_write_text, iter_runs, latest_records, resolve_run
from harness.types import SCHEMA_VERSION, Completion, DataRef, Prompt, RunResult, RunSpec, SampleRecord
from tasks import get_task


def record(sample_id: str, epoch: int = 0, text: str = "Answer: A", error: str | None = None) -> SampleRecord:
    return SampleRecord(
        sample_id=sample_id,
        epoch=epoch,
        prompt=Prompt(messages=[], target="A"),
        completion=Completion(text=text, error=error),
    )


def result(task: str = "t", entry: str = "e") -> RunResult:
    spec = RunSpec(
        task=task,
        task_version="1",
        entry=entry,
        model="m",
        backend="llamacpp",
        generation=None,
        data=DataRef(dataset="d", fingerprint="f"),
    )
    return RunResult(spec=spec, spec_hash=spec.spec_hash(), status="partial")


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_records_round_trip_and_torn_last_line_is_dropped(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    with run.appender() as appender:
        appender.append(record("a"))
        appender.append(record("b"))
    intact = run.samples_path.read_bytes()
    with open(run.samples_path, "ab") as handle:
        handle.write(record("c").model_dump_json().encode()[:25])  # a write cut short by a kill
    assert [r.sample_id for r in run.read_records()] == ["a", "b"]
    assert run.samples_path.read_bytes() != intact  # reading alone does not modify the file
    run.read_records(repair=True)
    assert run.samples_path.read_bytes() == intact


def test_a_damaged_middle_line_is_reported_with_its_number(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    with run.appender() as appender:
        appender.append(record("a"))
    with open(run.samples_path, "ab") as handle:
        handle.write(b'{"not": "a record"}\n')
    with pytest.raises(StoreError, match=r"samples\.jsonl:2: not a valid sample record"):
        run.read_records()


def test_later_records_supersede_earlier_ones() -> None:
    latest = latest_records([record("a", error="boom"), record("b"), record("a", text="Answer: B")])
    assert latest[("a", 0)].completion.text == "Answer: B"
    assert list(latest) == [("a", 0), ("b", 0)]


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    with run.lock(), pytest.raises(StoreError, match="another harness process"), run.lock():
        pass


def test_resolve_run_by_path_triple_and_hash_prefix(tmp_path: Path) -> None:
    first = result("mmlu_pro", "a")
    run = RunDir.for_spec(tmp_path, "mmlu_pro", "a", first.spec_hash)
    run.write_result(first)
    assert resolve_run(str(run.path), tmp_path).path == run.path
    assert resolve_run(str(run.run_path), tmp_path).path == run.path
    assert resolve_run(f"mmlu_pro/a/{first.spec_hash}", tmp_path).path == run.path
    assert resolve_run(first.spec_hash[:6], tmp_path).path == run.path
    with pytest.raises(StoreError, match="harness ls"):
        resolve_run("nothing-like-this", tmp_path)
    assert run.read_result() == first


def test_unreadable_run_file_is_a_store_error(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.run_path.write_text('{"spec": 1}')
    with pytest.raises(StoreError, match="not a valid run file"):
        run.read_result()


def test_spec_hash_ignores_where_the_data_was_read_from() -> None:
    local = result().spec
    hub = local.model_copy(update={"data": DataRef(dataset="d", fingerprint="f", source="hub", path=None)})
    assert local.model_copy(
        update={"data": DataRef(dataset="d", fingerprint="f", path="/x")}
    ).spec_hash() == (hub.spec_hash())
    assert (
        local.model_copy(update={"data": DataRef(dataset="d", fingerprint="g")}).spec_hash()
        != hub.spec_hash()
    )


SCHEMA1 = Path(__file__).resolve().parent / "data" / "schema1"


def test_run_files_of_schema_1_are_read_and_keep_their_identity(
    tmp_path: Path, shared_data: Path, embedded_entry: ModelEntry
) -> None:
    """run.json files written before provenance and typed backend info existed still read, and today's
    code gives the same runs the same spec hashes (the same directories)."""
    runs = {run.relative(): run.read_result() for run in iter_runs(SCHEMA1)}
    embedded = runs["gpqa_diamond/smollm2/156100ad2e46"]
    assert embedded.provenance == "run" and embedded.schema_version == SCHEMA_VERSION
    assert embedded.backend_info is not None and embedded.backend_info.library == "llama-cpp-python"
    assert embedded.backend_info.settings["n_threads"] == 1
    imported = runs["mmlu_pro/qwen1.5-7b-chat/35fc8cfeb56e"]
    assert imported.provenance == "imported" and imported.backend_info is not None
    reported = runs["livecodebench/deepseek-v3/1ce463c97b1f"]
    assert reported.provenance == "reported" and reported.imported is not None
    assert reported.imported.reported_model is not None
    assert reported.imported.reported_model.display_name == "DeepSeek-V3"
    for relative, result in runs.items():
        assert result.spec.spec_hash() == relative.rsplit("/", 1)[1]

    options = RunOptions(
        runs_root=tmp_path, data_dir=shared_data, limit=2, epochs=1, generation={"max_tokens": 8}
    )
    # GPQA's version 2 (simple-evals' decoding and choice permutations) makes it another run; nothing
    # but what that version changed differs, so the spec hash is otherwise what schema 1 gave.
    planned = plan_run(get_task("gpqa_diamond"), embedded_entry, options).spec
    assert (planned.task_version, planned.task_params) == ("2", {"sampler": "chat"})
    assert planned.generation is not None and embedded.spec.generation is not None
    assert planned.generation.system_prompt == "You are a helpful assistant."
    as_before = planned.model_copy(
        update={
            "task_version": "1",
            "task_params": {},
            "generation": planned.generation.model_copy(update={"system_prompt": None}),
            "data": planned.data.model_copy(update={"fingerprint": embedded.spec.data.fingerprint}),
        }
    )
    assert as_before.spec_hash() == "156100ad2e46"
    (again,) = import_leaderboard(
        shared_data / "livecodebench/leaderboard/performances_generation_33505c0.json",
        runs_root=tmp_path,
        entry="deepseek-v3",
        model="DeepSeek-V3",
        options={"start_date": "2024-08-01", "end_date": "2024-11-30"},
    )
    # LiveCodeBench's version 2 (upstream's current prompts) makes it another run; only the version differs.
    assert again.result.spec.task_version == "2" != reported.spec.task_version
    assert again.result.spec.model_copy(update={"task_version": "1"}).spec_hash() == "1ce463c97b1f"
    assert again.result.metrics["pass_at_1"] == reported.metrics["pass_at_1"]
