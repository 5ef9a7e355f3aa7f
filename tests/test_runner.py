"""Resume semantics with the real embedded model: nothing finished is generated twice, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.backends import Admit, ModelClient
from harness.config import ModelEntry
from harness.runner import RunOptions, execute, plan_run, rescore
from harness.store import RunDir
from harness.types import BackendInfo, Completion, GenerationRequest
from tasks import get_task
from tests.conftest import MODELS_FILE, REPO


class CountingClient:
    """Wraps the real model, counts every generation, and can crash or fail a sample on purpose."""

    def __init__(
        self, inner: ModelClient, *, crash_after: int | None = None, fail_ids: Sequence[str] = ()
    ) -> None:
        self.inner = inner
        self.calls = 0
        self.crash_after = crash_after
        self.fail_ids = set(fail_ids)
        self.prompts: list[str] = []

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        for index, completion in self.inner.generate(requests, admit):
            self.calls += 1
            self.prompts.append(requests[index].messages[-1].content)
            if self.crash_after is not None and self.calls > self.crash_after:
                raise KeyboardInterrupt
            if any(sample_id in requests[index].messages[-1].content for sample_id in self.fail_ids):
                completion = Completion(text="", error="injected failure", error_retryable=True)
            yield index, completion

    def info(self) -> BackendInfo:
        return self.inner.info()

    def close(self) -> None:
        pass  # the session's model stays loaded for the other tests


def options(tmp_path: Path, shared_data: Path, **extra: Any) -> RunOptions:
    return RunOptions(
        runs_root=tmp_path, data_dir=shared_data, limit=4, epochs=1, generation={"max_tokens": 16}, **extra
    )


def test_interrupted_run_resumes_without_regenerating(
    tmp_path: Path, shared_data: Path, embedded_entry: ModelEntry, embedded_client: ModelClient
) -> None:
    opts = options(tmp_path, shared_data)
    plan = plan_run(get_task("gpqa_diamond"), embedded_entry, opts)
    crashing = CountingClient(embedded_client, crash_after=2)
    with pytest.raises(KeyboardInterrupt):
        execute(plan, opts, client_factory=lambda entry: crashing)
    run = RunDir.for_spec(tmp_path, "gpqa_diamond", "smollm2", plan.spec.spec_hash())
    assert len(run.read_records()) == 2
    assert run.read_result().status == "partial"

    resuming = CountingClient(embedded_client)
    outcome = execute(
        plan_run(get_task("gpqa_diamond"), embedded_entry, opts), opts, client_factory=lambda e: resuming
    )
    assert resuming.calls == 2
    assert (outcome.generated, outcome.reused) == (2, 2)
    assert outcome.result.status == "complete"
    assert sorted(r.sample_id for r in run.read_records()) == sorted(i.sample.id for i in plan.items)

    samples_before, run_before = run.samples_path.read_bytes(), run.run_path.read_bytes()

    def no_model(entry: ModelEntry) -> ModelClient:
        raise AssertionError("a finished run must not load the model")

    again = execute(plan_run(get_task("gpqa_diamond"), embedded_entry, opts), opts, client_factory=no_model)
    assert (again.generated, again.reused) == (0, 4)
    assert run.samples_path.read_bytes() == samples_before
    assert run.run_path.read_bytes() == run_before


def test_errored_samples_fail_the_run_and_only_they_are_retried(
    tmp_path: Path, shared_data: Path, embedded_entry: ModelEntry, embedded_client: ModelClient
) -> None:
    opts = options(tmp_path, shared_data)
    plan = plan_run(get_task("mmlu_pro_0shot"), embedded_entry, opts)
    victim = plan.items[1].sample
    failing = CountingClient(embedded_client, fail_ids=[victim.data["question"][:60]])
    outcome = execute(plan, opts, client_factory=lambda e: failing)
    assert outcome.result.status == "failed"  # 1 of 4 errored, above the default 5%
    assert outcome.result.counts.errors == 1
    assert outcome.result.metrics["error_rate"].value == 0.25
    # The errored sample counts as wrong: it stays in the denominator.
    records = [r for r in outcome.run_dir.read_records() if r.completion.error is None]
    assert outcome.result.metrics["accuracy"].n == 4
    assert outcome.result.metrics["accuracy"].value == sum(r.score.value for r in records if r.score) / 4

    retry = CountingClient(embedded_client)
    outcome = execute(
        plan_run(get_task("mmlu_pro_0shot"), embedded_entry, opts), opts, client_factory=lambda e: retry
    )
    assert retry.calls == 1 and victim.data["question"][:60] in retry.prompts[0]
    assert outcome.result.status == "complete" and outcome.result.counts.errors == 0
    lines = outcome.run_dir.samples_path.read_text().splitlines()
    assert len(lines) == 4  # the superseded error was compacted away
    assert outcome.result.counts.generated == 5


def test_lenient_error_rate_completes_with_errors_recorded(
    tmp_path: Path, shared_data: Path, embedded_entry: ModelEntry, embedded_client: ModelClient
) -> None:
    opts = options(tmp_path, shared_data, max_error_rate=0.5)
    plan = plan_run(get_task("mmlu_pro_0shot"), embedded_entry, opts)
    failing = CountingClient(embedded_client, fail_ids=[plan.items[0].sample.data["question"][:60]])
    outcome = execute(plan, opts, client_factory=lambda e: failing)
    assert outcome.result.status == "complete" and outcome.result.counts.errors == 1


def test_rescore_in_place_and_into_a_new_version(
    tmp_path: Path,
    shared_data: Path,
    embedded_entry: ModelEntry,
    embedded_client: ModelClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opts = options(tmp_path, shared_data)
    plan = plan_run(get_task("gpqa_diamond"), embedded_entry, opts)
    first = execute(plan, opts, client_factory=lambda e: CountingClient(embedded_client))
    same = rescore(first.run_dir, opts)
    assert same.run_dir.path == first.run_dir.path
    assert same.result.metrics == first.result.metrics

    from tasks.gpqa import GPQADiamond

    monkeypatch.setattr(GPQADiamond, "version", "3")
    monkeypatch.setattr(GPQADiamond, "score", lambda self, prompt, completion, context: first_score(prompt))
    newer = rescore(first.run_dir, opts)
    assert newer.run_dir.path != first.run_dir.path
    assert newer.result.spec.task_version == "3"
    assert newer.result.metrics["accuracy"].value == 1.0
    assert first.run_dir.read_result().spec.task_version == "2"  # the old run is untouched


def first_score(prompt: Any) -> Any:
    from harness.types import Score

    return Score(value=1.0, extracted=prompt.target)


def test_sigkill_at_any_point_loses_and_duplicates_nothing(tmp_path: Path, shared_data: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "--task",
        "gpqa_diamond",
        "--limit",
        "5",
        "--epochs",
        "1",
        "--max-tokens",
        "24",
        "--data-dir",
        str(shared_data),
        "--output-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_MODELS": str(MODELS_FILE)}

    def samples_file() -> Path | None:
        found = list(tmp_path.glob("gpqa_diamond/smollm2/*/samples.jsonl"))
        return found[0] if found else None

    def line_count() -> int:
        path = samples_file()
        return len(path.read_bytes().splitlines()) if path else 0

    appended = 0
    for kill_when in (0, 2, 4):  # before any record, then after 2 and 4 records
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        before = line_count()
        while line_count() < kill_when and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        appended += line_count() - before

    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    path = samples_file()
    assert path is not None
    keys = [(r["sample_id"], r["epoch"]) for r in map(json.loads, path.read_text().splitlines())]
    assert len(keys) == len(set(keys)) == 5
    generated_now = 5 - appended
    assert f"generated {generated_now}, reused {appended}" in " ".join(final.stdout.split())
    result = json.loads(path.with_name("run.json").read_text())
    assert result["status"] == "complete"
