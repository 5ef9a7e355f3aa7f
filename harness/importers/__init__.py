"""Runs made from results produced elsewhere.

`outputs.import_run` scores published completions with our scorer (`harness import TASK FILE`);
`lm_eval.import_lm_eval` reads lm-eval output folders, scored by lm-eval (`harness import lm_eval DIR`);
`REPORTED_IMPORTERS` turn results reported by others into runs without scoring anything
(`harness import SOURCE FILE`, one run per model). Both assemble their runs through
`harness.runner.plan.make_plan` and `harness.runner.results.build_result`, as the runner does.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.importers.arena_hard import import_judgments, import_readme_tables
from harness.importers.arena_hard import import_leaderboard as import_arena_hard_leaderboard
from harness.importers.livecodebench_leaderboard import import_leaderboard
from harness.importers.lm_eval import import_lm_eval
from harness.importers.outputs import import_run
from harness.runner import RunOutcome

__all__ = ["REPORTED_IMPORTERS", "import_judgments", "import_lm_eval", "import_run"]

# Each is called as importer(path, runs_root=..., entry=..., model=..., options={...}); it validates
# its own options (LiveCodeBench's leaderboard: a date window).
REPORTED_IMPORTERS: dict[str, Callable[..., list[RunOutcome]]] = {
    "livecodebench_leaderboard": import_leaderboard,
    "arena_hard_leaderboard": import_arena_hard_leaderboard,
    "arena_hard_v2_readme": import_readme_tables,
}
