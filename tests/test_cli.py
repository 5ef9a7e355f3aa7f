"""The `harness` command end to end, on the real embedded model and the real data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.cli.common import console, summary_table
from harness.config import ModelEntry
from harness.runner.generate import RunOutcome
from tests.conftest import run_cli
from tests.site_helpers import write_hostile_run


def small_run(shared_data: Path, output: Path) -> tuple[str, ...]:
    """Both tasks, three samples each, short generations: the same command every time."""
    return (
        "run", "--task", "mmlu_pro,gpqa_diamond", "--limit", "3", "--epochs", "1", "--max-tokens", "32",
        "--data-dir", str(shared_data), "--output-dir", str(output),
    )  # fmt: skip


@pytest.fixture(scope="module")
def finished(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("runs")
    result = run_cli(*small_run(shared_data, output))
    assert result.returncode == 0, result.stderr
    assert "generated 3, reused 0" in " ".join(result.stdout.split())
    return output


def run_files(output: Path, task: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (run_json,) = output.glob(f"{task}/smollm2/*/run.json")
    records = [json.loads(line) for line in run_json.with_name("samples.jsonl").read_text().splitlines()]
    return json.loads(run_json.read_text()), records


@pytest.mark.parametrize("task", ["mmlu_pro", "gpqa_diamond"])
def test_run_writes_a_complete_run(finished: Path, task: str) -> None:
    result, records = run_files(finished, task)
    assert result["status"] == "complete"
    metrics = result["metrics"]
    accuracy = metrics["accuracy"]
    assert 0.0 <= accuracy["value"] <= 1.0 and accuracy["n"] == 3
    assert {"ci_low", "ci_high"} <= set(accuracy)
    assert "unparsed_rate" in metrics
    assert len(result["categories"]) == 3
    assert len(records) == 3
    for record in records:
        completion = record["completion"]
        assert completion["usage"]["output_tokens"] > 0
        assert record["score"] is not None
    spec = result["spec"]
    assert spec["data"]["fingerprint"] and spec["generation"]["max_tokens"] == 32
    assert result["harness_version"]


def test_rerun_generates_nothing_and_changes_nothing(finished: Path, shared_data: Path) -> None:
    before = {p: p.read_bytes() for p in finished.rglob("*.json*")}
    result = run_cli(*small_run(shared_data, finished))
    assert result.returncode == 0, result.stderr
    assert " ".join(result.stdout.split()).count("generated 0, reused 3") == 2
    assert {p: p.read_bytes() for p in finished.rglob("*.json*")} == before


def test_ls_show_and_score(finished: Path) -> None:
    listing = run_cli("ls", "--output-dir", str(finished))
    assert listing.returncode == 0
    assert "mmlu_pro" in listing.stdout and "gpqa_diamond" in listing.stdout and "complete" in listing.stdout
    (run_json,) = finished.glob("mmlu_pro/smollm2/*/run.json")
    shown = run_cli("show", run_json.parent.name[:6], "--output-dir", str(finished), "--samples", "1")
    assert shown.returncode == 0, shown.stderr
    assert "by category" in shown.stdout and "accuracy" in shown.stdout and "target" in shown.stdout
    before = json.loads(run_json.read_text())["metrics"]
    scored = run_cli("score", str(run_json.parent), "--output-dir", str(finished))
    assert scored.returncode == 0, scored.stderr
    assert json.loads(run_json.read_text())["metrics"] == before


def test_errored_samples_are_shown_next_to_the_score(
    tmp_path: Path, shared_data: Path, embedded_entry: ModelEntry
) -> None:
    run_dir = write_hostile_run(tmp_path, shared_data, embedded_entry, limit=4, errored=1)
    result = run_dir.read_result()
    # The errored sample counts as wrong: it stays in the accuracy's denominator.
    assert result.counts.errors == 1 and result.metrics["accuracy"].n == 4
    with console.capture() as captured:
        console.print(summary_table(RunOutcome(run_dir, result, generated=3, reused=0)))
    assert "1 of 4 errored" in " ".join(captured.get().split())
    listing = run_cli("ls", "--output-dir", str(tmp_path), env={"COLUMNS": "250"})
    assert listing.returncode == 0, listing.stderr
    header, row = (line for line in listing.stdout.splitlines() if "mmlu_pro" in line or "errors" in line)
    columns = [cell.strip() for cell in re.split("[│┃]", header)]
    assert [cell.strip() for cell in re.split("[│┃]", row)][columns.index("errors")] == "1"
    shown = run_cli("show", str(run_dir.path), "--output-dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "1 of 4 errored" in " ".join(shown.stdout.split())
    # Re-scoring the stored completions applies the same rule.
    scored = run_cli("score", str(run_dir.path), "--output-dir", str(tmp_path))
    assert scored.returncode == 0, scored.stderr
    assert run_dir.read_result().metrics == result.metrics


def test_wrong_names_suggest_the_nearest(tmp_path: Path) -> None:
    result = run_cli("run", "--task", "mmlu-pro", "--output-dir", str(tmp_path))
    assert result.returncode == 2 and "Did you mean 'mmlu_pro'" in result.stderr
    result = run_cli("run", "--task", "gpqa_diamond", "--model", "smolm2", "--output-dir", str(tmp_path))
    assert result.returncode == 2 and "Did you mean 'smollm2'" in result.stderr


def test_missing_data_says_how_to_provide_it(tmp_path: Path) -> None:
    result = run_cli("run", "--task", "mmlu_pro", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "mmlu-pro/test-00000-of-00001.parquet not found" in message and "Expected layout" in message


def test_unreachable_hub_says_how_to_use_local_data(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--task",
        "mmlu_pro",
        "--limit",
        "1",
        "--output-dir",
        str(tmp_path),
        env={"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
    )
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "could not load TIGER-Lab/MMLU-Pro" in message and "--data-dir" in message


def test_import_cli(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "mmlu-pro" / "eval_results" / "gpt4o_2024-05"
    result = run_cli(
        "import",
        "mmlu_pro",
        str(source),
        "--entry",
        "gpt-4o-2024-05-13",
        "--data-dir",
        str(shared_data),
        "--output-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    (run_json,) = tmp_path.glob("mmlu_pro/gpt-4o-2024-05-13/*/run.json")
    data = json.loads(run_json.read_text())
    assert data["imported"]["source_file"] == str(source)
    assert data["spec"]["backend"] == "import"
    listing = run_cli("ls", "--output-dir", str(tmp_path))
    assert "imported" in listing.stdout
