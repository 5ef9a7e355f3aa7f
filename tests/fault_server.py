"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions and the Anthropic Messages
APIs, and injects faults on request: rate limits with Retry-After, server errors, hangs, malformed
JSON, reset connections, slow bodies, wrong usage fields, permanent errors and echoed secrets.

Faults are scripted per prompt: `script(text, [fault, ...])` makes the n-th request whose last user
message contains `text` get the n-th fault; once the list is used up, that prompt is answered
normally. Every request is recorded (path, headers, JSON body, arrival time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ANSWER = "Let me think. The answer is (A)."


@dataclass(frozen=True)
class Fault:
    """What to do with one request. `kind`:

    ok, rate_limit (429), overloaded (529), server_error (500), hang, malformed (truncated JSON),
    reset (connection closed without a response), slow (the body trickles out over `seconds`),
    bad_usage (unreadable token counts), context_length (400), bad_request (400), content_filter
    (200, finish_reason content_filter / stop_reason refusal), unauthorized (401), echo_key (400 whose
    message repeats the Authorization header), echo_key_answer (200 whose answer contains it).
    """

    kind: str
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def last_user(self) -> str:
        users = [m["content"] for m in self.body.get("messages", []) if m.get("role") == "user"]
        return str(users[-1]) if users else ""


@dataclass
class Usage:
    prompt_tokens: int = 1000
    completion_tokens: int = 50
    cached_tokens: int = 0
    # When set, the prompt is billed at this many tokens per UTF-8 byte of its messages instead.
    prompt_tokens_per_byte: float | None = None

    def prompt_for(self, body: dict[str, Any]) -> int:
        if self.prompt_tokens_per_byte is None:
            return self.prompt_tokens
        size = sum(len(str(m.get("content", "")).encode()) for m in body.get("messages", []))
        size += len(str(body.get("system", "")).encode())
        return int(size * self.prompt_tokens_per_byte)


@dataclass
class FaultServer:
    usage: Usage = field(default_factory=Usage)
    answer: Callable[[dict[str, Any]], str] = lambda body: ANSWER
    reasoning: str | None = None
    hang_s: float = 30.0
    ignore_n: bool = False
    requests: list[Recorded] = field(default_factory=list)
    scripts: list[tuple[str, list[Fault]]] = field(default_factory=list)
    port: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def script(self, text: str, faults: list[Fault]) -> None:
        self.scripts.append((text, list(faults)))

    def clear(self) -> None:
        self.scripts.clear()
        self.requests.clear()

    def requests_for(self, text: str) -> list[Recorded]:
        return [r for r in self.requests if text in r.last_user]

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FaultServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._stopping = asyncio.Event()
            app = web.Application(middlewares=[self._count])
            app.router.add_post("/v1/chat/completions", self._openai)
            app.router.add_post("/v1/messages", self._anthropic)
            app.router.add_get("/v1/models", self._models)
            self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(self._runner.addresses[0][1])
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fault-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault server did not start")
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            self._stopping.set()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # -- handlers ----------------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fault-model", "object": "model"}]})

    def _next_fault(self, record: Recorded) -> Fault:
        for text, faults in self.scripts:
            if text in record.last_user and faults:
                return faults.pop(0)
        return Fault("ok")

    async def _receive(self, request: web.Request) -> tuple[Recorded, Fault]:
        body = await request.json()
        record = Recorded(request.path, dict(request.headers), body, time.monotonic())
        self.requests.append(record)
        return record, self._next_fault(record)

    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self.in_flight -= 1

    async def _common_fault(
        self, request: web.Request, fault: Fault, record: Recorded, anthropic: bool
    ) -> web.StreamResponse | None:
        def error(
            status: int, message: str, code: str, headers: dict[str, str] | None = None
        ) -> web.Response:
            if anthropic:
                payload: dict[str, Any] = {"type": "error", "error": {"type": code, "message": message}}
            else:
                payload = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
            return web.json_response(payload, status=status, headers=headers)

        kind = fault.kind
        if kind == "rate_limit":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return error(429, "Rate limit reached for requests", "rate_limit_exceeded", headers)
        if kind == "overloaded":
            return error(529, "Overloaded", "overloaded_error")
        if kind == "server_error":
            return error(500, "The server had an error while processing your request.", "server_error")
        if kind == "hang":
            # Hang until the client gives up (or the server stops).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.hang_s)
            return error(504, "hung", "timeout")
        if kind == "malformed":
            return web.Response(
                status=200, text='{"id": "x", "choices": [{"message": ', content_type="application/json"
            )
        if kind == "reset":
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(0.05)
            return web.Response(status=200)
        if kind == "context_length":
            message = (
                "prompt is too long: 250000 tokens > 200000 maximum"
                if anthropic
                else "This model's maximum context length is 8192 tokens. However, your messages resulted "
                "in 9000 tokens."
            )
            return error(400, message, "invalid_request_error" if anthropic else "context_length_exceeded")
        if kind == "bad_request":
            return error(400, "Invalid value for 'temperature'.", "invalid_request_error")
        if kind == "unauthorized":
            return error(401, "Incorrect API key provided.", "authentication_error")
        if kind == "echo_key":
            auth = request.headers.get("Authorization") or request.headers.get("x-api-key", "")
            return error(400, f"Invalid request made with credentials {auth}", "invalid_request_error")
        return None

    async def _send(self, request: web.Request, payload: dict[str, Any], fault: Fault) -> web.StreamResponse:
        data = json.dumps(payload).encode()
        if fault.kind != "slow":
            return web.Response(body=data, content_type="application/json")
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        pieces = 10
        step = max(1, len(data) // pieces + 1)
        for start in range(0, len(data), step):
            await response.write(data[start : start + step])
            await asyncio.sleep(fault.seconds / pieces)
        await response.write_eof()
        return response

    def _answer_text(self, record: Recorded, fault: Fault) -> str:
        text = self.answer(record.body)
        if fault.kind == "echo_key_answer":
            auth = record.headers.get("Authorization") or record.headers.get("x-api-key", "")
            text += f" (you sent {auth})"
        return text

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        record, fault = await self._receive(request)
        failed = await self._common_fault(request, fault, record, anthropic=False)
        if failed is not None:
            return failed
        body = record.body
        n = 1 if self.ignore_n else int(body.get("n", 1))
        text = self._answer_text(record, fault)
        finish = "content_filter" if fault.kind == "content_filter" else "stop"
        message: dict[str, Any] = {"role": "assistant", "content": "" if finish == "content_filter" else text}
        if self.reasoning is not None:
            message["reasoning_content"] = self.reasoning
        prompt_tokens = self.usage.prompt_for(body)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": self.usage.completion_tokens * n,
            "total_tokens": prompt_tokens + self.usage.completion_tokens * n,
            "prompt_tokens_details": {"cached_tokens": self.usage.cached_tokens},
        }
        if fault.kind == "bad_usage":
            usage = {"prompt_tokens": "many", "completion_tokens": None, "total_tokens": -3}
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": f"{body.get('model')}-2026-01-01",
            "choices": [
                {
                    "index": i,
                    "message": dict(
                        message, content=message["content"] + f" [{i}]" if n > 1 else message["content"]
                    ),
                    "finish_reason": finish,
                }
                for i in range(n)
            ],
            "usage": usage,
        }
        return await self._send(request, payload, fault)

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        record, fault = await self._receive(request)
        failed = await self._common_fault(request, fault, record, anthropic=True)
        if failed is not None:
            return failed
        body = record.body
        content: list[dict[str, Any]] = []
        if body.get("thinking"):
            content.append(
                {"type": "thinking", "thinking": self.reasoning or "Thinking it over.", "signature": "sig"}
            )
        stop_reason = "refusal" if fault.kind == "content_filter" else "end_turn"
        if stop_reason != "refusal":
            content.append({"type": "text", "text": self._answer_text(record, fault)})
        usage: dict[str, Any] = {
            "input_tokens": self.usage.prompt_for(body) - self.usage.cached_tokens,
            "output_tokens": self.usage.completion_tokens,
            "cache_read_input_tokens": self.usage.cached_tokens,
            "cache_creation_input_tokens": 0,
        }
        if fault.kind == "bad_usage":
            usage = {"input_tokens": None, "output_tokens": "lots"}
        payload = {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        return await self._send(request, payload, fault)
