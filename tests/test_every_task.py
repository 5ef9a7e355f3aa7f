"""Every registered task runs end to end on the scripted mock backend, so a task is covered the day it
is registered: planned from the real data, answered, scored (sandbox or judge included), stored, listed
and shown by the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.store import RunDir, latest_records
from tasks import TASKS, options_model
from tests.conftest import MODELS_FILE, run_cli
from tests.lcb_support import FIXTURE_ROW, OWN_DATA, require_sandbox

# One answer that every protocol can parse: a fenced program, MMLU-Pro's and GPQA's answer lines.
ANSWER = "Reasoning.\\n```python\\nprint(input())\\n```\\nThe answer is (A).\\nAnswer: A"
MOCKS = f"""
  mock-entry:
    display_name: Mock entry
    organisation: test
    backend: mock
    model: mock-entry
    backend_options: {{default: "{ANSWER}"}}
  mock-judge:
    display_name: Mock judge
    organisation: test
    backend: mock
    model: mock-judge
    backend_options: {{default: "Both are fine. My final verdict is tie: [[A=B]]"}}
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """The shared benchmark data, plus LiveCodeBench problems with tests (ours and one upstream row)."""
    root = tmp_path_factory.mktemp("data")
    for child in shared_data.iterdir():
        if child.is_dir() and child.name != "livecodebench":
            (root / child.name).symlink_to(child)
    problems = root / "livecodebench"
    problems.mkdir()
    (problems / "own.jsonl").symlink_to(OWN_DATA / "livecodebench" / "problems.jsonl")
    (problems / "upstream.jsonl").symlink_to(shared_data / FIXTURE_ROW)
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "models.yaml"
    path.write_text(MODELS_FILE.read_text(encoding="utf-8") + MOCKS, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(TASKS))
def test_registered_task_runs_end_to_end_on_the_mock(
    name: str, tmp_path: Path, data_dir: Path, models: Path
) -> None:
    fields = options_model(name).model_fields
    options = ["-T", "judge=mock-judge"] if "judge" in fields else []
    if "test_timeout" in fields:
        require_sandbox()
    runs = tmp_path / "runs"
    ran = run_cli(
        "run", "-t", name, "-m", "mock-entry", "--limit", "3", "--epochs", "1", "--data-dir", str(data_dir),
        "--models", str(models), "--runs", str(runs), *options,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (run_file,) = runs.glob(f"{name}/mock-entry/*/run.json")
    run = RunDir(run_file.parent)
    result = run.read_result()
    assert result.status == "complete" and result.provenance == "run"
    assert result.counts.planned == result.counts.scored == 3
    assert result.headline in result.metrics
    records = latest_records(run.read_records())
    assert len(records) == 3 and all(r.score is not None for r in records.values())
    assert json.loads(run.run_path.read_text())["backend_info"]["backend"] == "mock"
    listed = run_cli("ls", "--runs", str(runs))
    assert listed.returncode == 0 and name in listed.stdout
    shown = run_cli("show", result.spec_hash, "--samples", "1", "--runs", str(runs))
    assert shown.returncode == 0, shown.stderr
