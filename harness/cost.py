"""What completions cost, and the spending limit (`--max-cost`) that stops a run before it exceeds it.

Cost of one completion, from its token usage and the entry's price (USD per million tokens):

    (input_tokens - cached_input_tokens) * input + cached_input_tokens * cached_input
    + output_tokens * output

where `cached_input` falls back to `input` when the entry gives no cached price. Output tokens
include reasoning tokens (providers bill them as output). Cached completions (answered from the
harness's request cache) cost nothing.

The limit is enforced before sending: each call reserves its worst case, and a call whose
reservation would take the spent-plus-reserved total past the limit waits until the calls in flight
have settled; if it cannot fit even then, it is not sent, nor is anything after it in this command.
The worst case of a request is

    input_tokens_bound * input + (max_tokens + thinking_budget_tokens) * output

The output bound is exact: providers stop at `max_tokens`. The input is bounded without a tokenizer:
until the first response arrives, by the prompt's UTF-8 bytes (a byte-level BPE token covers at least
one byte) plus 8 tokens per message for the chat template; after that, by 1.25 times the densest
tokens-per-byte ratio this command has seen (prompts of one task are alike; the margin covers the
rest). When a response arrives, its reservation is replaced by its actual cost (by the reservation
itself when the response carried no token counts). So the first wave of calls can never overspend,
and later ones only if a prompt is 25% denser than any seen before; the command stops with at most
about one worst-case request per concurrent call unspent. Failed attempts that a provider bills
anyway (a timed-out call it finished) are not seen by the harness and not counted.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from harness.config import Price
from harness.types import Completion, GenerationRequest, Usage

MILLION = 1_000_000
TEMPLATE_TOKENS_PER_MESSAGE = 8
DENSITY_MARGIN = 1.25


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


def prompt_bytes(request: GenerationRequest) -> int:
    return sum(len(message.content.encode("utf-8")) for message in request.messages)


class Budget:
    """A spending limit shared by every run of one command. Thread-safe: calls are admitted on the
    backend's event loop thread and settled on the runner's thread."""

    def __init__(self, limit_usd: float) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        self.refused = False
        self._densest: float | None = None  # input tokens per prompt byte, the largest seen
        self._lock = threading.Lock()

    def input_bound(self, request: GenerationRequest) -> float:
        size = prompt_bytes(request)
        if self._densest is None:
            return size + TEMPLATE_TOKENS_PER_MESSAGE * len(request.messages)
        return size * self._densest * DENSITY_MARGIN

    def worst_case(self, request: GenerationRequest, price: Price) -> float:
        config = request.config
        output_tokens = config.max_tokens + (config.thinking_budget_tokens or 0)
        return (
            self.input_bound(request) * price.input_per_mtok + output_tokens * price.output_per_mtok
        ) / MILLION

    def reserve(self, amount_usd: float) -> bool | None:
        """True: reserved, send it. False: it cannot fit, stop sending. None: it fits once calls in
        flight have settled their (usually smaller) actual cost; ask again then."""
        with self._lock:
            if self.refused:
                return False
            if self.spent_usd + self.reserved_usd + amount_usd <= self.limit_usd:
                self.reserved_usd += amount_usd
                return True
            if self.reserved_usd > 0 and self.spent_usd + amount_usd <= self.limit_usd:
                return None
            self.refused = True
            return False

    def settle(self, reserved_usd: float, cost_usd: float) -> None:
        with self._lock:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved_usd)
            self.spent_usd += cost_usd

    def observe(self, request: GenerationRequest, usage: Usage) -> None:
        """Learn how densely prompts tokenize from a response's token counts."""
        size = prompt_bytes(request)
        if size and usage.input_tokens:
            with self._lock:
                self._densest = max(self._densest or 0.0, usage.input_tokens / size)

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

    def admit(self, indices: Sequence[int]) -> bool | None:
        amounts = {index: self.budget.worst_case(self._requests[index], self._price) for index in indices}
        verdict = self.budget.reserve(sum(amounts.values()))
        if verdict:
            with self._lock:
                self._reservations.update(amounts)
        return verdict

    def settle(self, index: int, completion: Completion) -> None:
        with self._lock:
            reserved = self._reservations.pop(index, 0.0)
        cost = completion_cost(completion, self._price)
        self.budget.settle(reserved, reserved if cost is None else cost)
        if not completion.usage_missing:
            self.budget.observe(self._requests[index], completion.usage)
