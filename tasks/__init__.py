"""The benchmark registry: one module per benchmark, registered here explicitly."""

from __future__ import annotations

from collections.abc import Callable

from harness.runner import RunOutcome
from harness.task import Task
from tasks.gpqa import GPQADiamond
from tasks.livecodebench import LiveCodeBench
from tasks.livecodebench_leaderboard import import_leaderboard
from tasks.mmlu_pro import MMLUPro

TASKS: dict[str, Callable[[], Task]] = {
    "mmlu_pro": lambda: MMLUPro(shots=5),
    "mmlu_pro_0shot": lambda: MMLUPro(shots=0),
    "gpqa_diamond": GPQADiamond,
    "livecodebench": LiveCodeBench,
}

# Results reported by others (nothing to score): `harness import NAME FILE` makes one run per model.
# Each is called as importer(path, output_dir=..., entry=..., model=..., start_date=..., end_date=...).
REPORTED_IMPORTERS: dict[str, Callable[..., list[RunOutcome]]] = {
    "livecodebench_leaderboard": import_leaderboard,
}
