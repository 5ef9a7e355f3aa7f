"""Anthropic's Messages API through the official `anthropic` SDK (`AsyncAnthropic`, its retries off:
retries, limits and deadlines are the harness's own, see `concurrent.py`).

Request mapping: system messages are joined into the top-level `system` field; `max_tokens` is
always sent (the API requires it); `stop` becomes `stop_sequences`. No sampling parameters are sent:
API version 2026-10-21, which SDK 2.x sends by default, refuses `temperature`, `top_p` and `top_k`
(even at their defaults), so Claude always decodes with its own defaults; a task's temperature 0 is
not honoured and the run's backend_info says so. The API has no seed either, so answers are not
reproducible. (To reach an older model with sampling parameters, pin `backend_options.api_version:
"2023-06-01"` and pass them in `backend_options.extra_body`.)

With `generation.thinking_budget_tokens` manual extended thinking is enabled (`thinking: {type:
enabled, budget_tokens}`, at least 1,024); thinking tokens count against `max_tokens`, so the
harness sends `max_tokens + thinking_budget_tokens` to leave the answer its own allowance. Thinking
blocks become the completion's reasoning (redacted thinking is marked, its content is encrypted);
`stop_reason` is mapped to the OpenAI vocabulary (`end_turn`/`stop_sequence` -> stop, `max_tokens` ->
length); `refusal` is recorded as a content-filter error. Usage: `input_tokens` plus cache reads and
writes as input, cache reads as cached input; output includes thinking (billed as output).
`backend_options.extra_body` is merged into every request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.backends.base import api_key
from harness.backends.concurrent import (
    ConcurrentClient,
    Limits,
    PermanentError,
    RetryableError,
    classify_status,
    error_fields,
    token_count,
)
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.types import BackendInfo, Completion, GenerationRequest, Usage

DEFAULT_BASE_URL = "https://api.anthropic.com"
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
REDACTED_THINKING = "[redacted thinking]"


class AnthropicOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extra_body: dict[str, Any] = Field(default_factory=dict)
    api_version: str | None = None


def message_params(model: str, request: GenerationRequest) -> dict[str, Any]:
    config = request.config
    if request.raw_text:
        raise PermanentError(
            "a raw-text (completion) prompt: the Messages API takes chat messages only; choose the task's "
            "chat protocol for this entry."
        )
    if config.reasoning_effort is not None:
        raise PermanentError(
            "reasoning_effort is an OpenAI parameter; for Anthropic models set "
            "generation.thinking_budget_tokens instead."
        )
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    params: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"],
        "max_tokens": config.max_tokens + (config.thinking_budget_tokens or 0),
    }
    if system:
        params["system"] = system
    if config.thinking_budget_tokens is not None:
        params["thinking"] = {"type": "enabled", "budget_tokens": config.thinking_budget_tokens}
    if config.stop:
        params["stop_sequences"] = config.stop
    return params


def parse_message(data: Any, model: str) -> Completion:
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise RetryableError(f"response is not a message: {json.dumps(data)[:200]}")
    texts: list[str] = []
    thinking: list[str] = []
    for block in data["content"]:
        if not isinstance(block, dict):
            raise RetryableError(f"malformed content block: {block!r:.200}")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking", "")))
        elif kind == "redacted_thinking":
            thinking.append(REDACTED_THINKING)
    stop_reason = data.get("stop_reason")
    usage, missing = _usage(data.get("usage"))
    completion = Completion(
        text="".join(texts),
        reasoning="\n\n".join(thinking) if thinking else None,
        finish_reason=STOP_REASONS.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else None,
        usage=usage,
        usage_missing=missing,
        model=str(data["model"]) if isinstance(data.get("model"), str) else model,
    )
    if stop_reason == "refusal":
        completion.error = (
            "content filter: the model's safety filter stopped the answer (stop_reason refusal)"
        )
        completion.finish_reason = "content_filter"
    return completion


def _usage(usage: Any) -> tuple[Usage, bool]:
    if not isinstance(usage, dict):
        return Usage(), True
    base = token_count(usage.get("input_tokens"))
    output = token_count(usage.get("output_tokens"))
    cache_read = token_count(usage.get("cache_read_input_tokens")) or 0
    cache_write = token_count(usage.get("cache_creation_input_tokens")) or 0
    return (
        Usage(
            input_tokens=(base or 0) + cache_read + cache_write,
            output_tokens=output or 0,
            cached_input_tokens=cache_read,
        ),
        base is None or output is None,
    )


class AnthropicTransport:
    max_choices = 1

    def __init__(
        self,
        model: str,
        base_url: str,
        key: str,
        key_env: str | None,
        timeout_s: float,
        options: AnthropicOptions,
    ) -> None:
        self._model = model
        self._base_url = base_url
        self._endpoint = base_url.rstrip("/") + "/v1/messages"
        self._key = key
        self._key_env = key_env
        self._timeout_s = timeout_s
        self._extra_body = options.extra_body
        self._api_version = options.api_version
        self._client: Any = None

    async def open(self) -> None:
        import anthropic

        headers = {"anthropic-version": self._api_version} if self._api_version else None
        self._client = anthropic.AsyncAnthropic(
            api_key=self._key,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._timeout_s,
            default_headers=headers,
        )

    async def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        import anthropic

        params = message_params(self._model, requests[0])
        try:
            # An explicit timeout also lifts the SDK's refusal of long non-streaming requests: the
            # harness's own deadline (request_timeout_s) bounds every call.
            response = await self._client.messages.with_raw_response.create(
                **params, extra_body=self._extra_body or None, timeout=self._timeout_s
            )
            text = await response.text()
        except anthropic.APIStatusError as exc:
            message, code = error_fields(exc.response.text)
            raise classify_status(
                exc.status_code,
                message,
                code,
                exc.response.headers,
                endpoint=self._endpoint,
                key_env=self._key_env,
            ) from None
        except (anthropic.APIConnectionError, anthropic.APIResponseValidationError) as exc:
            raise RetryableError(f"{self._endpoint}: {type(exc).__name__}: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise RetryableError(f"malformed JSON in a 200 response: {text[:200]!r}") from None
        return [parse_message(data, self._model)]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    def info(self) -> BackendInfo:
        import anthropic

        return BackendInfo(
            backend="anthropic",
            library="anthropic",
            library_version=anthropic.__version__,
            transport="anthropic-sdk",
            endpoint=self._endpoint,
            sampling="the model's defaults (the API takes no temperature, top_p or seed)",
            settings={"api_version": self._api_version or anthropic._constants.ANTHROPIC_API_VERSION},
        )


def make_anthropic_client(entry: ModelEntry) -> ConcurrentClient:
    try:
        options = AnthropicOptions.model_validate(entry.backend_options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"entry {entry.id!r}: invalid backend_options for anthropic ({problems}). "
            "Allowed keys: extra_body, api_version."
        ) from None
    if entry.api_key_env is None:
        raise ConfigError(
            f"entry {entry.id!r}: the anthropic backend needs `api_key_env` (the name of the environment "
            "variable holding the key, usually ANTHROPIC_API_KEY)."
        )
    key = api_key(entry)
    assert key is not None
    transport = AnthropicTransport(
        entry.model,
        entry.base_url or DEFAULT_BASE_URL,
        key,
        entry.api_key_env,
        entry.request_timeout_s,
        options,
    )
    return ConcurrentClient(transport, Limits.from_entry(entry), backend="anthropic", secret=key)
