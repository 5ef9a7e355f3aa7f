"""The harness-managed llama.cpp server on the embedded model, reached through openai_compat: an
end-to-end run, agreement with the in-process backend, and that the server never outlives its run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.backends import make_client
from harness.backends.servers import free_port, port_in_use
from harness.config import ModelEntry, get_entry, load_models
from harness.errors import BackendError
from harness.runner import execute, plan_run
from harness.store import latest_records
from harness.task import Task
from tests.api_support import run_options, write_models
from tests.conftest import MODELS_FILE, REPO, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def server_entry() -> ModelEntry:
    """The `smollm2-server` entry of leaderboards/models.yaml, on a port the test knows."""
    entry = get_entry(load_models(MODELS_FILE), "smollm2-server")
    assert entry.server is not None
    return entry.model_copy(update={"server": entry.server.model_copy(update={"port": free_port()})})


def wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def harness_process(
    server_entry: ModelEntry, shared_data: Path, tmp_path: Path
) -> Iterator[subprocess.Popen[str]]:
    """`harness run` on the managed server with more work than the test lets it finish."""
    models = write_models(tmp_path / "models.yaml", server_entry)
    command = [sys.executable, "-m", "harness.cli", "run", "-t", "mmlu_pro_0shot", "--limit", "40"]
    command += ["--max-tokens", "64", "--models", str(models), "--data-dir", str(shared_data)]
    command += ["-o", str(tmp_path / "results")]
    process = subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_end_to_end_run_through_the_managed_llamacpp_server(
    server_entry: ModelEntry, shared_data: Path, tmp_path: Path
) -> None:
    models = write_models(tmp_path / "models.yaml", server_entry)
    output = tmp_path / "results"

    ran = run_cli(
        "run", "-t", "mmlu_pro_0shot", "--limit", "3", "--max-tokens", "16", "--models", str(models),
        "--data-dir", str(shared_data), "-o", str(output),
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    (run_path,) = output.glob("mmlu_pro_0shot/smollm2-server/*/run.json")
    from harness.store import RunDir

    result = RunDir(run_path.parent).read_result()
    assert result.status == "complete" and result.counts.scored == 3 and result.counts.errors == 0
    assert result.backend_info is not None and result.backend_info.backend == "openai_compat"
    assert result.backend_info.managed_server is not None
    assert result.backend_info.managed_server.kind == "llamacpp"
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.cost_usd == 0.0
    assert server_entry.server is not None and not port_in_use(server_entry.server.port or 0)


def test_server_and_in_process_backend_agree_on_twenty_greedy_samples(
    server_entry: ModelEntry, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    embedded = get_entry(load_models(MODELS_FILE), "smollm2")
    # The server decodes one request at a time; so must the in-process side, since batched decoding may
    # break a near tie differently (harness/backends/llamacpp_batch.py).
    sequential = {**embedded.backend_options, "parallel": 1}
    embedded = embedded.model_copy(update={"backend_options": sequential})
    runs = {}
    for entry in (embedded, server_entry):
        options = run_options(tmp_path / entry.id, shared_data, limit=20, generation={"max_tokens": 16})
        outcome = execute(plan_run(mmlu_0shot, entry, options), options)
        assert outcome.result.status == "complete" and outcome.result.counts.errors == 0
        runs[entry.id] = latest_records(outcome.run_dir.read_records())
    local, served = runs["smollm2"], runs["smollm2-server"]
    assert local.keys() == served.keys() and len(local) == 20
    for key, record in local.items():
        other = served[key]
        # Same GGUF, the same raw text (MMLU-Pro's local protocol for self-hosted models: the server's
        # /v1/completions and llama.cpp's create_completion), greedy decoding with the same sampler settings.
        assert record.prompt.raw_text and other.prompt.raw_text
        assert other.completion.text == record.completion.text, key
        assert other.completion.usage.input_tokens == record.completion.usage.input_tokens
        assert other.score == record.score


def test_sigterm_stops_the_run_and_its_server(
    server_entry: ModelEntry, harness_process: subprocess.Popen[str]
) -> None:
    port = server_entry.server.port if server_entry.server else 0
    assert port and wait_for(lambda: port_in_use(port), 120), "the server never came up"
    harness_process.send_signal(signal.SIGTERM)
    _, stderr = harness_process.communicate(timeout=60)
    assert harness_process.returncode == 130, stderr
    assert not port_in_use(port)


def test_a_killed_harness_takes_its_server_down(
    server_entry: ModelEntry, harness_process: subprocess.Popen[str]
) -> None:
    port = server_entry.server.port if server_entry.server else 0
    assert port and wait_for(lambda: port_in_use(port), 120), "the server never came up"
    harness_process.send_signal(signal.SIGKILL)
    harness_process.wait(timeout=30)
    # The parent-death signal ends the server even though the harness had no chance to.
    assert wait_for(lambda: not port_in_use(port), 30)


def test_a_server_that_fails_to_start_is_reported_with_its_log(server_entry: ModelEntry) -> None:
    assert server_entry.server is not None
    broken = server_entry.model_copy(
        update={"server": server_entry.server.model_copy(update={"args": ["--n_ctx", "many"]})}
    )
    with pytest.raises(BackendError, match=r"(?s)exited with status .*n_ctx"):
        make_client(broken)
    assert not port_in_use(server_entry.server.port or 0)


def test_vllm_servers_are_started_with_the_openai_api_server_module(server_entry: ModelEntry) -> None:
    from harness.backends.servers import server_command
    from harness.config import ManagedServer

    entry = server_entry.model_copy(
        update={
            "model": "/models/SmolLM2-135M-Instruct",
            "server": ManagedServer(kind="vllm", args=["--enforce-eager", "--max-model-len", "4096"]),
        }
    )
    command = server_command(entry, 8123)
    assert command[1:4] == ["-m", "vllm.entrypoints.openai.api_server", "--model"]
    assert command[4:] == [
        "/models/SmolLM2-135M-Instruct", "--served-model-name", "/models/SmolLM2-135M-Instruct",
        "--generation-config", "vllm", "--host", "127.0.0.1", "--port", "8123",
        "--enforce-eager", "--max-model-len", "4096",
    ]  # fmt: skip


def test_a_managed_server_needs_the_openai_compatible_backend(server_entry: ModelEntry) -> None:
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="backend: openai_compat"):
        make_client(server_entry.model_copy(update={"backend": "llamacpp"}))
