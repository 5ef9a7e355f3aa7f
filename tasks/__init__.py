"""The benchmark registry: one module per benchmark, registered here explicitly."""

from __future__ import annotations

from collections.abc import Callable

from harness.task import Task
from tasks.gpqa import GPQADiamond
from tasks.mmlu_pro import MMLUPro

TASKS: dict[str, Callable[[], Task]] = {
    "mmlu_pro": lambda: MMLUPro(shots=5),
    "mmlu_pro_0shot": lambda: MMLUPro(shots=0),
    "gpqa_diamond": GPQADiamond,
}
