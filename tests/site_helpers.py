"""Runs and boards for the aggregation, site, browser and notebook tests.

Real data throughout: published MMLU-Pro outputs imported with the real importer, a real run of the
embedded model, and runs written through the real planner, scorer and store whose completions are
hostile text (markup that would execute if the site inserted it as HTML).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.config import ModelEntry
from harness.importers import import_run
from harness.runner import RunOptions, execute, plan_run
from harness.runner.generate import score_inline
from harness.runner.results import build_result, write_run
from harness.store import RunDir
from harness.task import ScoringContext
from harness.types import BackendInfo, Completion, SampleRecord, Usage
from tasks import get_task

HOSTILE_ENTRY = "hostile-model"
# Would run script if inserted as HTML anywhere: a script element, an onerror handler, a closing tag.
HOSTILE_TEXT = (
    '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
    '</pre></script><b onmouseover="window.__pwned = 3">bold?</b> The answer is (A).'
)
HOSTILE_DISPLAY = 'Hostile </script><script>window.__pwned = 4</script> "model"'

IMPORTS = {
    "qwen1.5-7b-chat": "mmlu-pro/eval_results/model_outputs_Qwen1.5-7B-Chat_5shots.zip",
    "deepseek-coder-v2": "mmlu-pro/eval_results/model_outputs_DeepSeek-Coder-V2_5shots.zip",
}


def models_yaml(base: Path) -> str:
    """The project's models file plus an entry whose display name is markup."""
    return (
        base.read_text(encoding="utf-8")
        + f"""
  {HOSTILE_ENTRY}:
    display_name: '{HOSTILE_DISPLAY}'
    organisation: Test <i>org</i>
    backend: external
    model: hostile/model
    price:
      input_per_mtok: 1.0
      output_per_mtok: 2.0
      as_of: 2026-01-01
      source: test price
"""
    )


def board_yaml(models_file: Path) -> str:
    return f"""
title: Test board <b>not bold</b>
description: Imports, an embedded run, a reported figure and hostile text.
models: {models_file}
entries: [qwen1.5-7b-chat, deepseek-coder-v2, smollm2, {HOSTILE_ENTRY}, gpt-4o]
tasks:
  - id: mmlu_pro
    title: MMLU-Pro
    samples: 12032
    chance: 0.1
  - id: gpqa_diamond
    title: GPQA-Diamond
    samples: 198
    chance: 0.25
headline: overall
overall:
  min_tasks: 1
reported:
  - entry: gpt-4o
    task: gpqa_diamond
    value: 0.531
    source: openai/simple-evals README
    url: https://github.com/openai/simple-evals
  - entry: qwen1.5-7b-chat
    task: mmlu_pro
    value: 0.5
    source: a made-up figure to check that reported numbers sit beside our own
"""


def import_published(runs: Path, data: Path) -> None:
    task = get_task("mmlu_pro")
    for entry, relative in IMPORTS.items():
        import_run(task, data / relative, entry, RunOptions(runs_root=runs, data_dir=data))


def run_embedded(runs: Path, data: Path, entry: ModelEntry) -> None:
    options = RunOptions(runs_root=runs, data_dir=data, limit=2, epochs=1, generation={"max_tokens": 16})
    execute(plan_run(get_task("gpqa_diamond"), entry, options), options)


def write_hostile_run(
    runs: Path,
    data: Path,
    entry: ModelEntry,
    *,
    limit: int,
    task_version: str | None = None,
    errored: int = 0,
) -> RunDir:
    """A run of `entry` on MMLU-Pro whose completions, reasoning and score details are hostile markup;
    its last `errored` samples could not be answered (a backend error)."""
    task = get_task("mmlu_pro")
    options = RunOptions(runs_root=runs, data_dir=data, limit=limit, epochs=1)
    plan = plan_run(task, entry, options)
    if task_version is not None:
        plan.spec = plan.spec.model_copy(update={"task_version": task_version})
    records = {}
    for number, item in enumerate(plan.items):
        completion = Completion(
            text=HOSTILE_TEXT + f" (sample {number})",
            reasoning="<think-ish> <script>window.__pwned = 5</script> reasoning text",
            finish_reason="stop",
            usage=Usage(input_tokens=1000, output_tokens=50),
            latency_s=0.5,
            model="hostile/model",
        )
        record = score_inline(
            task,
            SampleRecord(
                sample_id=item.sample.id,
                category=item.sample.category,
                prompt=item.prompt,
                completion=completion,
            ),
            ScoringContext(),
        )
        if number >= len(plan.items) - errored:
            failed = completion.model_copy(
                update={"text": "", "error": "backend error: <script>window.__pwned = 8</script>"}
            )
            records[item.key] = record.model_copy(update={"completion": failed, "score": None})
            continue
        assert record.score is not None
        details = {
            **record.score.details,
            "tests": [
                {"input": '<img src="x" onerror="window.__pwned = 6">', "passed": True, "time_s": 0.01},
                {"input": "2\n3\n", "passed": False, "stderr": "</pre><script>window.__pwned = 7</script>"},
            ],
            "judge": {"verdict": "A>>B", "games": [{"swap": False, "verdict": "A>B"}]},
        }
        record = record.model_copy(update={"score": record.score.model_copy(update={"details": details})})
        records[item.key] = record
    run_dir = RunDir.for_spec(runs, task.name, entry.id, plan.spec.spec_hash())
    plan.source = replace(plan.source, backend_info=BackendInfo(backend="test"))
    with run_dir.lock():
        result = build_result(plan, records, max_error_rate=0.05 + errored / limit)
        write_run(run_dir, result, list(records.values()))
    return run_dir
