"""OpenAI-compatible chat completions: OpenAI, DeepSeek, Qwen (DashScope's compatible mode), vLLM,
llama.cpp, SGLang and any other server that speaks `POST {base_url}/chat/completions`. A raw-text
request (`GenerationRequest.raw_text`) goes to `POST {base_url}/completions` with its text as `prompt`.

Two transports behind one interface. The default sends the documented JSON body with aiohttp over
one pooled session; `backend_options: {transport: openai-sdk}` sends the same body through the
official SDK's `AsyncOpenAI` (its retries disabled: retries, limits and deadlines are the harness's
own, see `concurrent.py`). benchmarks/api_throughput.py measures both against lm-eval (1,000
requests to a server answering after 100 ms, two cores): the SDK costs 1.6-2.1 ms of CPU per request
against 0.3-0.4 ms for the whole harness on aiohttp, which caps it at an efficiency of 0.69 at
concurrency 64 where aiohttp reaches 0.90 (lm-eval: 0.86). Hence the leaner default.

Request mapping: `temperature`, `top_p`, `max_tokens`, `stop` and `seed` as given; `reasoning_effort`
when set. Reasoning models (OpenAI's o-series and gpt-5, detected by name or forced with
`backend_options.reasoning_model`) take `max_completion_tokens` instead of `max_tokens` and no
sampling parameters (they accept only their defaults). `backend_options.extra_body` is merged into
every request for provider-specific switches (DashScope's `enable_thinking`, vLLM's
`chat_template_kwargs`, llama.cpp's `top_k`). Repeats of one prompt can share a call through `n`
(`backend_options.max_n`): the prompt is billed once; the call carries the seed of its first repeat.
`reasoning_content` (DeepSeek, Qwen, vLLM) or `reasoning` (vLLM, OpenRouter) becomes the completion's
reasoning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.backends.base import api_key
from harness.backends.concurrent import (
    ConcurrentClient,
    Limits,
    PermanentError,
    RetryableError,
    classify_status,
    error_fields,
    split_count,
    token_count,
)
from harness.backends.servers import start_server
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.types import BackendInfo, Completion, GenerationRequest, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# o1, o3, o4-mini, gpt-5...: optionally behind a provider prefix such as "openai/".
REASONING_MODEL_NAME = re.compile(r"(^|/)(o\d|gpt-5)")


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transport: Literal["aiohttp", "openai-sdk"] = "aiohttp"
    max_n: int = Field(default=1, ge=1, le=128)
    reasoning_model: bool | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)


def display_url(url: str) -> str:
    """`url` without any user:password part, for messages and run.json."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_reasoning_model(model: str, declared: bool | None) -> bool:
    """Whether a model takes reasoning models' parameters: as `backend_options.reasoning_model`
    declares, else by its name."""
    return declared if declared is not None else bool(REASONING_MODEL_NAME.search(model))


