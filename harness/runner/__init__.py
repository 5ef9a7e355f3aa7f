"""Make runs: plan (task x entry -> spec and prompts) -> generate what is missing -> score -> store.

`plan` builds a run's identity and prompts, `generate` fills it, `results` assembles `run.json` (for
every run, imported ones too), `rescore` scores stored completions again.
"""

from __future__ import annotations

from harness.runner.generate import ClientPool, RunOutcome, execute
from harness.runner.plan import DEFAULT_MAX_ERROR_RATE, Plan, RunOptions, plan_run
from harness.runner.progress import ProgressReporter, SilentProgress
from harness.runner.rescore import rescore

__all__ = [
    "DEFAULT_MAX_ERROR_RATE",
    "ClientPool",
    "Plan",
    "ProgressReporter",
    "RunOptions",
    "RunOutcome",
    "SilentProgress",
    "execute",
    "plan_run",
    "rescore",
]
