"""Concurrent HTTP backends: an asyncio event loop in a background thread behind the synchronous
`ModelClient` protocol.

The runner iterates `generate()` on its own thread and appends every record as soon as it arrives;
the requests themselves run on one event loop with a fixed pool of `concurrency` workers. Each call
passes the request- and token-per-minute limiters, runs under a total deadline, and is retried with
exponential backoff and jitter (tenacity) when the failure is transient: HTTP 408/409/429/5xx, a
timeout, a dropped connection or an unreadable body. A `Retry-After` the server sends takes precedence
over the backoff. Permanent failures (a bad request, a prompt longer than the context, a content
filter) become a completion with `error` set and are not retried; authentication failures and unknown
models stop the run, since every other request would fail the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import queue
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from harness.backends.base import Admit
from harness.config import ModelEntry
from harness.errors import BackendError
from harness.types import BackendInfo, Completion, GenerationRequest, ManagedServerInfo

# A server may ask for a long pause; beyond this the run is better off recording the error.
MAX_RETRY_AFTER_S = 600.0
# How often a call held back by the spending limit asks again while other calls settle.
ADMIT_POLL_S = 0.05
# Characters per token assumed when estimating a prompt's tokens for the tokens-per-minute limiter.
CHARS_PER_TOKEN = 4.0


class RetryableError(Exception):
    """A transient failure: trying again later can succeed."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(Exception):
    """This request will fail however often it is sent; it is recorded on its sample."""


class AsyncTransport(Protocol):
    """One provider's wire format. `complete` sends one call for `requests` (several only when they
    share a prompt and the provider can return several choices) and returns one completion each."""

    max_choices: int

    async def open(self) -> None: ...

    async def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...

    async def aclose(self) -> None: ...

    def info(self) -> BackendInfo: ...


@dataclass(frozen=True)
class Limits:
    concurrency: int = 1
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    timeout_s: float = 600.0
    max_retries: int = 6
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> Limits:
        return cls(
            concurrency=entry.concurrency,
            requests_per_minute=entry.requests_per_minute,
            tokens_per_minute=entry.tokens_per_minute,
            timeout_s=entry.request_timeout_s,
            max_retries=entry.max_retries,
            backoff_s=entry.retry_backoff_s,
            backoff_max_s=entry.retry_backoff_max_s,
        )


