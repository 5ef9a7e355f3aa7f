"""Aggregation: one cell per entry x task, each from exactly one source, with provenance."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.aggregate import aggregate
from harness.board import load_board
from harness.config import Price
from harness.cost import usage_cost
from harness.store import RunDir, iter_runs
from harness.types import Usage
from tasks.mmlu_pro import MMLUPro
from tests.conftest import SiteWorld
from tests.site_helpers import HOSTILE_ENTRY


@pytest.fixture(scope="module")
def data(site_world: SiteWorld):  # type: ignore[no-untyped-def]
    return aggregate(load_board(site_world.board_path), site_world.runs)


def run_of(site_world: SiteWorld, task: str, entry: str) -> list[RunDir]:
    return [r for r in iter_runs(site_world.runs) if r.task == task and r.entry == entry]


def test_one_row_per_entry_and_task(data) -> None:  # type: ignore[no-untyped-def]
    cells = data.cells
    assert len(cells) == 5 * 2
    assert not cells.duplicated(["entry", "task"]).any()
    assert set(cells["source"].dropna()) == {"run", "imported", "reported"}


def test_imported_cell_is_the_run_with_provenance(data, site_world: SiteWorld) -> None:  # type: ignore[no-untyped-def]
    cell = data.cell("qwen1.5-7b-chat", "mmlu_pro")
    (run_dir,) = run_of(site_world, "mmlu_pro", "qwen1.5-7b-chat")
    result = run_dir.read_result()
    accuracy = result.metrics["accuracy"]
    assert cell["source"] == "imported"
    assert cell["score"] == accuracy.value and cell["ci_low"] == accuracy.ci_low and cell["n"] == 12032
    assert cell["samples"] == 12032 and not cell["subset"]
    assert "model_outputs_Qwen1.5-7B-Chat_5shots.zip" in cell["provenance"]
    assert result.imported is not None and result.imported.source_sha256[:12] in cell["provenance"]
    assert cell["unparsed_rate"] == result.metrics["unparsed_rate"].value
    # Imported outputs carry no token counts: unknown, not zero; and so no cost.
    assert pd.isna(cell["input_tokens"]) and pd.isna(cell["cost_usd"])
    # A reported figure for a cell we measured is kept beside our number, not instead of it.
    assert cell["reported_value"] == 0.5 and "made-up" in cell["reported_source"]
    assert math.isclose(cell["normalised"], (accuracy.value - 0.1) / 0.9)


def test_partial_import_is_flagged_as_a_subset(data) -> None:  # type: ignore[no-untyped-def]
    cell = data.cell("deepseek-coder-v2", "mmlu_pro")
    assert cell["source"] == "imported" and cell["subset"]
    assert cell["samples"] < 12032 and cell["samples_expected"] == 12032
    assert f"covers {cell['samples']:,} of the 12,032 samples" in cell["notes"]


def test_our_run_has_tokens_and_cost(data, site_world: SiteWorld) -> None:  # type: ignore[no-untyped-def]
    cell = data.cell("smollm2", "gpqa_diamond")
    (run_dir,) = run_of(site_world, "gpqa_diamond", "smollm2")
    result = run_dir.read_result()
    assert cell["source"] == "run" and cell["samples"] == 2 and cell["subset"]
    assert cell["input_tokens"] == result.usage.input_tokens > 0
    # The runner records each run's cost; the aggregate uses it as recorded.
    assert result.cost_usd == 0.0
    assert cell["cost_usd"] == 0.0 and cell["cost_basis"] == "recorded"
    assert "our run" in cell["provenance"] and result.spec_hash in cell["provenance"]
    hostile = data.cell(HOSTILE_ENTRY, "mmlu_pro")
    # 5 samples x (1000 input at $1/M + 50 output at $2/M).
    assert hostile["cost_usd"] == pytest.approx(5 * (1000 * 1.0 + 50 * 2.0) / 1e6)
    assert hostile["cost_per_sample_usd"] == pytest.approx((1000 * 1.0 + 50 * 2.0) / 1e6)


def test_errored_samples_are_a_column_and_count_as_wrong(data, site_world: SiteWorld) -> None:  # type: ignore[no-untyped-def]
    hostile = data.cell(HOSTILE_ENTRY, "mmlu_pro")
    result = data.chosen[(HOSTILE_ENTRY, "mmlu_pro")].read_result()
    assert hostile["errors"] == result.counts.errors == 1
    assert hostile["n"] == result.counts.planned == 5  # the errored sample is in the denominator
    assert hostile["error_rate"] == 0.2
    assert data.cell("smollm2", "gpqa_diamond")["errors"] == 0
    assert pd.isna(data.cell("gpt-4o", "gpqa_diamond")["errors"])  # reported: unknown
    assert str(data.cells["errors"].dtype) == "Int64"


def test_reported_only_cell_and_empty_cell(data) -> None:  # type: ignore[no-untyped-def]
    reported = data.cell("gpt-4o", "gpqa_diamond")
    assert reported["source"] == "reported" and reported["score"] == 0.531
    assert (
        "simple-evals" in reported["provenance"]
        and "github.com/openai/simple-evals" in reported["provenance"]
    )
    empty = data.cell("gpt-4o", "mmlu_pro")
    assert pd.isna(empty["source"]) and pd.isna(empty["score"])


def test_runs_are_never_mixed(data, site_world: SiteWorld) -> None:  # type: ignore[no-untyped-def]
    cell = data.cell(HOSTILE_ENTRY, "mmlu_pro")
    runs = {
        r.read_result().spec.limit: r.read_result() for r in run_of(site_world, "mmlu_pro", HOSTILE_ENTRY)
    }
    assert set(runs) == {3, 4, 5}
    # The larger of the two current-version runs is shown, alone; the other is listed as not shown.
    assert cell["spec_hash"] == runs[5].spec_hash and cell["n"] == 5 and cell["alternatives"] == 1
    skipped = data.skipped[data.skipped["entry"] == HOSTILE_ENTRY].set_index("run")["reason"]
    by_hash = {run.split("/")[-1]: reason for run, reason in skipped.items()}
    assert "another run qualifies" in by_hash[runs[3].spec_hash]
    assert f"task version 0; the board shows version {MMLUPro.version}" in by_hash[runs[4].spec_hash]


def test_leaderboard_ranks_by_the_overall_score(data) -> None:  # type: ignore[no-untyped-def]
    board = data.leaderboard
    cells = data.cells.set_index(["entry", "task"])
    for row in board.itertuples():
        normalised = [
            cells.loc[(row.entry, task), "normalised"]
            for task in ("mmlu_pro", "gpqa_diamond")
            if pd.notna(cells.loc[(row.entry, task), "normalised"])
        ]
        if normalised:
            assert row.overall == pytest.approx(sum(normalised) / len(normalised))
            assert row.overall_tasks == len(normalised)
    ranked = board[board["overall"].notna()]
    assert list(ranked["overall"]) == sorted(ranked["overall"], reverse=True)
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert board.iloc[0]["mmlu_pro_source"] in ("run", "imported", "reported")


def test_categories_come_from_the_shown_run(data, site_world: SiteWorld) -> None:  # type: ignore[no-untyped-def]
    (run_dir,) = run_of(site_world, "mmlu_pro", "qwen1.5-7b-chat")
    result = run_dir.read_result()
    mine = data.categories[(data.categories["entry"] == "qwen1.5-7b-chat")].set_index("category")
    assert len(mine) == 14
    assert mine.loc["law", "score"] == result.categories["law"]["accuracy"].value


def test_cost_counts_cached_input_at_its_rate() -> None:
    price = Price(input_per_mtok=2.5, output_per_mtok=10.0, cached_input_per_mtok=1.25, as_of="2025-01-31")
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert usage_cost(usage, price) == pytest.approx(0.6 * 2.5 + 0.4 * 1.25 + 0.1 * 10.0)


def test_aggregating_again_gives_frames_of_its_own_and_sees_every_change(
    site_world: SiteWorld, tmp_path: Path
) -> None:
    runs = tmp_path / "results"
    shutil.copytree(site_world.runs, runs)
    board = load_board(site_world.board_path)
    first = aggregate(board, runs)
    first.cells.loc[:, "score"] = -1.0  # the caller's frame: changing it changes nothing later
    again = aggregate(board, runs)
    assert (again.cells["score"].dropna() >= 0).all()
    pd.testing.assert_frame_equal(
        again.leaderboard, aggregate(load_board(site_world.board_path), runs).leaderboard
    )

    (run_dir,) = run_of_root(runs, "mmlu_pro", "qwen1.5-7b-chat")
    result = run_dir.read_result()
    metric = result.metrics[result.headline].model_copy(update={"value": 0.123})
    run_dir.write_result(result.model_copy(update={"metrics": {**result.metrics, result.headline: metric}}))
    assert aggregate(board, runs).cell("qwen1.5-7b-chat", "mmlu_pro")["score"] == 0.123

    shutil.rmtree(run_dir.path)
    cell = aggregate(board, runs).cell("qwen1.5-7b-chat", "mmlu_pro")
    assert cell["source"] != "run" and cell["spec_hash"] != result.spec_hash


def run_of_root(runs: Path, task: str, entry: str) -> list[RunDir]:
    return [r for r in iter_runs(runs) if r.task == task and r.entry == entry]
