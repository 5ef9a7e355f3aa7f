"""Fault tolerance of the API backends against a real fault-injecting server on 127.0.0.1: retries,
timeouts, error recording, the error-rate gate, resuming failed samples, the spending limit, and that
no API key reaches any file a run writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.config import ModelEntry
from harness.errors import BackendError, ConfigError
from harness.runner import execute, plan_run
from harness.store import RunDir, latest_records
from harness.task import Task
from harness.types import RunResult
from tests.api_support import (
    KEY,
    KEY_ENV,
    api_entry,
    files_containing,
    last_user_messages,
    run_options,
    write_models,
)
from tests.conftest import REPO, run_cli
from tests.fault_server import ANSWER, Fault, FaultServer

BACKENDS = ["openai_compat", "openai-sdk", "anthropic"]


def entry_for(server: FaultServer, backend: str, **fields: Any) -> ModelEntry:
    if backend == "openai-sdk":
        return api_entry(server, backend_options={"transport": "openai-sdk"}, **fields)
    return api_entry(server, backend=backend, **fields)


@pytest.mark.parametrize("backend", BACKENDS)
def test_transient_faults_are_retried_until_answered(
    backend: str, fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = entry_for(fault_server, backend, request_timeout_s=1.0)
    options = run_options(tmp_path, shared_data, limit=8)
    plan = plan_run(mmlu_0shot, entry, options)
    prompts = last_user_messages(plan)
    faults = {
        prompts[0]: [Fault("rate_limit", retry_after="1")],
        prompts[1]: [Fault("server_error"), Fault("overloaded")],
        prompts[2]: [Fault("hang")],
        prompts[3]: [Fault("malformed")],
        prompts[4]: [Fault("reset")],
        prompts[5]: [Fault("slow", seconds=3.0)],  # trickles past the 1 s deadline
    }
    for prompt, script in faults.items():
        fault_server.script(prompt, script)

    outcome = execute(plan, options)

    assert outcome.result.status == "complete"
    assert outcome.result.counts.errors == 0
    records = latest_records(outcome.run_dir.read_records())
    assert {r.completion.text for r in records.values()} == {ANSWER}
    for prompt, script in faults.items():
        assert len(fault_server.requests_for(prompt)) == len(script) + 1, script
    limited = fault_server.requests_for(prompts[0])
    # Retry-After: 1 was honoured (a lower bound, not a speed assertion).
    assert limited[1].at - limited[0].at >= 0.95
    untouched = fault_server.requests_for(prompts[7])
    assert len(untouched) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_faults_that_persist_are_recorded_as_retryable_errors(
    backend: str, fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = entry_for(fault_server, backend, max_retries=2, request_timeout_s=0.5)
    options = run_options(tmp_path, shared_data, limit=4, max_error_rate=1.0)
    plan = plan_run(mmlu_0shot, entry, options)
    prompts = last_user_messages(plan)
    fault_server.script(prompts[0], [Fault("server_error")] * 10)
    fault_server.script(prompts[1], [Fault("hang")] * 10)

    outcome = execute(plan, options)

    records = {
        r.prompt.messages[-1].content: r for r in latest_records(outcome.run_dir.read_records()).values()
    }
    for prompt, cause in ((prompts[0], "HTTP 500"), (prompts[1], "no complete response within 0.5s")):
        completion = records[prompt].completion
        assert completion.error is not None and completion.error_retryable
        assert "gave up after 3 attempt(s)" in completion.error and cause in completion.error
        assert records[prompt].score is None
        assert len(fault_server.requests_for(prompt)) == 3
    assert outcome.result.counts.errors == 2
    assert outcome.result.status == "complete"  # max_error_rate=1.0 lets it through


@pytest.mark.parametrize("backend", BACKENDS)
def test_permanent_errors_are_recorded_without_retrying(
    backend: str, fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = entry_for(fault_server, backend)
    options = run_options(tmp_path, shared_data, limit=5)
    plan = plan_run(mmlu_0shot, entry, options)
    prompts = last_user_messages(plan)
    expected = {
        prompts[0]: ("context_length", "context length exceeded"),
        prompts[1]: ("bad_request", "bad request: HTTP 400"),
        prompts[2]: ("content_filter", "content filter"),
    }
    for prompt, (kind, _) in expected.items():
        fault_server.script(prompt, [Fault(kind)] * 3)

    outcome = execute(plan, options)

    records = {
        r.prompt.messages[-1].content: r for r in latest_records(outcome.run_dir.read_records()).values()
    }
    for prompt, (_, message) in expected.items():
        completion = records[prompt].completion
        assert completion.error is not None and message in completion.error
        assert not completion.error_retryable
        assert len(fault_server.requests_for(prompt)) == 1
    # 3 of 5 errored: far above the default 5% gate.
    assert outcome.result.status == "failed"
    assert outcome.result.metrics["error_rate"].value == pytest.approx(0.6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_usage_fields_keep_the_answer_and_mark_the_cost_unknown(
    backend: str, fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = entry_for(fault_server, backend)
    options = run_options(tmp_path, shared_data, limit=3)
    plan = plan_run(mmlu_0shot, entry, options)
    prompts = last_user_messages(plan)
    fault_server.script(prompts[0], [Fault("bad_usage")])

    outcome = execute(plan, options)

    records = {
        r.prompt.messages[-1].content: r for r in latest_records(outcome.run_dir.read_records()).values()
    }
    odd = records[prompts[0]].completion
    assert odd.error is None and odd.text == ANSWER and odd.usage_missing and odd.cost_usd is None
    assert records[prompts[0]].score is not None
    others = [records[p].completion.cost_usd for p in prompts[1:]]
    assert outcome.result.cost_usd == pytest.approx(sum(c for c in others if c is not None))
    assert any("no readable token counts" in note for note in outcome.result.notes)
    assert outcome.result.status == "complete"


def test_authentication_failure_stops_the_run_with_a_clear_message(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = api_entry(fault_server, concurrency=2)
    options = run_options(tmp_path, shared_data, limit=6)
    plan = plan_run(mmlu_0shot, entry, options)
    for prompt in last_user_messages(plan):
        fault_server.script(prompt, [Fault("unauthorized")])

    with pytest.raises(BackendError, match=rf"refused the credentials.*\${KEY_ENV}"):
        execute(plan, options)

    run = RunDir.for_spec(tmp_path, plan.spec.task, plan.spec.entry, plan.spec.spec_hash())
    assert run.read_result().status == "partial"
    # Nothing is retried after a 401: at most one call per worker was in flight.
    assert len(fault_server.requests) <= 2


def test_a_missing_key_is_a_config_error_naming_the_variable(
    fault_server: FaultServer,
    mmlu_0shot: Task,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    options = run_options(tmp_path, shared_data, limit=2)
    plan = plan_run(mmlu_0shot, api_entry(fault_server), options)
    with pytest.raises(ConfigError, match=rf"\${KEY_ENV}, which is not set"):
        execute(plan, options)
    assert fault_server.requests == []


def test_error_rate_gate_fails_the_run_and_the_next_run_retries_only_failed_samples(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = api_entry(fault_server)
    models = write_models(tmp_path / "models.yaml", entry)
    output = tmp_path / "results"
    plan = plan_run(mmlu_0shot, entry, run_options(output, shared_data, limit=10))
    prompts = last_user_messages(plan)
    fault_server.script(prompts[3], [Fault("context_length")])
    common = ["run", "-t", "mmlu_pro_0shot", "--max-tokens", "64", "--models", str(models)]
    common += ["--data-dir", str(shared_data), "-o", str(output)]
    args = [*common, "--limit", "10"]

    first = run_cli(*args)

    assert first.returncode == 1, first.stderr
    assert "failed:" in first.stderr and "1 of 10 samples errored" in first.stderr
    run = RunDir.for_spec(output, "mmlu_pro_0shot", entry.id, plan.spec.spec_hash())
    assert run.read_result().status == "failed"
    assert len(fault_server.requests) == 10

    second = run_cli(*args)

    assert second.returncode == 0, second.stderr
    assert "generated 1, reused 9" in " ".join(second.stdout.split())
    assert len(fault_server.requests) == 11
    assert len(fault_server.requests_for(prompts[3])) == 2
    result = run.read_result()
    assert result.status == "complete" and result.counts.errors == 0 and result.counts.generated == 11
    lines = run.samples_path.read_text().splitlines()
    assert len(lines) == 10  # the errored record was replaced, not duplicated

    # A higher threshold lets a run with the same error rate complete.
    fault_server.script(prompts[0], [Fault("context_length")])
    third = run_cli(*common, "--limit", "11", "--max-error-rate", "0.2", "--no-cache")
    assert third.returncode == 0, third.stderr


def test_max_cost_stops_before_spending_more_and_resumes(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    # Every response: 1000 prompt + 50 output tokens at $2.5 / $10 per million = $0.003.
    entry = api_entry(fault_server, concurrency=1)
    models = write_models(tmp_path / "models.yaml", entry)
    output = tmp_path / "results"
    args = ["run", "-t", "mmlu_pro_0shot", "--limit", "10", "--max-tokens", "64", "--models", str(models)]
    args += ["--data-dir", str(shared_data), "-o", str(output)]

    stopped = run_cli(*args, "--max-cost", "0.01")

    assert stopped.returncode == 1, stopped.stderr
    assert "stopped by --max-cost" in stopped.stderr
    sent = len(fault_server.requests)
    assert 1 <= sent < 10
    assert sent * 0.003 <= 0.01
    (run_path,) = output.glob("mmlu_pro_0shot/fault-api/*/run.json")
    result = RunResult.model_validate_json(run_path.read_text())
    assert result.status == "partial" and result.counts.scored == sent
    assert result.cost_usd == pytest.approx(sent * 0.003)

    resumed = run_cli(*args, "--max-cost", "1")

    assert resumed.returncode == 0, resumed.stderr
    assert len(fault_server.requests) == 10  # nothing was sent twice
    result = RunResult.model_validate_json(run_path.read_text())
    assert result.status == "complete" and result.cost_usd == pytest.approx(10 * 0.003)


def test_no_api_key_in_any_file_the_run_wrote(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = api_entry(fault_server)
    claude = api_entry(fault_server, backend="anthropic")
    models = write_models(tmp_path / "models.yaml", entry, claude)
    output = tmp_path / "results"
    plan = plan_run(mmlu_0shot, entry, run_options(output, shared_data, limit=4))
    prompts = last_user_messages(plan)
    for model in (entry.id, claude.id):
        # A server that echoes the credentials into an error and into an answer.
        fault_server.script(prompts[0], [Fault("echo_key")])
        fault_server.script(prompts[1], [Fault("echo_key_answer")])
        fault_server.script(prompts[2], [Fault("server_error")])
        result = run_cli(
            "run", "-t", "mmlu_pro_0shot", "--limit", "4", "--max-tokens", "64", "-m", model, "--models",
            str(models), "--data-dir", str(shared_data), "-o", str(output), "--max-error-rate", "1",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert KEY not in result.stdout and KEY not in result.stderr
        shown = run_cli("show", f"mmlu_pro_0shot/{model}", "--samples", "4", "-o", str(output))
        assert KEY not in shown.stdout

    sent = fault_server.requests_for(prompts[1])
    assert [r.path for r in sent] == ["/v1/chat/completions", "/v1/messages"]
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in sent)
    assert (output / ".cache" / "requests.sqlite").is_file()
    assert files_containing(output, KEY) == []
    assert files_containing(output, "[redacted]"), "the echoed key should have been recorded redacted"


def test_interrupted_run_keeps_what_it_has_and_resumes(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = api_entry(fault_server, concurrency=2, request_timeout_s=60.0)
    models = write_models(tmp_path / "models.yaml", entry)
    output = tmp_path / "results"
    plan = plan_run(mmlu_0shot, entry, run_options(output, shared_data, limit=6))
    prompts = last_user_messages(plan)
    for prompt in prompts[2:]:
        fault_server.script(prompt, [Fault("hang")])
    fault_server.hang_s = 60.0
    args = ["run", "-t", "mmlu_pro_0shot", "--limit", "6", "--max-tokens", "64", "--models", str(models)]
    args += ["--data-dir", str(shared_data), "-o", str(output)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while sum(1 for p in prompts[2:] if fault_server.requests_for(p)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # let the runner append the two answered records
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    fault_server.scripts.clear()

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    (run_path,) = output.glob("mmlu_pro_0shot/fault-api/*/run.json")
    samples = run_path.parent / "samples.jsonl"
    kept = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(kept) == 2 and all(r["completion"]["error"] is None for r in kept)

    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert RunResult.model_validate_json(run_path.read_text()).status == "complete"
    # The two answered samples were not asked again; the two cut off were, and the rest once.
    assert [len(fault_server.requests_for(p)) for p in prompts] == [1, 1, 2, 2, 1, 1]
