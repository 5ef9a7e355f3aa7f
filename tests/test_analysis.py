"""Notebook helpers on real imported runs, and the example notebook executed by a real kernel."""

from __future__ import annotations

import os

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from harness.analysis import paired_test, runs_df, samples_df
from harness.errors import ConfigError
from tasks.mmlu_pro import MMLUPro
from tests.conftest import REPO, SiteWorld


def test_runs_df_has_one_row_per_run(site_world: SiteWorld) -> None:
    runs = runs_df(site_world.runs)
    assert len(runs) == 6  # two imports, one embedded run, three hostile runs
    qwen = runs[runs["entry"] == "qwen1.5-7b-chat"].iloc[0]
    assert qwen["source"] == "imported" and qwen["n"] == 12032 and qwen["status"] == "complete"
    assert 0 < qwen["score"] < 1 and qwen["ci_low"] < qwen["score"] < qwen["ci_high"]
    assert {"accuracy", "unparsed_rate", "error_rate"} <= set(runs.columns)
    assert len(runs_df(site_world.runs, task="gpqa_diamond")) == 1
    assert runs_df(site_world.runs / "nothing-here").empty


def test_samples_df_and_a_paired_test(site_world: SiteWorld) -> None:
    samples = samples_df(site_world.runs, task="mmlu_pro")
    both = samples[samples["entry"].isin(["qwen1.5-7b-chat", "deepseek-coder-v2"])]
    assert len(both[both["entry"] == "qwen1.5-7b-chat"]) == 12032
    result = paired_test(samples, "deepseek-coder-v2", "qwen1.5-7b-chat", n_resamples=1000)
    # Recompute the difference independently on the shared questions.
    a = both[both["entry"] == "deepseek-coder-v2"].set_index("sample_id")["score"]
    b = both[both["entry"] == "qwen1.5-7b-chat"].set_index("sample_id")["score"]
    shared = a.index.intersection(b.index)
    assert result.n == len(shared) < 12032
    assert result.difference == pytest.approx(float(np.mean(a[shared] - b[shared])))
    assert result.ci_low < result.difference < result.ci_high
    assert result.difference > 0.2 and result.p_value < 0.01  # a coder model of 2024 vs a 7B chat model
    assert "shared samples" in str(result)
    same = paired_test(samples, "qwen1.5-7b-chat", "qwen1.5-7b-chat", n_resamples=200)
    assert same.difference == 0 and same.ci_low == same.ci_high == 0 and same.p_value == 1.0


def test_paired_test_refuses_mixed_runs(site_world: SiteWorld) -> None:
    samples = samples_df(site_world.runs)
    with pytest.raises(ConfigError, match="different task versions"):
        paired_test(samples, "hostile-model", "qwen1.5-7b-chat", task="mmlu_pro")
    current = samples[samples["task_version"] == MMLUPro.version]
    with pytest.raises(ConfigError, match="samples from 2 runs"):
        paired_test(current, "hostile-model", "qwen1.5-7b-chat", task="mmlu_pro")
    with pytest.raises(ConfigError, match="span tasks"):
        paired_test(samples, "smollm2", "qwen1.5-7b-chat")
    with pytest.raises(ConfigError, match="no scored samples"):
        paired_test(samples, "nobody", "qwen1.5-7b-chat", task="mmlu_pro")


def test_example_notebook_runs(site_world: SiteWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_RESULTS", str(site_world.runs))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(REPO / "notebooks" / "compare_entries.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    # The venv's ipykernel kernelspec says `python`; jupyter_client starts it with sys.executable.
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()
    outputs = [
        output.get("text", "") or str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    assert not any(
        output.get("output_type") == "error" for c in notebook.cells for output in c.get("outputs", [])
    )
    text = "\n".join(outputs)
    assert "deepseek-coder-v2" in text and "qwen1.5-7b-chat" in text
    assert "difference" in text and "shared samples" in text
