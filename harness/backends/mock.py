"""A scripted model for tests and dry runs: deterministic answers, no weights, no network.

```yaml
mock-judge:
  backend: mock
  model: mock
  backend_options:
    rules:                                   # the first rule whose pattern is found in the last
      - {match: "\\[The Start of Assistant A", reply: "A is better. [[A>B]]"}   # user message answers
      - {match: "refuse me", error: "content filter"}                           # a recorded failure
    default: "The answer is (A)."            # when no rule matches (or `echo: true`: the prompt back)
```

`{prompt}` in a reply is replaced by the last user message. Token usage counts whitespace-separated
words of the messages and of the reply, so costs and budgets can be exercised with a `price`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.backends.base import Admit
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.types import BackendInfo, Completion, GenerationRequest, Usage


class MockRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str
    reply: str | None = None
    error: str | None = None

    @field_validator("match")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _one_outcome(self) -> MockRule:
        if (self.reply is None) == (self.error is None):
            raise ValueError("a rule gives exactly one of `reply` or `error`")
        return self


class MockOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[MockRule] = Field(default_factory=list)
    default: str = ""
    echo: bool = False


def _words(text: str) -> int:
    return len(text.split())


class MockClient:
    def __init__(self, options: MockOptions, model: str) -> None:
        self._options = options
        self._model = model
        self._patterns = [(re.compile(rule.match), rule) for rule in options.rules]

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> MockClient:
        try:
            options = MockOptions.model_validate(entry.backend_options)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(
                f"entry {entry.id!r}: invalid backend_options for mock ({problems}). Allowed keys: "
                f"{', '.join(MockOptions.model_fields)}."
            ) from None
        return cls(options, entry.model)

    def info(self) -> BackendInfo:
        return BackendInfo(
            backend="mock", settings={"rules": len(self._options.rules), "echo": self._options.echo}
        )

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        for index, request in enumerate(requests):
            if admit is not None and not admit([index]):
                return
            yield index, self.answer(request)

    def answer(self, request: GenerationRequest) -> Completion:
        started = time.perf_counter()
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        input_tokens = sum(_words(m.content) for m in request.messages)
        for pattern, rule in self._patterns:
            if pattern.search(prompt):
                if rule.error is not None:
                    return Completion(text="", error=f"mock: {rule.error}", model=self._model)
                assert rule.reply is not None
                return self._reply(rule.reply.replace("{prompt}", prompt), input_tokens, started)
        text = prompt if self._options.echo else self._options.default.replace("{prompt}", prompt)
        return self._reply(text, input_tokens, started)

    def _reply(self, text: str, input_tokens: int, started: float) -> Completion:
        return Completion(
            text=text,
            finish_reason="stop",
            usage=Usage(input_tokens=input_tokens, output_tokens=_words(text)),
            latency_s=time.perf_counter() - started,
            model=self._model,
        )

    def close(self) -> None:
        """Nothing to release."""
