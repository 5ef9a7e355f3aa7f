"""Board files: the shipped board, strict validation with file:line errors, and run matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.board import load_board, run_mismatch
from harness.config import load_models
from harness.errors import ConfigError
from tasks.mmlu_pro import MMLUPro
from tests.conftest import MODELS_FILE, REPO

SHIPPED = REPO / "leaderboards" / "qwen2.5-max-launch.yaml"

MINIMAL = """\
title: t
entries: [smollm2, gpt-4o]
tasks:
  - id: mmlu_pro
    samples: 12032
    chance: 0.1
  - id: gpqa_diamond
    chance: 0.25
"""


def write_board(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(f"models: {MODELS_FILE}\n" + text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_board(path)
    return str(caught.value)


def test_shipped_board_covers_the_launch_comparison() -> None:
    board = load_board(SHIPPED)
    entries = {entry.id: entry for entry in board.entries}
    models = {entry.model for entry in board.entries}
    assert {"qwen-max-2025-01-25", "Qwen/Qwen2.5-72B-Instruct", "Qwen/QwQ-32B"} <= models
    assert {
        "deepseek-chat",
        "deepseek-reasoner",
        "deepseek-ai/DeepSeek-V3",
        "deepseek-ai/DeepSeek-R1",
    } <= models
    assert {
        "gpt-4o-2024-08-06",
        "o1-2024-12-17",
        "o3-mini-2025-01-31",
        "claude-3-5-sonnet-20241022",
    } <= models
    assert entries["smollm2"].backend == "llamacpp"
    assert entries["claude-3.5-sonnet"].backend == "anthropic"
    # API entries carry a published price with its date; vLLM entries are served locally.
    for name in ("qwen2.5-max", "deepseek-v3", "deepseek-r1", "gpt-4o", "o1", "o3-mini", "claude-3.5-sonnet"):
        entry = entries[name]
        assert entry.price is not None and entry.price.as_of.year >= 2025 and entry.price.source
        assert entry.base_url and entry.base_url.startswith("https://") and entry.api_key_env
    for name in ("qwen2.5-72b-instruct", "qwq-32b", "deepseek-v3-vllm", "deepseek-r1-vllm"):
        entry = entries[name]
        assert entry.backend == "openai_compat" and entry.server is not None and entry.server.kind == "vllm"
        assert entry.base_url is not None and entry.base_url.startswith("http://127.0.0.1:")
    # Every published output the board imports belongs to an external entry and exists in the data.
    imported = {published.entry for published in board.spec.imports}
    assert {"qwen1.5-7b-chat", "qwen1.5-72b-chat", "qwen1.5-110b", "deepseek-coder-v2"} <= imported
    assert {
        "llama-3.1-70b-instruct",
        "gemini-1.5-pro-002",
        "gpt-4o-2024-05-13",
        "deepseek-chat-2024-05",
    } <= imported
    for published in board.spec.imports:
        if published.importer is None:
            # Published completions belong to models we do not run ourselves.
            assert entries[published.entry].backend == "external"
        else:
            # Reported results (LiveCodeBench per problem, Arena-Hard's leaderboard) fill cells.
            assert published.importer in ("livecodebench_leaderboard", "arena_hard_leaderboard")
            assert published.model
        assert (REPO.parent / "shared" / "data" / published.path).exists(), published.path
    lcb = {p.entry for p in board.spec.imports if p.importer == "livecodebench_leaderboard"}
    assert {"deepseek-v3", "gpt-4o", "o1", "o3-mini", "claude-3.5-sonnet"} <= lcb
    assert board.task("livecodebench").window is not None
    for figure in board.spec.reported:
        assert figure.source and 0 < figure.value < 1
    assert not board.publishes_samples("gpqa_diamond") and board.publishes_samples("mmlu_pro")


def test_models_file_has_no_secret_values() -> None:
    text = MODELS_FILE.read_text(encoding="utf-8")
    assert "sk-" not in text
    for entry in load_models(MODELS_FILE).entries.values():
        assert entry.api_key_env is None or entry.api_key_env.endswith("_API_KEY")


def test_a_minimal_board_loads(tmp_path: Path) -> None:
    board = load_board(write_board(tmp_path, MINIMAL))
    assert [t.id for t in board.tasks] == ["mmlu_pro", "gpqa_diamond"]
    assert board.version("mmlu_pro") == MMLUPro.version and board.metric("gpqa_diamond") == "accuracy"
    assert board.overall_tasks == ["mmlu_pro", "gpqa_diamond"] and board.overall_min_tasks == 2
    assert "(score − chance) / (1 − chance)" in board.overall_description()


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = write_board(tmp_path, MINIMAL.replace("    samples: 12032", "    sampels: 12032"))
    message = error_of(path)
    assert f"{path}:6:" in message and "unknown key 'sampels'" in message


def test_unknown_entry_names_line_and_suggests(tmp_path: Path) -> None:
    path = write_board(tmp_path, MINIMAL.replace("[smollm2, gpt-4o]", "[smollm2, gpt4o]"))
    message = error_of(path)
    assert f"{path}:3:" in message and "unknown entry 'gpt4o'" in message and "'gpt-4o'" in message


def test_unknown_task_names_line_and_suggests(tmp_path: Path) -> None:
    path = write_board(tmp_path, MINIMAL.replace("id: gpqa_diamond", "id: gpqa_diamnd"))
    message = error_of(path)
    assert f"{path}:8:" in message and "unknown task 'gpqa_diamnd'" in message and "gpqa_diamond" in message


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("[smollm2, gpt-4o]", "[smollm2, nobody]")
        + "headline: mmlu\nreported:\n  - {entry: o1, task: mmlu_pro, value: 0.9, source: x}\n"
        + "  - {entry: gpt-4o, task: math, value: 0.5, source: y}\n"
    )
    message = error_of(write_board(tmp_path, text))
    assert "unknown entry 'nobody'" in message
    assert "headline 'mmlu'" in message
    assert "entry 'o1' is not one of this board's entries" in message
    assert "task 'math' is not one of this board's tasks" in message


def test_value_checks_and_duplicate_keys(tmp_path: Path) -> None:
    bad_value = MINIMAL + "reported:\n  - {entry: gpt-4o, task: gpqa_diamond, value: 53.1, source: x}\n"
    message = error_of(write_board(tmp_path, bad_value))
    assert "reported.0.value" in message and "less than or equal to 1" in message
    duplicate = MINIMAL + "title: again\n"
    assert "duplicate key 'title'" in error_of(write_board(tmp_path, duplicate))
    twice = MINIMAL.replace("[smollm2, gpt-4o]", "[smollm2, smollm2]")
    assert "listed twice" in error_of(write_board(tmp_path, twice))
    window = MINIMAL + "  - id: livecodebench\n    window: {start: 2025-02-01, end: 2024-08-01}\n"
    assert "start 2025-02-01 is after end 2024-08-01" in error_of(write_board(tmp_path, window))


def test_params_are_the_tasks_options_checked_on_load(tmp_path: Path) -> None:
    """A column's params and window are validated by the task's options model, at their lines."""
    typo = MINIMAL + "  - id: livecodebench\n    params: {platfrom: leetcode}\n"
    message = error_of(write_board(tmp_path, typo))
    assert "board.yaml:11: task option 'platfrom': unknown option (it takes contamination_free" in message
    bad_value = MINIMAL + "  - id: livecodebench\n    params:\n      difficulty: trivial\n"
    assert "board.yaml:12: task option 'difficulty'" in error_of(write_board(tmp_path, bad_value))
    no_window = MINIMAL.replace("    chance: 0.25", "    chance: 0.25\n    window: {start: 2024-08-01}")
    message = error_of(write_board(tmp_path, no_window))
    assert "board.yaml:10: task option 'start_date': unknown option (it takes sampler)" in message
    good = MINIMAL + "  - id: livecodebench\n    params: {platform: leetcode, release: v6}\n"
    board = load_board(write_board(tmp_path, good))
    assert board.task_objects["livecodebench"].params()["platform"] == ["leetcode"]


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks
    from tests.judged_task import PairwisePreference

    monkeypatch.setitem(tasks.TASKS, "pairwise_preference", (PairwisePreference, {}))


def test_judge_must_be_a_known_entry(tmp_path: Path, judged: None) -> None:
    text = MINIMAL + "  - id: pairwise_preference\n    params: {judge: gpt-9}\n"
    message = error_of(write_board(tmp_path, text))
    assert "board.yaml:11: unknown judge entry 'gpt-9'" in message


def test_run_matching_never_mixes_variants(tmp_path: Path, judged: None) -> None:
    text = MINIMAL + (
        "  - id: livecodebench\n    params: {platform: leetcode}\n"
        "    window: {start: 2024-08-01, end: 2025-02-01}\n    version: '2'\n"
        "  - id: pairwise_preference\n    params: {judge: gpt-4o}\n"
    )
    board = load_board(write_board(tmp_path, text))
    good = {"platform": ["leetcode"], "start_date": "2024-08-01", "end_date": "2025-02-01"}
    assert run_mismatch(board, "livecodebench", "2", good) is None
    assert "task version 1" in (run_mismatch(board, "livecodebench", "1", good) or "")
    assert "platform=None" in (run_mismatch(board, "livecodebench", "2", {**good, "platform": None}) or "")
    assert "date window" in (
        run_mismatch(board, "livecodebench", "2", {**good, "end_date": "2025-05-01"}) or ""
    )
    judged_run = {"judge": "gpt-4o", "baseline": "gpt-4-0314", "questions": 20}
    assert run_mismatch(board, "pairwise_preference", "1", judged_run) is None
    # A run may name the judge by the entry's model.
    assert (
        run_mismatch(board, "pairwise_preference", "1", {**judged_run, "judge": "gpt-4o-2024-08-06"}) is None
    )
    assert "judge 'o1'" in (
        run_mismatch(board, "pairwise_preference", "1", {**judged_run, "judge": "o1"}) or ""
    )
    # A column without a window or judge refuses runs restricted to one.
    mmlu = MMLUPro.version
    assert "date window" in (run_mismatch(board, "mmlu_pro", mmlu, {"start_date": "2024-08-01"}) or "")
    assert "judge" in (run_mismatch(board, "mmlu_pro", mmlu, {"judge": "gpt-4o"}) or "")
    assert run_mismatch(board, "mmlu_pro", mmlu, {"shots": 5}) is None


def test_a_column_can_fix_the_mmlu_pro_protocol(tmp_path: Path) -> None:
    """MMLU-Pro's protocol (upstream's local or API script) is a task option: a column may ask for one."""
    text = MINIMAL.replace("  - id: mmlu_pro\n", "  - id: mmlu_pro\n    params: {protocol: api}\n")
    board = load_board(write_board(tmp_path, text))
    assert board.task_objects["mmlu_pro"].params() == {"shots": 5, "protocol": "api"}
    version = MMLUPro.version
    assert run_mismatch(board, "mmlu_pro", version, {"shots": 5, "protocol": "api"}) is None
    assert "protocol='local'" in (
        run_mismatch(board, "mmlu_pro", version, {"shots": 5, "protocol": "local"}) or ""
    )
    bad = MINIMAL.replace("  - id: mmlu_pro\n", "  - id: mmlu_pro\n    params: {protocol: chat}\n")
    assert "task option 'protocol'" in error_of(write_board(tmp_path, bad))


def test_cli_board_show_reports_a_bad_board(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    path = write_board(tmp_path, MINIMAL.replace("title: t", "titel: t"))
    completed = run_cli("board", "show", str(path), "--runs", str(tmp_path / "none"))
    assert completed.returncode == 2
    assert "unknown key 'titel'" in completed.stderr and f"{path}:2" in completed.stderr.replace("\n", "")
