"""Concurrent grading: the contract between the runner and tasks whose scorer is slow.

A task that executes answers (sandboxed programs) returns a `Grader` from `Task.grader()`. The runner
saves each completion first (unscored), submits it, and appends the scored record when the grade comes
back, so a run interrupted while grading keeps every completion and grades the rest when resumed;
`harness score RUN` submits every stored completion again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from harness.types import Completion, GradingInfo, Prompt, Score

RecordKey = tuple[str, int]


class Grader(Protocol):
    def submit(self, key: RecordKey, prompt: Prompt, completion: Completion) -> None:
        """Queue one answer; never blocks for long."""
        ...

    def ready(self) -> list[tuple[RecordKey, Score]]:
        """Grades finished since the last call, without waiting."""
        ...

    def wait(self) -> Iterator[tuple[RecordKey, Score]]:
        """Every remaining grade, as each finishes."""
        ...

    @property
    def outstanding(self) -> int:
        """Submitted answers whose grade has not been returned yet."""
        ...

    @property
    def failures(self) -> list[str]:
        """Answers that could not be graded (they stay unscored; grading them again may succeed)."""
        ...

    def info(self) -> GradingInfo:
        """How grading is done (isolation in force, workers, limits, failures so far), for run.json."""
        ...

    def close(self) -> None:
        """Release the workers; stops running jobs if grades are still outstanding."""
        ...
