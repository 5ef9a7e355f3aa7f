"""Concurrent scoring: the contract between the runner and tasks whose scorer is slow.

A task that executes answers (sandboxed programs) or asks a judge returns a `Grader` from
`Task.scorer()`. The runner saves each completion first (unscored), submits it, and appends the scored
record when the grade comes back, so a run interrupted while grading keeps every completion and grades
the rest when resumed; `harness score RUN` submits every stored completion again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from harness.types import Completion, GradingInfo, Prompt, Score

RecordKey = tuple[str, int]
Submission = tuple[RecordKey, Prompt, Completion]


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

    def info(self) -> GradingInfo | None:
        """How grading is done (isolation in force, workers, limits, failures so far), for run.json."""
        ...

    def close(self) -> None:
        """Release the workers; stops running jobs if grades are still outstanding."""
        ...


class BatchGrader:
    """Grades everything submitted so far in one batch when waited on.

    For scorers that call a judge: `grade_batch` sends the batch's judge requests together, so the judge
    client runs them concurrently, and yields each grade as its calls finish. Answers are graded after
    generation (as upstream judging pipelines do), and a resumed run submits the ungraded ones again.
    """

    def __init__(
        self,
        grade_batch: Callable[[Sequence[Submission]], Iterator[tuple[RecordKey, Score]]],
        info: GradingInfo | None = None,
    ) -> None:
        self._grade_batch = grade_batch
        self._info = info
        self._pending: list[Submission] = []
        self._failures: list[str] = []

    def submit(self, key: RecordKey, prompt: Prompt, completion: Completion) -> None:
        self._pending.append((key, prompt, completion))

    def ready(self) -> list[tuple[RecordKey, Score]]:
        return []

    def wait(self) -> Iterator[tuple[RecordKey, Score]]:
        while self._pending:
            batch, self._pending = self._pending, []
            graded: set[RecordKey] = set()
            for key, score in self._grade_batch(batch):
                graded.add(key)
                yield key, score
            self._failures += [
                f"{key[0]} (epoch {key[1]}): no grade" for key, _, _ in batch if key not in graded
            ]

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    @property
    def failures(self) -> list[str]:
        return self._failures

    def info(self) -> GradingInfo | None:
        return self._info

    def close(self) -> None:
        self._pending = []
