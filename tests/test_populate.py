"""`harness board populate`: imports a board's published outputs once and runs its embedded entries."""

from __future__ import annotations

from pathlib import Path

from harness.store import iter_runs
from tests.conftest import MODELS_FILE, run_cli


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(f"models: {MODELS_FILE}\n{text}", encoding="utf-8")
    return path


def test_imports_once(tmp_path: Path, shared_data: Path) -> None:
    board = write(
        tmp_path,
        "imports.yaml",
        """title: imports
entries: [qwen1.5-7b-chat]
tasks: [{id: mmlu_pro, samples: 12032, chance: 0.1}]
imports:
  - task: mmlu_pro
    entry: qwen1.5-7b-chat
    path: mmlu-pro/eval_results/model_outputs_Qwen1.5-7B-Chat_5shots.zip
""",
    )
    runs = tmp_path / "results"
    args = ("board", "populate", str(board), "--runs", str(runs), "--data-dir", str(shared_data))
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "imported mmlu_pro/qwen1.5-7b-chat/" in first.stdout and "12,032 samples" in first.stdout
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "already imported" in second.stdout
    assert len(list(iter_runs(runs))) == 1
    shown = run_cli("board", "show", str(board), "--runs", str(runs))
    assert shown.returncode == 0 and "(imported)" in shown.stdout
    missing = run_cli("board", "populate", str(board), "--runs", str(runs))
    assert missing.returncode == 2 and "--data-dir" in missing.stderr


def test_runs_the_embedded_entry_and_resumes(tmp_path: Path, shared_data: Path) -> None:
    board = write(
        tmp_path,
        "runs.yaml",
        """title: runs
entries: [smollm2, gpt-4o]
tasks:
  - {id: mmlu_pro_0shot, chance: 0.1}
  - {id: gpqa_diamond, chance: 0.25}
""",
    )
    runs = tmp_path / "results"
    args = (
        "board", "populate", str(board), "--runs", str(runs), "--data-dir", str(shared_data),
        "--limit", "1", "--max-tokens", "8",
    )  # fmt: skip
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("ran ") == 2 and "(1 generated, 0 reused)" in first.stdout
    assert {r.path.parent.parent.name for r in iter_runs(runs)} == {"mmlu_pro_0shot", "gpqa_diamond"}
    second = run_cli(*args)
    assert second.returncode == 0 and second.stdout.count("(0 generated, 1 reused)") == 2
    refused = run_cli("board", "populate", str(board), "--runs", str(runs), "--entry", "qwen1.5-7b-chat")
    assert refused.returncode == 2 and "not on the board" in refused.stderr
