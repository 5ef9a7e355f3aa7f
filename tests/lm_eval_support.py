"""Local lm-eval task YAMLs over the shared MMLU-Pro parquet files (lm-eval reads them offline), built on
lm-eval's own bundled `mmlu_pro` task files."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

# lm-eval names a subtask after the category with spaces as underscores.
CATEGORIES = [
    *("biology", "business", "chemistry", "computer_science", "economics", "engineering", "health"),
    *("history", "law", "math", "other", "philosophy", "physics", "psychology"),
]
OFFLINE = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def bundled_mmlu_pro() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("lm-eval is not installed (pip install -e '.[dev]' installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks" / "mmlu_pro"


def data_files(shared_data: Path) -> str:
    folder = (shared_data / "mmlu-pro").resolve()
    return (
        "dataset_path: parquet\n"
        "dataset_kwargs:\n"
        "  data_files:\n"
        f"    test: {folder / 'test-00000-of-00001.parquet'}\n"
        f"    validation: {folder / 'validation-00000-of-00001.parquet'}\n"
    )


def write_tasks(folder: Path, shared_data: Path) -> Path:
    """`local_mmlu_pro` (lm-eval's group and its 14 subtasks, unchanged but for where the data is read
    from), `bio0` (its biology subtask without exemplars) and `bio_mc` (a multiple-choice task, scored by
    log-likelihood)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundled = bundled_mmlu_pro()
    local = data_files(shared_data)
    for category in CATEGORIES:
        (folder / f"local_mmlu_pro_{category}.yaml").write_text(
            f"include: {bundled / f'mmlu_pro_{category}.yaml'}\ntask: local_mmlu_pro_{category}\n{local}",
            encoding="utf-8",
        )
    group = (bundled / "_mmlu_pro.yaml").read_text(encoding="utf-8")
    group = group.replace("group: mmlu_pro", "group: local_mmlu_pro").replace(
        "- mmlu_pro_", "- local_mmlu_pro_"
    )
    (folder / "_local_mmlu_pro.yaml").write_text(group, encoding="utf-8")
    (folder / "bio0.yaml").write_text(
        f"include: {bundled / 'mmlu_pro_biology.yaml'}\ntask: bio0\nnum_fewshot: 0\n{local}", encoding="utf-8"
    )
    (folder / "bio_mc.yaml").write_text(
        "task: bio_mc\n"
        f"{local}"
        "test_split: test\n"
        "output_type: multiple_choice\n"
        "doc_to_text: '{{question}}'\n"
        "doc_to_choice: '{{options}}'\n"
        "doc_to_target: answer_index\n"
        "metric_list: [{metric: acc}]\n",
        encoding="utf-8",
    )
    return folder


def offline() -> dict[str, str]:
    return {**os.environ, **OFFLINE}
