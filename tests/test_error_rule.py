"""Samples that could not be answered stay in the headline's denominator as wrong answers, except in
tasks whose headline has no "wrong" (judged rates), which count them apart."""

from __future__ import annotations

import pytest

from harness.runner.results import assess
from harness.types import Completion, Message, Prompt, SampleRecord, Score
from tasks import get_task


def record(sample: str, value: float | None, *, error: str | None = None) -> SampleRecord:
    return SampleRecord(
        sample_id=sample,
        category="physics",
        prompt=Prompt(messages=[Message(role="user", content="q")], target="A", choices=["a", "b", "c", "d"]),
        completion=Completion(text="" if error else "Answer: A", error=error),
        score=Score(value=value) if value is not None else None,
    )


@pytest.mark.parametrize("task", ["gpqa_diamond", "mmlu_pro", "livecodebench"])
def test_an_errored_sample_counts_as_wrong(task: str) -> None:
    records = [record("1", 1.0), record("2", 1.0), record("3", 0.0), record("4", None, error="timeout")]
    metrics, categories, status = assess(get_task(task), records, total=4, max_error_rate=0.5)
    headline = metrics[get_task(task).headline]
    assert (headline.value, headline.n) == (0.5, 4)
    assert categories["physics"][get_task(task).headline].value == 0.5
    assert metrics["error_rate"].value == 0.25 and status == "complete"
    # Past the threshold the run is not complete either.
    assert assess(get_task(task), records, total=4, max_error_rate=0.05)[2] == "failed"
    # The stored record is untouched: the error is not turned into a score.
    assert records[3].score is None


@pytest.mark.parametrize("task", ["arena_hard", "identity_consistency", "response_similarity"])
def test_judged_rates_count_errors_apart(task: str) -> None:
    assert get_task(task).error_score() is None
    errored = record("4", None, error="timeout")
    assert get_task(task).counted_records([errored]) == []
