"""The benchmark registry: one module per benchmark, registered here explicitly.

A registration is a task class and the fixed constructor arguments of its variant; a variant's options
(`-T key=value`, a board column's `params`) are validated by the class's options model. Names with the
`lm_eval:` prefix name any task of lm-eval (`tasks.lm_eval`), which are not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.config import suggest
from harness.errors import ConfigError
from harness.task import Task, TaskOptions, validate_options
from tasks.arena_hard import ArenaHard, ArenaHardV2
from tasks.gpqa import GPQADiamond
from tasks.identity_consistency import IdentityConsistency
from tasks.livecodebench import LiveCodeBench
from tasks.lm_eval import PREFIX as LM_EVAL_PREFIX
from tasks.lm_eval import LmEvalTask
from tasks.mmlu_pro import MMLUPro
from tasks.response_similarity import ResponseSimilarity

TASKS: dict[str, tuple[type[Task], dict[str, Any]]] = {
    "mmlu_pro": (MMLUPro, {"shots": 5}),
    "mmlu_pro_0shot": (MMLUPro, {"shots": 0}),
    "gpqa_diamond": (GPQADiamond, {}),
    "livecodebench": (LiveCodeBench, {}),
    "identity_consistency": (IdentityConsistency, {}),
    "response_similarity": (ResponseSimilarity, {}),
    "arena_hard": (ArenaHard, {}),
    "arena_hard_v2": (ArenaHardV2, {}),
}


def task_names() -> list[str]:
    return sorted(TASKS)


def is_task(name: str) -> bool:
    """A registered task, or an lm-eval task by its prefixed name."""
    return name in TASKS or (name.startswith(LM_EVAL_PREFIX) and len(name) > len(LM_EVAL_PREFIX))


def task_class(name: str) -> type[Task]:
    if name.startswith(LM_EVAL_PREFIX):
        return LmEvalTask
    registered = TASKS.get(name)
    if registered is None:
        raise ConfigError(f"unknown task {name!r}.{suggest(name, list(TASKS))}")
    return registered[0]


def options_model(name: str) -> type[TaskOptions]:
    return task_class(name).options_model


def get_task(name: str, options: Mapping[str, Any] | None = None) -> Task:
    """The task `name`, configured with `options` (validated by its options model: an option the task
    does not take, or a bad value, is an error naming the option)."""
    cls = task_class(name)
    given = {key: value for key, value in (options or {}).items() if value is not None}
    validated = validate_options(name, cls.options_model, given)
    if cls is LmEvalTask:
        return LmEvalTask(validated, lm_eval_task=name.removeprefix(LM_EVAL_PREFIX))
    return cls(validated, **TASKS[name][1])
