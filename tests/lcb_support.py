"""Helpers for the sandbox and LiveCodeBench tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.errors import SandboxError
from harness.sandbox import Isolation, probe
from tests.conftest import REPO

REQUIRE_SANDBOX_ENV = "HARNESS_REQUIRE_SANDBOX"
OWN_DATA = REPO / "tests" / "data"
FIXTURE_ROW = "livecodebench/fixtures/lcb_row_1873_A.jsonl"


def require_sandbox() -> Isolation:
    """The machine's sandbox. Without one the test is skipped, with the reason, unless
    HARNESS_REQUIRE_SANDBOX=1 (as on CI), where a missing sandbox is a failure."""
    try:
        return probe()
    except SandboxError as exc:
        if os.environ.get(REQUIRE_SANDBOX_ENV) == "1":
            pytest.fail(f"{REQUIRE_SANDBOX_ENV}=1 but no sandbox works here: {exc}")
        pytest.skip(f"no sandbox on this machine: {exc}")


def data_dir_with_fixture(tmp_path: Path, shared_data: Path) -> Path:
    """A data folder holding our own problems and the real upstream row (linked, never copied)."""
    folder = tmp_path / "data" / "livecodebench"
    folder.mkdir(parents=True)
    (folder / "own.jsonl").symlink_to(OWN_DATA / "livecodebench" / "problems.jsonl")
    (folder / "upstream_1873_A.jsonl").symlink_to(shared_data / FIXTURE_ROW)
    return tmp_path / "data"


def upstream_results(details: dict[str, Any], functional: bool) -> list[bool | int]:
    """Our grade of a program written the way upstream's grader reports it (its per-test list: True,
    -2 or, on a functional test, False for a wrong answer, -3 time limit, -4 runtime or load error;
    a lone -2 when the grading process was lost: a program that exits, or outlives the time limit)."""
    if details.get("ended"):
        return [-2]
    tests = details["tests"]
    if details["verdict"] != "passed" and all(test["verdict"] == "not_run" for test in tests):
        return [-4]  # the program did not load
    codes = {"wrong_answer": False if functional else -2, "time_limit": -3, "runtime_error": -4}
    results: list[bool | int] = []
    for test in tests:
        if test["verdict"] == "not_run":
            break
        results.append(True if test["verdict"] == "passed" else codes[test["verdict"]])
    return results
