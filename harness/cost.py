"""What completions cost, and the spending limit (`--max-cost`) that stops a run before it exceeds it.

Cost of one completion, from its token usage and the entry's price (USD per million tokens):

    (input_tokens - cached_input_tokens) * input + cached_input_tokens * cached_input
    + output_tokens * output

where `cached_input` falls back to `input` when the entry gives no cached price. Output tokens
include reasoning tokens (providers bill them as output). Cached completions (answered from the
harness's request cache) cost nothing.

The limit is enforced before sending: each call reserves its worst case, and a call whose
reservation would take the spent-plus-reserved total past the limit is not sent. The worst case of
a request is

    estimated_input_tokens * input + (max_tokens + thinking_budget_tokens) * output

with the input estimated as prompt characters times the largest tokens-per-character ratio seen so
far in this command (0.5 before the first response: English text runs at about 0.25). When the
response arrives its reservation is replaced by its actual cost (by the reservation itself when the
response carried no token counts). So the command never spends more than the limit, and it stops
with at most one worst-case request's worth per concurrent call unspent.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from harness.backends import GenerationRequest
from harness.config import Price
from harness.types import Completion, Usage

MILLION = 1_000_000
INITIAL_TOKENS_PER_CHAR = 0.5


def usage_cost(usage: Usage, price: Price) -> float:
    cached_price = (
        price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
    )
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    return (
        (usage.input_tokens - cached) * price.input_per_mtok
        + cached * cached_price
        + usage.output_tokens * price.output_per_mtok
    ) / MILLION


def completion_cost(completion: Completion, price: Price | None) -> float | None:
    """USD for one completion; None when the entry has no price or the response had no token counts."""
    if completion.cached:
        return 0.0
    if price is None or completion.usage_missing:
        return None
    return usage_cost(completion.usage, price)


def prompt_chars(request: GenerationRequest) -> int:
    return sum(len(message.content) for message in request.messages)


class Budget:
    """A spending limit shared by every run of one command. Thread-safe: calls are admitted on the
    backend's event loop thread and settled on the runner's thread."""

    def __init__(self, limit_usd: float) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        self.refused = False
        self._tokens_per_char = INITIAL_TOKENS_PER_CHAR
        self._lock = threading.Lock()

    def worst_case(self, request: GenerationRequest, price: Price) -> float:
        config = request.config
        output_tokens = config.max_tokens + (config.thinking_budget_tokens or 0)
        input_tokens = prompt_chars(request) * self._tokens_per_char
        return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / MILLION

    def reserve(self, amount_usd: float) -> bool:
        with self._lock:
            if self.refused or self.spent_usd + self.reserved_usd + amount_usd > self.limit_usd:
                self.refused = True
                return False
            self.reserved_usd += amount_usd
            return True

    def settle(self, reserved_usd: float, cost_usd: float) -> None:
        with self._lock:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved_usd)
            self.spent_usd += cost_usd

    def observe(self, request: GenerationRequest, usage: Usage) -> None:
        """Learn the prompt's tokens-per-character ratio from a response's token counts."""
        chars = prompt_chars(request)
        if chars and usage.input_tokens:
            with self._lock:
                self._tokens_per_char = max(self._tokens_per_char, usage.input_tokens / chars)

    @property
    def left_usd(self) -> float:
        return max(0.0, self.limit_usd - self.spent_usd)


class SpendGuard:
    """One run's view of a `Budget`: reserves per request index and settles as completions arrive."""

    def __init__(self, budget: Budget, price: Price, requests: Sequence[GenerationRequest]) -> None:
        self.budget = budget
        self._price = price
        self._requests = requests
        self._reservations: dict[int, float] = {}
        self._lock = threading.Lock()

    def admit(self, indices: Sequence[int]) -> bool:
        amounts = {index: self.budget.worst_case(self._requests[index], self._price) for index in indices}
        if not self.budget.reserve(sum(amounts.values())):
            return False
        with self._lock:
            self._reservations.update(amounts)
        return True

    def settle(self, index: int, completion: Completion) -> None:
        with self._lock:
            reserved = self._reservations.pop(index, 0.0)
        cost = completion_cost(completion, self._price)
        self.budget.settle(reserved, reserved if cost is None else cost)
        if not completion.usage_missing:
            self.budget.observe(self._requests[index], completion.usage)
