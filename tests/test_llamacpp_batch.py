"""Continuous batching in the embedded model against one request at a time, with the real SmolLM2."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.backends.llamacpp import LlamaCppClient
from harness.config import ModelEntry
from harness.types import Completion, GenerationConfig, GenerationRequest, Message

QUESTIONS = [
    "What is the capital of France?",
    "What is 17*23?",
    "Name three prime numbers.",
    "Why is the sky blue?",
]


def request(text: str, **config: object) -> GenerationRequest:
    return GenerationRequest(
        messages=[Message(role="user", content=text)],
        config=GenerationConfig.model_validate({"temperature": 0.0, "max_tokens": 16, **config}),
    )


@pytest.fixture(scope="module")
def batched(embedded_entry: ModelEntry) -> Iterator[LlamaCppClient]:
    options = {**embedded_entry.backend_options, "parallel": 3, "n_ctx": 2048}
    client = LlamaCppClient.from_entry(embedded_entry.model_copy(update={"backend_options": options}))
    yield client
    client.close()


@pytest.fixture(scope="module")
def sequential(embedded_entry: ModelEntry) -> Iterator[LlamaCppClient]:
    options = {**embedded_entry.backend_options, "parallel": 1, "n_ctx": 2048}
    client = LlamaCppClient.from_entry(embedded_entry.model_copy(update={"backend_options": options}))
    yield client
    client.close()


def outcome(completion: Completion) -> tuple[object, ...]:
    return (completion.text, completion.finish_reason, completion.usage, completion.error)


@pytest.mark.slow
def test_batched_greedy_completions_equal_sequential_ones(
    batched: LlamaCppClient, sequential: LlamaCppClient
) -> None:
    # More requests than slots, a stop string, and one prompt longer than the context window.
    requests = [request(q) for q in QUESTIONS] + [
        request("Count from one to ten in words, one per line.", stop=["\n"], max_tokens=24),
        request("word " * 2100),
    ]
    one_by_one = dict(sequential.generate(requests))
    together = dict(batched.generate(requests))
    assert sorted(together) == list(range(len(requests)))
    assert [outcome(together[i]) for i in range(len(requests))] == [
        outcome(one_by_one[i]) for i in range(len(requests))
    ]
    assert {c.finish_reason for c in together.values()} >= {"stop", "length"}
    assert "\n" not in together[4].text and together[4].text
    assert together[5].error is not None and "exceed context window" in together[5].error


@pytest.mark.slow
def test_batched_generation_stops_sending_once_refused(batched: LlamaCppClient) -> None:
    asked: list[int] = []

    def admit(indices: object) -> bool:
        assert isinstance(indices, list)
        asked.extend(indices)
        return len(asked) <= 2

    done = dict(batched.generate([request(q, max_tokens=4) for q in QUESTIONS], admit))
    assert sorted(done) == [0, 1]


@pytest.mark.slow
def test_raw_text_is_continued_without_the_chat_template(
    batched: LlamaCppClient, sequential: LlamaCppClient
) -> None:
    """A raw-text request (MMLU-Pro's local protocol) is the same plain continuation in both paths,
    and differs from the chat-templated answer to the same text."""
    texts = ["Question:\nWhat is the capital of France?\nAnswer: Let's think step by step.", *QUESTIONS[1:3]]
    config = {"temperature": 0.0, "max_tokens": 12, "stop": ["Question:"]}
    raw = [r.model_copy(update={"raw_text": True}) for r in (request(t, **config) for t in texts)]
    one_by_one = dict(sequential.generate(raw))
    together = dict(batched.generate(raw))
    assert [outcome(together[i]) for i in range(len(raw))] == [
        outcome(one_by_one[i]) for i in range(len(raw))
    ]
    chat = dict(sequential.generate([request(t, **config) for t in texts]))
    assert all(c.error is None for c in [*together.values(), *chat.values()])
    # The chat template wraps the text in role markers, so the chat prompt has more tokens.
    assert all(chat[i].usage.input_tokens > together[i].usage.input_tokens for i in range(len(raw)))
