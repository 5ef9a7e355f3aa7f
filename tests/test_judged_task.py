"""A judged task is one module: the runner gives it a judge (any entry, here the scripted mock) and the
baseline's answers through the scoring context, and counts the judge's tokens and cost on their own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import tasks
from harness.backends import Admit, ModelClient, make_client
from harness.config import ModelEntry, ModelsFile, load_models
from harness.cost import Budget
from harness.errors import ConfigError
from harness.runner import RunOptions, execute, plan_run, rescore
from harness.store import latest_records
from harness.types import BackendInfo, Completion, GenerationRequest
from tests.judged_task import PairwisePreference

MODELS = """\
default_entry: candidate
entries:
  candidate:
    display_name: Candidate
    organisation: test
    backend: mock
    model: candidate
    backend_options: {default: "A short answer."}
    price: {input_per_mtok: 1.0, output_per_mtok: 2.0, as_of: 2026-01-01}
  judge:
    display_name: Judge
    organisation: test
    backend: mock
    model: judge-model
    backend_options:
      rules:
        - {match: "(?s)\\\\[Answer B\\\\]\\\\nA short answer", reply: "The baseline is more complete. [[A]]"}
      default: "[[B]]"
    price: {input_per_mtok: 10.0, output_per_mtok: 30.0, as_of: 2026-01-01}
  unpriced-judge:
    display_name: Judge without a price
    organisation: test
    backend: mock
    model: judge-model
"""


class CountingClient:
    def __init__(self, inner: ModelClient) -> None:
        self.inner = inner
        self.requests: list[GenerationRequest] = []

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        self.requests += requests
        return self.inner.generate(requests, admit)

    def info(self) -> BackendInfo:
        return self.inner.info()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelsFile:
    monkeypatch.setitem(tasks.TASKS, "pairwise_preference", (PairwisePreference, {}))
    path = tmp_path / "models.yaml"
    path.write_text(MODELS, encoding="utf-8")
    return load_models(path)


def test_the_mock_judge_scores_through_the_context(
    tmp_path: Path, shared_data: Path, models: ModelsFile
) -> None:
    options = RunOptions(runs_root=tmp_path / "runs", data_dir=shared_data, limit=3, models=models)
    task = tasks.get_task("pairwise_preference", {"judge": "judge"})
    calls: dict[str, CountingClient] = {}

    def factory(entry: ModelEntry) -> ModelClient:
        calls[entry.id] = CountingClient(make_client(entry))
        return calls[entry.id]

    outcome = execute(plan_run(task, models.entries["candidate"], options), options, client_factory=factory)
    result = outcome.result
    assert result.status == "complete" and result.spec.task_params["judge"] == "judge"
    # The judge read the baseline's published answer beside the candidate's.
    judge_prompts = [r.messages[-1].content for r in calls["judge"].requests]
    assert len(judge_prompts) == 3 and all("A short answer." in p for p in judge_prompts)
    records = list(latest_records(outcome.run_dir.read_records()).values())
    assert all(r.score is not None and r.score.extracted == "A" for r in records)
    assert result.metrics["win_rate"].value == 0.0
    # Judge tokens and cost are per sample, summed apart from the candidate's.
    judge_usage = [r.score.judge_usage for r in records if r.score is not None]
    assert result.judge_usage is not None and result.judge_usage.input_tokens == sum(
        u.input_tokens for u in judge_usage if u is not None
    )
    expected_judge_cost = (result.judge_usage.input_tokens * 10 + result.judge_usage.output_tokens * 30) / 1e6
    assert result.judge_cost_usd == pytest.approx(expected_judge_cost)
    assert result.cost_usd == pytest.approx(
        (result.usage.input_tokens + result.usage.output_tokens * 2) / 1e6
    )
    assert any(
        note.startswith("baseline gpt-4-0314: answers from the task's published answers")
        for note in result.notes
    )

    # Scoring again asks the judge again, answered from the request cache: nothing is spent.
    again = rescore(outcome.run_dir, options, client_factory=factory)
    assert again.result.metrics == result.metrics and again.result.judge_cost_usd == 0.0
    assert len(calls["judge"].requests) == 3


def test_judge_calls_count_against_max_cost(tmp_path: Path, shared_data: Path, models: ModelsFile) -> None:
    task = tasks.get_task("pairwise_preference", {"judge": "unpriced-judge"})
    options = RunOptions(runs_root=tmp_path, data_dir=shared_data, limit=2, models=models, budget=Budget(1.0))
    with pytest.raises(ConfigError, match="--max-cost needs a price for judge 'unpriced-judge'"):
        execute(plan_run(task, models.entries["candidate"], options), options)


def test_a_missing_judge_or_baseline_is_a_clear_error(
    tmp_path: Path, shared_data: Path, models: ModelsFile
) -> None:
    options = RunOptions(runs_root=tmp_path, data_dir=shared_data, limit=2, models=models)
    without_judge = tasks.get_task("pairwise_preference")
    with pytest.raises(ConfigError, match="-T judge=ENTRY"):
        execute(plan_run(without_judge, models.entries["candidate"], options), options)
    unknown_baseline = tasks.get_task("pairwise_preference", {"judge": "judge", "baseline": "nobody"})
    with pytest.raises(ConfigError, match="no answers of the baseline 'nobody'"):
        execute(plan_run(unknown_baseline, models.entries["candidate"], options), options)
    assert not list(tmp_path.glob("**/samples.jsonl"))


def test_baseline_answers_come_from_the_store(tmp_path: Path, shared_data: Path, models: ModelsFile) -> None:
    """A baseline with no published answers is answered by its own run in the store."""
    options = RunOptions(runs_root=tmp_path, data_dir=shared_data, limit=2, models=models)
    baseline_run = tasks.get_task("pairwise_preference", {"judge": "judge", "baseline": "judge"})
    # Once the entry has answered the task's questions, its answers are the baseline.
    with pytest.raises(ConfigError, match="no answers of the baseline 'judge'"):
        execute(plan_run(baseline_run, models.entries["candidate"], options), options)
    answers_task = tasks.get_task("pairwise_preference", {"judge": "judge"})
    execute(plan_run(answers_task, models.entries["judge"], options), options)
    outcome = execute(plan_run(baseline_run, models.entries["candidate"], options), options)
    assert outcome.result.status == "complete"
    assert any("answers from run pairwise_preference/judge/" in note for note in outcome.result.notes)
