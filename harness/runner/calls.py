"""Calls to a model entry through the request cache and the spending limit, for generation and for
judging alike: cached answers first (free), the rest from the model, each costed as it arrives."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from harness.backends import ModelClient, make_client
from harness.cache import RequestCache, request_key
from harness.config import ModelEntry
from harness.cost import Budget, SpendGuard, completion_cost
from harness.errors import ConfigError
from harness.reasoning import split_reasoning
from harness.types import BackendInfo, Completion, GenerationRequest

ClientFactory = Callable[[ModelEntry], ModelClient]


def finish_completion(completion: Completion) -> Completion:
    """Split `<think>` reasoning off the answer unless the backend already separated it."""
    if completion.error is not None or completion.reasoning is not None:
        return completion
    reasoning, answer = split_reasoning(completion.text)
    if reasoning is None:
        return completion
    return completion.model_copy(update={"text": answer, "reasoning": reasoning})


def check_priced(entry: ModelEntry, budget: Budget | None, role: str = "entry") -> None:
    if budget is not None and entry.price is None:
        raise ConfigError(
            f"--max-cost needs a price for {role} {entry.id!r}: add `price:` (USD per million input and "
            "output tokens) to it in the models file."
        )


@dataclass
class CallStats:
    model_load_s: float = 0.0
    model_s: float = 0.0
    generated: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    backend_info: BackendInfo | None = None


@dataclass
class ModelCalls:
    """Answers requests to one entry. The model is loaded (or its server started) only when the cache
    cannot answer everything; the client is closed by `close()`."""

    entry: ModelEntry
    cache: RequestCache | None = None
    budget: Budget | None = None
    client_factory: ClientFactory = make_client
    stats: CallStats = field(default_factory=CallStats)
    _client: ModelClient | None = None

    def answer(
        self, requests: Sequence[GenerationRequest], repeats: Sequence[int]
    ) -> Iterator[tuple[int, Completion]]:
        """Yield `(index, completion)` for every request: cache hits first, then model answers as each
        arrives. `repeats[i]` is request i's repeat index (part of its cache key). Requests the spending
        limit refuses are not yielded."""
        keys = [request_key(self.entry, r, n) for r, n in zip(requests, repeats, strict=True)]
        hits = self.cache.get_many(keys) if self.cache is not None else {}
        for index, key in enumerate(keys):
            if key in hits:
                self.stats.cached += 1
                yield index, hits[key]
        misses = [index for index, key in enumerate(keys) if key not in hits]
        if not misses:
            return
        client = self._open()
        price = self.entry.price
        sent = [requests[i] for i in misses]
        guard = SpendGuard(self.budget, price, sent) if self.budget is not None and price else None
        waiting_since = time.perf_counter()
        for position, raw in client.generate(sent, guard.admit if guard is not None else None):
            self.stats.model_s += time.perf_counter() - waiting_since
            completion = finish_completion(raw)
            completion.cost_usd = completion_cost(completion, price)
            if guard is not None:
                guard.settle(position, completion)
            self.stats.cost_usd += completion.cost_usd or 0.0
            self.stats.generated += 1
            index = misses[position]
            if self.cache is not None:
                self.cache.put(keys[index], completion)
            yield index, completion
            waiting_since = time.perf_counter()

    def _open(self) -> ModelClient:
        if self._client is None:
            started = time.perf_counter()
            self._client = self.client_factory(self.entry)
            self.stats.model_load_s += time.perf_counter() - started
            self.stats.backend_info = self._client.info()
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


class JudgeClient:
    """The `Judge` a scoring context gives a task: an entry answering through the run's cache and
    spending limit. Completions carry their cost (0 when answered from the cache)."""

    def __init__(self, calls: ModelCalls) -> None:
        self._calls = calls

    @property
    def entry(self) -> str:
        return self._calls.entry.id

    @property
    def model(self) -> str:
        return self._calls.entry.model

    @property
    def stats(self) -> CallStats:
        return self._calls.stats

    def complete(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        return self._calls.answer(requests, [0] * len(requests))

    def close(self) -> None:
        self._calls.close()
