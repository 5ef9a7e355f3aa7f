"""How a run reports progress; the CLI shows a bar, tests and library callers show nothing."""

from __future__ import annotations

from typing import Protocol

from harness.types import SampleRecord


class ProgressReporter(Protocol):
    def start(self, description: str, total: int, completed: int) -> None: ...

    def advance(self, record: SampleRecord) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    def start(self, description: str, total: int, completed: int) -> None:
        pass

    def advance(self, record: SampleRecord) -> None:
        pass

    def finish(self) -> None:
        pass