class ChatFormat:
    """The OpenAI chat-completions wire format: building request bodies and reading responses."""

    def __init__(self, model: str, options: OpenAIOptions) -> None:
        self.model = model
        self.options = options
        self.reasoning_model = is_reasoning_model(model, options.reasoning_model)

    def body(self, requests: Sequence[GenerationRequest]) -> dict[str, Any]:
        request = requests[0]
        config = request.config
        if config.thinking_budget_tokens is not None:
            raise PermanentError(
                "thinking_budget_tokens is an Anthropic parameter; OpenAI-compatible providers take "
                "reasoning_effort, or a provider switch in backend_options.extra_body (DashScope: "
                "thinking_budget)."
            )
        body: dict[str, Any] = {"model": self.model}
        if request.raw_text:
            body["prompt"] = request.text
        else:
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        if self.reasoning_model:
            body["max_completion_tokens"] = config.max_tokens
        else:
            body["max_tokens"] = config.max_tokens
            body["temperature"] = config.temperature
            body["top_p"] = config.top_p
        if config.stop:
            body["stop"] = config.stop
        if config.seed is not None:
            body["seed"] = config.seed
        if config.reasoning_effort is not None:
            body["reasoning_effort"] = config.reasoning_effort
        if len(requests) > 1:
            body["n"] = len(requests)
        body.update(self.options.extra_body)
        return body

    def completions(self, data: Any, count: int) -> list[Completion]:
        """One completion per requested choice; an unusable response raises `RetryableError`."""
        if not isinstance(data, dict):
            raise RetryableError(f"response is not a JSON object: {str(data)[:200]}")
        if "choices" not in data and isinstance(data.get("error"), dict):
            error = data["error"]
            status = error.get("code") if isinstance(error.get("code"), int) else 500
            raise RetryableError(f"HTTP 200 carrying an error (code {status}): {error.get('message')}")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise RetryableError(f"response has no choices: {json.dumps(data)[:200]}")
        parsed: list[Completion] = []
        model = str(data["model"]) if isinstance(data.get("model"), str) else self.model
        try:
            ordered = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
            for choice in ordered[:count]:
                parsed.append(self._choice(choice, model))
        except (AttributeError, TypeError, KeyError) as exc:
            raise RetryableError(f"response choices are malformed ({exc}): {json.dumps(data)[:200]}") from exc
        usages, missing = self._usage(data.get("usage"), parsed)
        for completion, usage in zip(parsed, usages, strict=True):
            completion.usage = usage
            completion.usage_missing = missing
        while len(parsed) < count:
            parsed.append(
                Completion(
                    text="",
                    error=(
                        f"the server returned {len(choices)} of {count} requested choices; it ignores `n`, "
                        "so set backend_options.max_n: 1 for this entry"
                    ),
                    model=model,
                )
            )
        return parsed

    def _choice(self, choice: dict[str, Any], model: str) -> Completion:
        # A chat choice holds a message; a text completion's choice (`/completions`) holds its text.
        message = choice["message"] if "message" in choice else {"content": choice["text"]}
        content = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        finish = choice.get("finish_reason")
        completion = Completion(
            text=str(content),
            reasoning=str(reasoning) if reasoning else None,
            finish_reason=str(finish) if finish is not None else None,
            model=model,
        )
        if finish == "content_filter":
            completion.error = (
                "content filter: the provider withheld the answer (finish_reason content_filter)"
            )
        return completion

    def _usage(self, usage: Any, parsed: Sequence[Completion]) -> tuple[list[Usage], bool]:
        """Token counts split over the choices (the prompt evenly, the output by answer length), and
        whether the response's counts were missing or unreadable."""
        if not isinstance(usage, dict):
            usage = {}
        prompt = token_count(usage.get("prompt_tokens"))
        output = token_count(usage.get("completion_tokens"))
        prompt_details = usage.get("prompt_tokens_details")
        output_details = usage.get("completion_tokens_details")
        cached = (
            token_count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None
        )
        if cached is None:
            cached = token_count(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
        reasoning = (
            token_count(output_details.get("reasoning_tokens")) if isinstance(output_details, dict) else None
        )
        missing = prompt is None or output is None
        lengths = [float(len(c.text) + len(c.reasoning or "")) for c in parsed]
        even = [1.0] * len(parsed)
        inputs = split_count(prompt or 0, even)
        cached_parts = split_count(min(cached or 0, prompt or 0), even)
        outputs = split_count(output or 0, lengths)
        reasoning_parts = split_count(min(reasoning or 0, output or 0), lengths)
        return [
            Usage(input_tokens=i, output_tokens=o, cached_input_tokens=c, reasoning_tokens=r)
            for i, o, c, r in zip(inputs, outputs, cached_parts, reasoning_parts, strict=True)
        ], missing


class AiohttpTransport:
    """POST the JSON body with one pooled aiohttp session."""

    def __init__(
        self, chat: ChatFormat, base_url: str, key: str | None, key_env: str | None, concurrency: int
    ) -> None:
        self.max_choices = chat.options.max_n
        self._chat = chat
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._text_url = base_url.rstrip("/") + "/completions"
        self._endpoint = display_url(self._url)
        self._headers = {"Content-Type": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._key_env = key_env
        self._concurrency = concurrency
        self._session: Any = None

    async def open(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency, ttl_dns_cache=300),
            headers=self._headers,
            # The harness puts its own total deadline around every call.
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        import aiohttp

        body = json.dumps(self._chat.body(requests))
        url = self._text_url if requests[0].raw_text else self._url
        try:
            async with self._session.post(url, data=body) as response:
                status = response.status
                headers = response.headers
                raw = await response.read()
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise RetryableError(
                f"connection to {self._endpoint} failed: {type(exc).__name__}: {exc}"
            ) from None
        if status != 200:
            message, code = error_fields(raw)
            raise classify_status(
                status, message, code, headers, endpoint=self._endpoint, key_env=self._key_env
            )
        try:
            data = json.loads(raw)
        except ValueError:
            raise RetryableError(f"malformed JSON in a 200 response: {raw[:200]!r}") from None
        return self._chat.completions(data, len(requests))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def info(self) -> BackendInfo:
        import aiohttp

        return BackendInfo(
            backend="openai_compat",
            library="aiohttp",
            library_version=aiohttp.__version__,
            transport="aiohttp",
            endpoint=self._endpoint,
            settings={"reasoning_model": self._chat.reasoning_model, "max_n": self.max_choices},
        )


class SdkTransport:
    """The same body through the official SDK's `AsyncOpenAI`, with the SDK's own retries off."""

    def __init__(
        self, chat: ChatFormat, base_url: str, key: str | None, key_env: str | None, timeout_s: float
    ) -> None:
        self.max_choices = chat.options.max_n
        self._chat = chat
        self._base_url = base_url
        self._endpoint = display_url(base_url.rstrip("/") + "/chat/completions")
        self._key = key
        self._key_env = key_env
        self._timeout_s = timeout_s
        self._client: Any = None

    async def open(self) -> None:
        import openai

        # The SDK insists on a key; local servers that need none ignore this placeholder.
        self._client = openai.AsyncOpenAI(
            api_key=self._key or "none",
            base_url=self._base_url,
            max_retries=0,
            timeout=self._timeout_s,
        )

    async def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        import openai

        body = self._chat.body(requests)
        try:
            response: Any
            if requests[0].raw_text:
                response = await self._client.completions.create(
                    model=body.pop("model"), prompt=body.pop("prompt"), extra_body=body
                )
            else:
                response = await self._client.chat.completions.create(
                    model=body.pop("model"), messages=body.pop("messages"), extra_body=body
                )
        except openai.APIStatusError as exc:
            message, code = error_fields(exc.response.text)
            raise classify_status(
                exc.status_code,
                message,
                code,
                exc.response.headers,
                endpoint=self._endpoint,
                key_env=self._key_env,
            ) from None
        except (openai.APIConnectionError, openai.APIResponseValidationError, ValueError) as exc:
            raise RetryableError(f"{self._endpoint}: {type(exc).__name__}: {exc}") from None
        return self._chat.completions(response.model_dump(warnings=False), len(requests))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    def info(self) -> BackendInfo:
        import openai

        return BackendInfo(
            backend="openai_compat",
            library="openai",
            library_version=openai.__version__,
            transport="openai-sdk",
            endpoint=self._endpoint,
            settings={"reasoning_model": self._chat.reasoning_model, "max_n": self.max_choices},
        )


def parse_options(entry: ModelEntry) -> OpenAIOptions:
    try:
        return OpenAIOptions.model_validate(entry.backend_options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"entry {entry.id!r}: invalid backend_options for openai_compat ({problems}). Allowed keys: "
            f"{', '.join(OpenAIOptions.model_fields)}."
        ) from None


def make_openai_client(entry: ModelEntry, base_url: str | None = None) -> ConcurrentClient:
    """A client for `entry`; with `entry.server`, the harness starts that local server first."""
    options = parse_options(entry)
    if entry.generation.thinking_budget_tokens is not None:
        raise ConfigError(
            f"entry {entry.id!r}: generation.thinking_budget_tokens is an Anthropic parameter; for "
            "OpenAI-compatible providers use reasoning_effort or backend_options.extra_body."
        )
    key = api_key(entry)
    server = start_server(entry) if entry.server is not None and base_url is None else None
    try:
        url = base_url or (server.base_url if server else entry.base_url) or DEFAULT_BASE_URL
        chat = ChatFormat(entry.model, options)
        transport: AiohttpTransport | SdkTransport
        if options.transport == "openai-sdk":
            transport = SdkTransport(chat, url, key, entry.api_key_env, entry.request_timeout_s)
        else:
            transport = AiohttpTransport(chat, url, key, entry.api_key_env, entry.concurrency)
        return ConcurrentClient(
            transport,
            Limits.from_entry(entry),
            backend="openai_compat",
            secret=key,
            on_close=server.stop if server else None,
            managed_server=server.info() if server else None,
        )
    except BaseException:
        if server is not None:
            server.stop()
        raise
