from __future__ import annotations

import pytest

from harness.reasoning import split_reasoning


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("<think>Let me see.</think>\n\nAnswer: B", "Let me see.", "Answer: B"),
        ("I start thinking right away.</think>Answer: C", "I start thinking right away.", "Answer: C"),
        ("<think>cut off while thinking", "cut off while thinking", ""),
        ("plain answer, Answer: D", None, "plain answer, Answer: D"),
        ("<think>a</think>draft<think>b</think>Answer: A", "a</think>draft<think>b", "Answer: A"),
    ],
)
def test_split_reasoning(text: str, reasoning: str | None, answer: str) -> None:
    assert split_reasoning(text) == (reasoning, answer)
