"""The openai_compat backend's wire format, through both transports, against a real local server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness.backends import make_client
from harness.backends.concurrent import RateLimiter, estimated_tokens, retry_after_s, split_count
from harness.errors import ConfigError
from harness.runner import execute, plan_run
from harness.store import latest_records
from harness.task import Task
from harness.types import Completion, GenerationConfig, GenerationRequest, Message
from tests.api_support import KEY, api_entry, run_options
from tests.fault_server import ANSWER, Fault, FaultServer

TRANSPORTS = ["aiohttp", "openai-sdk"]


def request(content: str = "What is 2+2?", **config: Any) -> GenerationRequest:
    messages = [Message(role="system", content="Answer briefly."), Message(role="user", content=content)]
    return GenerationRequest(messages=messages, config=GenerationConfig.model_validate(config))


def generate(server: FaultServer, requests: list[GenerationRequest], **fields: Any) -> list[Completion]:
    client = make_client(api_entry(server, **fields))
    try:
        found = dict(client.generate(requests))
    finally:
        client.close()
    return [found[index] for index in range(len(requests))]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_request_carries_messages_decoding_parameters_and_the_key(
    transport: str, fault_server: FaultServer
) -> None:
    config: dict[str, Any] = {
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 77,
        "stop": ["\n\n"],
        "seed": 1234,
    }
    (completion,) = generate(
        fault_server,
        [request(**config, reasoning_effort="low")],
        backend_options={"transport": transport, "extra_body": {"top_k": 5}},
    )

    (sent,) = fault_server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    body = sent.body
    assert body["model"] == "fault-model"
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    assert {k: body[k] for k in config} == config
    assert body["reasoning_effort"] == "low" and body["top_k"] == 5
    assert "n" not in body and "max_completion_tokens" not in body
    assert completion.text == ANSWER and completion.error is None
    assert completion.finish_reason == "stop"
    assert completion.model == "fault-model-2026-01-01"  # the provider's own model version
    assert completion.usage.input_tokens == 1000 and completion.usage.output_tokens == 50
    assert completion.latency_s > 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_reasoning_models_take_max_completion_tokens_and_return_reasoning(
    transport: str, fault_server: FaultServer
) -> None:
    fault_server.reasoning = "First, 2+2 is 4."
    (completion,) = generate(
        fault_server,
        [request(max_tokens=4096, reasoning_effort="high")],
        model="o4-mini",
        backend_options={"transport": transport},
    )
    body = fault_server.requests[0].body
    assert body["max_completion_tokens"] == 4096 and body["reasoning_effort"] == "high"
    # o-series models accept only their default sampling parameters.
    assert not {"max_tokens", "temperature", "top_p"} & set(body)
    assert completion.reasoning == "First, 2+2 is 4." and completion.text == ANSWER


def test_reasoning_model_detection_can_be_forced(fault_server: FaultServer) -> None:
    generate(fault_server, [request()], model="deepseek-reasoner", backend_options={"reasoning_model": True})
    generate(fault_server, [request()], model="o3", backend_options={"reasoning_model": False})
    first, second = (r.body for r in fault_server.requests)
    assert "max_completion_tokens" in first and "max_tokens" not in first
    assert "max_tokens" in second and "temperature" in second


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_repeats_of_one_prompt_share_a_call_with_n(transport: str, fault_server: FaultServer) -> None:
    fault_server.usage.completion_tokens = 40
    repeats = [request(temperature=1.0, seed=seed) for seed in (11, 12, 13, 14, 15)]
    completions = generate(
        fault_server,
        [*repeats, request("Another question")],
        backend_options={"transport": transport, "max_n": 3},
    )

    bodies = sorted((r.body for r in fault_server.requests), key=lambda b: -int(b.get("n", 1)))
    assert [b.get("n", 1) for b in bodies] == [3, 2, 1]
    assert bodies[0]["seed"] == 11  # a call carries the seed of its first repeat
    assert [c.text for c in completions[:3]] == [f"{ANSWER} [{i}]" for i in range(3)]
    # The prompt is billed once per call and split evenly; the output is split by answer length.
    first_call = completions[:3]
    assert sum(c.usage.input_tokens for c in first_call) == 1000
    assert sum(c.usage.output_tokens for c in first_call) == 3 * 40
    assert completions[5].usage.input_tokens == 1000


def test_a_server_that_ignores_n_is_reported(fault_server: FaultServer) -> None:
    fault_server.ignore_n = True
    first, second = generate(
        fault_server, [request(seed=s, temperature=1.0) for s in (1, 2)], backend_options={"max_n": 2}
    )
    assert first.error is None and first.text == ANSWER
    assert second.error is not None and "returned 1 of 2 requested choices" in second.error
    assert "max_n: 1" in second.error


def test_content_filter_is_a_permanent_error_on_that_sample(fault_server: FaultServer) -> None:
    fault_server.script("filtered", [Fault("content_filter")])
    filtered, fine = generate(fault_server, [request("filtered"), request("fine")])
    assert filtered.error is not None and "content filter" in filtered.error
    assert not filtered.error_retryable
    assert filtered.usage.input_tokens == 1000  # a filtered answer is still billed
    assert fine.error is None


def test_thinking_budget_is_refused_for_openai_compatible_entries(fault_server: FaultServer) -> None:
    with pytest.raises(ConfigError, match="thinking_budget_tokens is an Anthropic parameter"):
        make_client(api_entry(fault_server, generation={"thinking_budget_tokens": 2048}))
    (completion,) = generate(fault_server, [request(thinking_budget_tokens=2048)])
    assert completion.error is not None and "Anthropic parameter" in completion.error
    assert fault_server.requests == []


def test_unknown_backend_options_are_a_config_error(fault_server: FaultServer) -> None:
    with pytest.raises(ConfigError, match=r"invalid backend_options for openai_compat.*transport"):
        make_client(api_entry(fault_server, backend_options={"transprot": "aiohttp"}))


def test_concurrency_limit_is_respected(fault_server: FaultServer) -> None:
    for index in range(12):
        fault_server.script(f"question {index}", [Fault("slow", seconds=0.3)])
    completions = generate(fault_server, [request(f"question {i}") for i in range(12)], concurrency=3)
    assert all(c.error is None for c in completions)
    assert fault_server.max_in_flight == 3


def test_requests_per_minute_spaces_the_calls(fault_server: FaultServer) -> None:
    generate(fault_server, [request(f"r{i}") for i in range(8)], concurrency=8, requests_per_minute=120)
    arrivals = sorted(r.at for r in fault_server.requests)
    # 120/min is 2/s with a bucket of 2: two calls at once, then one every 0.5 s (a lower bound on
    # the spacing, which is what the limit promises; not a speed assertion).
    assert len(arrivals) == 8
    assert arrivals[-1] - arrivals[0] >= 2.9


def test_rate_limiter_bucket_arithmetic() -> None:
    now = [100.0]
    limiter = RateLimiter(per_minute=60, clock=lambda: now[0])  # 1 per second, bucket of 1
    assert limiter.delay_for(1) == 0
    limiter._level -= 1
    assert limiter.delay_for(1) == pytest.approx(1.0)
    now[0] += 0.25
    assert limiter.delay_for(1) == pytest.approx(0.75)
    tokens = RateLimiter(per_minute=6000, clock=lambda: now[0])  # 100 tokens/s, bucket of 100
    # A request larger than the bucket waits for a full bucket, then overdraws it.
    assert tokens.delay_for(500) == 0
    tokens._level -= 500
    assert tokens.delay_for(10) == pytest.approx(4.1)


def test_token_estimate_counts_prompt_and_output_allowance() -> None:
    one = request("x" * 400, max_tokens=100)
    chars = len("Answer briefly.") + 400
    assert estimated_tokens([one]) == pytest.approx(chars / 4 + 100)
    assert estimated_tokens([one, one]) == pytest.approx(chars / 4 + 200)


def test_retry_after_forms() -> None:
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"retry-after": "0.5"}) == 0.5
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (retry_after_s({"retry-after": http_date}) or 0) <= 31
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({}) is None


def test_split_count_is_exact() -> None:
    assert split_count(10, [1, 1, 1]) == [4, 3, 3]
    assert split_count(100, [1, 3]) == [25, 75]
    assert split_count(7, [0, 0]) == [4, 3]
    assert sum(split_count(1001, [3, 5, 7, 11])) == 1001


def test_system_prompt_from_the_entry_reaches_the_server(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = api_entry(fault_server, generation={"system_prompt": "You are a careful expert."})
    options = run_options(tmp_path, shared_data, limit=2)
    outcome = execute(plan_run(mmlu_0shot, entry, options), options)
    assert outcome.result.status == "complete"
    for sent in fault_server.requests:
        assert sent.body["messages"][0] == {"role": "system", "content": "You are a careful expert."}
        # A hosted API gets MMLU-Pro's API protocol, which sends no stop sequence.
        assert "stop" not in sent.body and sent.body["max_tokens"] == 64
    seeds = {r.body["seed"] for r in fault_server.requests}
    assert len(seeds) == 2  # one seed per sample, derived from (seed, sample, epoch)
    records = latest_records(outcome.run_dir.read_records()).values()
    assert all(r.completion.text == ANSWER and r.score is not None for r in records)


def test_raw_text_requests_use_the_completions_format() -> None:
    """MMLU-Pro's local protocol sends plain text: `prompt` instead of `messages` (POSTed to
    `/completions`; a served run against llama-server is in test_managed_server.py), and the answer
    is the choice's `text`."""
    from harness.backends.openai_compat import ChatFormat, OpenAIOptions

    chat = ChatFormat("m", OpenAIOptions())
    config = GenerationConfig(temperature=0.0, max_tokens=8, stop=["Question:"])
    raw = GenerationRequest(
        messages=[Message(role="user", content="Question:\nx")], config=config, raw_text=True
    )
    body = chat.body([raw])
    assert body["prompt"] == "Question:\nx" and "messages" not in body and body["stop"] == ["Question:"]
    chat_body = chat.body([raw.model_copy(update={"raw_text": False})])
    assert (
        chat_body["messages"] == [{"role": "user", "content": "Question:\nx"}] and "prompt" not in chat_body
    )
    (completion,) = chat.completions(
        {"model": "m", "choices": [{"index": 0, "text": " Paris.", "finish_reason": "stop"}]}, 1
    )
    assert (completion.text, completion.finish_reason, completion.error) == (" Paris.", "stop", None)


def test_anthropic_refuses_raw_text() -> None:
    from harness.backends.anthropic import message_params
    from harness.backends.concurrent import PermanentError

    request = GenerationRequest(
        messages=[Message(role="user", content="x")], config=GenerationConfig(), raw_text=True
    )
    with pytest.raises(PermanentError, match="raw-text"):
        message_params("claude", request)