class RateLimiter:
    """A token bucket refilled at `per_minute / 60` per second, holding at most one second's worth
    (or one request's worth, when a single request is larger). Callers may overdraw it; the debt is
    paid by waiting, so a large request delays the ones after it instead of starving."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = per_minute / 60.0
        self.capacity = max(1.0, self.rate_per_s)
        self._clock = clock
        self._level = self.capacity
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._updated) * self.rate_per_s)
        self._updated = now

    def delay_for(self, amount: float) -> float:
        """Seconds until `amount` may be taken (0 when it may be taken now)."""
        self._refill()
        needed = min(amount, self.capacity)
        return max(0.0, (needed - self._level) / self.rate_per_s)

    async def acquire(self, amount: float = 1.0) -> None:
        async with self._lock:
            delay = self.delay_for(amount)
            while delay > 0:
                await asyncio.sleep(delay)
                delay = self.delay_for(amount)
            self._level -= amount


def estimated_tokens(requests: Sequence[GenerationRequest]) -> float:
    """What a provider counts against a tokens-per-minute limit: the prompt plus the output allowance."""
    first = requests[0]
    prompt_chars = sum(len(m.content) for m in first.messages)
    output = first.config.max_tokens + (first.config.thinking_budget_tokens or 0)
    return prompt_chars / CHARS_PER_TOKEN + output * len(requests)


def redact(text: str | None, secret: str | None) -> str | None:
    if text is None or not secret or secret not in text:
        return text
    return text.replace(secret, "[redacted]")


def error_completion(message: str, *, retryable: bool, latency_s: float = 0.0) -> Completion:
    return Completion(text="", error=message, error_retryable=retryable, latency_s=latency_s)


_DONE = object()


class ConcurrentClient:
    """A `ModelClient` that runs a transport's calls concurrently on a background event loop."""

    def __init__(
        self,
        transport: AsyncTransport,
        limits: Limits,
        *,
        backend: str,
        secret: str | None = None,
        on_close: Callable[[], None] | None = None,
        managed_server: ManagedServerInfo | None = None,
    ) -> None:
        self._transport = transport
        self._limits = limits
        self._backend = backend
        self._secret = secret
        self._on_close = on_close
        self._managed_server = managed_server
        self._request_limiter: RateLimiter | None = None
        self._token_limiter: RateLimiter | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"{backend}-loop", daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self._call(self._open())
        except BaseException:
            self.close()
            raise

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _open(self) -> None:
        # Limiters hold asyncio locks, which belong to the loop they are created on.
        if self._limits.requests_per_minute:
            self._request_limiter = RateLimiter(self._limits.requests_per_minute)
        if self._limits.tokens_per_minute:
            self._token_limiter = RateLimiter(self._limits.tokens_per_minute)
        await self._transport.open()

    def info(self) -> BackendInfo:
        limits = self._limits
        return self._transport.info().model_copy(
            update={
                "backend": self._backend,
                "concurrency": limits.concurrency,
                "requests_per_minute": limits.requests_per_minute,
                "tokens_per_minute": limits.tokens_per_minute,
                "request_timeout_s": limits.timeout_s,
                "max_retries": limits.max_retries,
                "managed_server": self._managed_server,
            }
        )

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        jobs = self._jobs(requests)
        future = asyncio.run_coroutine_threadsafe(self._run(requests, jobs, admit, results), self._loop)
        finished = False
        try:
            while True:
                try:
                    # A timeout keeps the wait interruptible by Ctrl-C on every platform.
                    item = results.get(timeout=1.0)
                except queue.Empty:
                    continue
                if item is _DONE:
                    finished = True
                    future.result()
                    return
                yield item
        finally:
            if not finished:
                future.cancel()
                # Wait for in-flight calls to be cancelled so nothing runs on after the run stops.
                done = threading.Event()
                future.add_done_callback(lambda _: done.set())
                done.wait(timeout=10.0)

    def _jobs(self, requests: Sequence[GenerationRequest]) -> list[list[int]]:
        """Group requests that differ only in their seed into calls of up to `max_choices` choices."""
        size = max(1, self._transport.max_choices)
        if size == 1:
            return [[index] for index in range(len(requests))]
        groups: dict[Hashable, list[int]] = {}
        for index, request in enumerate(requests):
            key = (
                tuple((m.role, m.content) for m in request.messages),
                request.raw_text,
                request.config.model_copy(update={"seed": None}).model_dump_json(),
            )
            groups.setdefault(key, []).append(index)
        return [
            group[start : start + size] for group in groups.values() for start in range(0, len(group), size)
        ]

    async def _run(
        self,
        requests: Sequence[GenerationRequest],
        jobs: list[list[int]],
        admit: Admit | None,
        results: queue.SimpleQueue[Any],
    ) -> None:
        pending = iter(jobs)
        refused = False

        async def worker() -> None:
            nonlocal refused
            for job in pending:
                if refused:
                    return
                if admit is not None:
                    verdict = admit(job)
                    while verdict is None and not refused:
                        await asyncio.sleep(ADMIT_POLL_S)
                        verdict = admit(job)
                    if not verdict:
                        refused = True
                        return
                completions = await self._complete([requests[index] for index in job])
                for index, completion in zip(job, completions, strict=True):
                    results.put((index, self._redacted(completion)))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self._limits.concurrency, len(jobs))):
                    group.create_task(worker())
        except BaseExceptionGroup as grouped:
            # Report the first real cause (a fatal backend error) rather than the group.
            first = grouped.exceptions[0]
            if isinstance(first, BackendError):
                message = redact(str(first), self._secret) or ""
                raise BackendError(message, status_code=first.status_code) from None
            raise first from None
        finally:
            results.put(_DONE)

    async def _complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        limits = self._limits
        attempts = limits.max_retries + 1
        started = time.perf_counter()
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=self._wait,
                retry=retry_if_exception_type(RetryableError),
                reraise=True,
            ):
                with attempt:
                    return await self._attempt(requests)
        except RetryableError as exc:
            message = f"gave up after {attempts} attempt(s): {exc}"
            latency = time.perf_counter() - started
            return [error_completion(message, retryable=True, latency_s=latency) for _ in requests]
        except PermanentError as exc:
            latency = time.perf_counter() - started
            return [error_completion(str(exc), retryable=False, latency_s=latency) for _ in requests]
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if self._request_limiter is not None:
            await self._request_limiter.acquire()
        if self._token_limiter is not None:
            await self._token_limiter.acquire(estimated_tokens(requests))
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._limits.timeout_s):
                completions = await self._transport.complete(requests)
        except TimeoutError:
            raise RetryableError(f"no complete response within {self._limits.timeout_s:g}s") from None
        latency = time.perf_counter() - started
        for completion in completions:
            completion.latency_s = latency
        return completions

    def _wait(self, state: RetryCallState) -> float:
        limits = self._limits
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after_s is not None:
            # Honour the server's pause, with a little jitter so that workers do not return in step.
            return min(MAX_RETRY_AFTER_S, error.retry_after_s) + random.uniform(0, limits.backoff_s / 4)
        backoff = wait_exponential_jitter(
            multiplier=limits.backoff_s, max=limits.backoff_max_s, jitter=limits.backoff_s
        )
        return float(backoff(state))

    def _redacted(self, completion: Completion) -> Completion:
        secret = self._secret
        if not secret:
            return completion
        for name in ("text", "reasoning", "error"):
            value = getattr(completion, name)
            cleaned = redact(value, secret)
            if cleaned is not value:
                setattr(completion, name, cleaned)
        return completion

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # Closing a transport must not hide the run's own outcome.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._transport.aclose(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
            if self._on_close is not None:
                self._on_close()


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The pause a server asks for: `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as an
    HTTP date (RFC 9110, section 10.2.3)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


CONTEXT_LENGTH_HINTS = ("context_length_exceeded", "context length", "maximum context", "prompt is too long")
CONTENT_FILTER_HINTS = ("content_filter", "content_policy", "content management policy", "data_inspection")


def classify_status(
    status: int,
    message: str,
    code: str | None,
    headers: Mapping[str, str],
    *,
    endpoint: str,
    key_env: str | None,
) -> Exception:
    """What an HTTP error means for the run: retry it, record it on the sample, or stop the run."""
    detail = f"HTTP {status}" + (f" ({code})" if code else "") + f": {message[:500]}"
    lowered = f"{code or ''} {message}".lower()
    if status in (401, 403):
        where = f"${key_env}" if key_env else "the entry's api_key_env (none is set)"
        return BackendError(
            f"{endpoint} refused the credentials ({detail}). Check that {where} holds a valid key "
            "for this provider.",
            status_code=status,
        )
    if status == 404:
        return BackendError(
            f"{endpoint} has no such model or endpoint ({detail}). Check the entry's base_url and model.",
            status_code=status,
        )
    if status == 429 and ("insufficient_quota" in lowered or "billing" in lowered):
        return BackendError(f"{endpoint}: the account's quota is exhausted ({detail}).", status_code=status)
    if status in (408, 409, 425, 429) or status >= 500:
        return RetryableError(detail, retry_after_s=retry_after_s(headers))
    if any(hint in lowered for hint in CONTEXT_LENGTH_HINTS):
        return PermanentError(f"context length exceeded: {detail}")
    if any(hint in lowered for hint in CONTENT_FILTER_HINTS):
        return PermanentError(f"content filter: {detail}")
    return PermanentError(f"bad request: {detail}")


def token_count(value: Any) -> int | None:
    """A token count from a response, or None when it is missing or not a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def split_count(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer `total` in proportion to `weights` (largest remainder), summing to `total`."""
    if not weights:
        return []
    weight_sum = sum(weights)
    shares = (
        [total * w / weight_sum for w in weights] if weight_sum > 0 else [total / len(weights)] * len(weights)
    )
    parts = [int(share) for share in shares]
    order = sorted(range(len(weights)), key=lambda i: shares[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def error_fields(body: bytes | str) -> tuple[str, str | None]:
    """(message, code) from an OpenAI-style error body, or the raw text when it is not one."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip() or "(empty body)", None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return str(error.get("message") or text), str(code) if code is not None else None
    if isinstance(error, str):
        return error, None
    return text, None
