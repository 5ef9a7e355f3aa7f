"""The anthropic backend (official SDK) against a real local Messages-API server."""

from __future__ import annotations

import pytest

from harness.backends import make_client
from harness.errors import ConfigError
from harness.types import Completion, GenerationConfig, GenerationRequest, Message
from tests.api_support import KEY, api_entry
from tests.fault_server import ANSWER, Fault, FaultServer


def claude(server: FaultServer, requests: list[GenerationRequest], **fields: object) -> list[Completion]:
    client = make_client(api_entry(server, backend="anthropic", **fields))
    try:
        found = dict(client.generate(requests))
    finally:
        client.close()
    return [found[index] for index in range(len(requests))]


def request(
    content: str = "What is 2+2?", *, system: str | None = "Be brief.", **config: object
) -> GenerationRequest:
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=content))
    return GenerationRequest(messages=messages, config=GenerationConfig.model_validate(config))


def test_system_prompt_is_split_out_and_max_tokens_always_sent(fault_server: FaultServer) -> None:
    (completion,) = claude(fault_server, [request(max_tokens=300, stop=["\n\nHuman:"], temperature=0.0)])

    (sent,) = fault_server.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["anthropic-version"]
    body = sent.body
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert body["max_tokens"] == 300 and body["stop_sequences"] == ["\n\nHuman:"]
    # The current API refuses sampling parameters and has no seed.
    assert not {"temperature", "top_p", "top_k", "seed", "thinking"} & set(body)
    assert completion.text == ANSWER and completion.finish_reason == "stop" and completion.reasoning is None
    assert completion.model == "fault-model"


def test_extended_thinking_budget_and_thinking_text_as_reasoning(fault_server: FaultServer) -> None:
    fault_server.reasoning = "The user asks for a sum; 2+2=4."
    (completion,) = claude(fault_server, [request(max_tokens=1000, thinking_budget_tokens=2048)])
    body = fault_server.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    # Thinking counts against max_tokens: the answer keeps its own 1000.
    assert body["max_tokens"] == 3048
    assert completion.reasoning == "The user asks for a sum; 2+2=4." and completion.text == ANSWER


def test_usage_counts_cache_reads_as_cached_input(fault_server: FaultServer) -> None:
    fault_server.usage.prompt_tokens = 1500
    fault_server.usage.cached_tokens = 1200
    fault_server.usage.completion_tokens = 70
    (completion,) = claude(fault_server, [request(system=None)])
    assert "system" not in fault_server.requests[0].body
    usage = completion.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (1500, 1200, 70)


def test_overload_and_rate_limits_are_retried_and_refusals_recorded(fault_server: FaultServer) -> None:
    fault_server.script("busy", [Fault("overloaded"), Fault("rate_limit", retry_after="0")])
    fault_server.script("refuse", [Fault("content_filter")])
    fault_server.script("long", [Fault("context_length")])
    busy, refused, long = claude(fault_server, [request("busy"), request("refuse"), request("long")])
    assert busy.error is None and len(fault_server.requests_for("busy")) == 3
    assert refused.error is not None and "content filter" in refused.error and not refused.error_retryable
    assert refused.finish_reason == "content_filter"
    assert long.error is not None and "context length exceeded" in long.error
    assert len(fault_server.requests_for("long")) == 1


def test_reasoning_effort_is_refused_with_the_anthropic_alternative(fault_server: FaultServer) -> None:
    (completion,) = claude(fault_server, [request(reasoning_effort="high")])
    assert completion.error is not None and "thinking_budget_tokens" in completion.error
    assert fault_server.requests == []


def test_the_entry_must_name_its_key_variable(fault_server: FaultServer) -> None:
    with pytest.raises(ConfigError, match="needs `api_key_env`"):
        make_client(api_entry(fault_server, backend="anthropic", api_key_env=None))


def test_pinned_api_version_is_sent(fault_server: FaultServer) -> None:
    claude(
        fault_server, [request()], backend_options={"api_version": "2023-06-01", "extra_body": {"top_k": 1}}
    )
    sent = fault_server.requests[0]
    assert sent.headers["anthropic-version"] == "2023-06-01" and sent.body["top_k"] == 1
