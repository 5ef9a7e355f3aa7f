"""LiveCodeBench grading throughput: sandboxed, unsandboxed, and an in-process grader in upstream's style.

    python benchmarks/grading_throughput.py --problems 200 --solutions 5 --workers 2

The same programs (200 synthetic problems, half stdin and half functional, 8 tests each; per problem
three correct solutions, one wrong and one that crashes) are graded three ways with the same number of
worker processes:

- `sandboxed`: the harness's grader, one bubblewrap sandbox per program (harness/sandbox.py);
- `unsandboxed`: the same grader with isolation turned off (resource limits only);
- `official_style`: a re-implementation of upstream's grader (lcb_runner/evaluation): per program a
  forked `multiprocessing.Process` that disables os functions, runs the tests in-process under
  `signal.alarm`, and returns its results through a `multiprocessing.Manager` list, with the global
  timeout `(timeout + 1) * tests + 5` on `join`.

Reported: tests executed per second for each, and the ratios to `official_style` (the baseline, measured
in the same run). Verdict agreement between the three is checked and reported too.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import signal
import time
import types
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from harness.sandbox import Isolation, probe, unsandboxed
from harness.types import Completion, Prompt
from tasks.livecodebench_driver import (
    PRELUDE_IMPORTS,
    WRAPPED,
    CapturedOutput,
    TimeoutException,
    disable_destructive_functions,
    unwrap_main_guard,
    wrap_in_function,
)
from tasks.livecodebench_grading import LiveCodeBenchGrader, ProblemTests, TestType, compare_stdout

TIMEOUT_S = 6.0
HEAD = "class Solution:\n    def {name}(self, nums):\n        "
EVEN = HEAD.format(name="countEven")
RUNNING = HEAD.format(name="runningSum")
EVEN_LOOP = (
    "c = 0\n        for x in nums:\n            if x % 2 == 0:\n                c += 1\n        return c\n"
)
RUNNING_LOOP = (
    "out, t = [], 0\n        for x in nums:\n"
    "            t += x\n            out.append(t)\n        return out\n"
)
TESTS_PER_PROBLEM = 8


@dataclass
class Family:
    testtype: str
    func_name: str | None
    make_input: Callable[[random.Random], Any]
    answer: Callable[[Any], Any]
    solutions: list[str]  # three correct, one wrong, one crashing


STDIN_FAMILIES = [
    Family(
        "stdin",
        None,
        lambda r: [r.randint(-1000, 1000) for _ in range(r.randint(1, 50))],
        lambda v: sum(v),
        [
            "n = int(input())\nprint(sum(map(int, input().split())))\n",
            "import sys\ndata = sys.stdin.read().split()\nprint(sum(int(x) for x in data[1:]))\n",
            "n = int(input())\ntotal = 0\nfor x in input().split():\n    total += int(x)\nprint(total)\n",
            "n = int(input())\nprint(sum(map(int, input().split())) + 1)\n",
            "n = int(input())\nvalues = list(map(int, input().split()))\nprint(values[n])\n",
        ],
    ),
    Family(
        "stdin",
        None,
        lambda r: [r.randint(0, 10**6) for _ in range(r.randint(1, 40))],
        lambda v: " ".join(map(str, sorted(v))),
        [
            "n = int(input())\nprint(*sorted(map(int, input().split())))\n",
            "input()\nprint(' '.join(str(x) for x in sorted(int(t) for t in input().split())))\n",
            "n = int(input())\nv = list(map(int, input().split()))\nv.sort()\nprint(*v)\n",
            "n = int(input())\nprint(*sorted(map(int, input().split()), reverse=True))\n",
            "n = int(input())\nv = sorted(map(int, input().split()))\nprint(*v, v[n + 1])\n",
        ],
    ),
]
FUNCTIONAL_FAMILIES = [
    Family(
        "functional",
        "countEven",
        lambda r: [r.randint(-100, 100) for _ in range(r.randint(0, 60))],
        lambda v: sum(1 for x in v if x % 2 == 0),
        [
            EVEN + "return sum(1 for x in nums if x % 2 == 0)\n",
            EVEN + "return len([x for x in nums if not x & 1])\n",
            EVEN + EVEN_LOOP,
            EVEN + "return sum(1 for x in nums if x % 2)\n",
            EVEN + "return nums[len(nums)]\n",
        ],
    ),
    Family(
        "functional",
        "runningSum",
        lambda r: [r.randint(-50, 50) for _ in range(r.randint(1, 60))],
        lambda v: [sum(v[: i + 1]) for i in range(len(v))],
        [
            "from itertools import accumulate\n\nclass Solution:\n"
            "    def runningSum(self, nums):\n        return list(accumulate(nums))\n",
            RUNNING + RUNNING_LOOP,
            RUNNING + "return [sum(nums[:i + 1]) for i in range(len(nums))]\n",
            RUNNING + "return [sum(nums[:i]) for i in range(len(nums))]\n",
            RUNNING + "raise ValueError('no')\n",
        ],
    ),
]


@dataclass
class Case:
    question_id: str
    tests: ProblemTests
    decoded: list[tuple[str, str]]
    solutions: list[str]


def build_cases(problems: int, solutions: int, seed: int = 0) -> list[Case]:
    cases = []
    families = STDIN_FAMILIES + FUNCTIONAL_FAMILIES
    for index in range(problems):
        family = families[index % len(families)]
        rng = random.Random(seed * 1_000_003 + index)
        tests = []
        for _ in range(TESTS_PER_PROBLEM):
            value = family.make_input(rng)
            if family.testtype == "stdin":
                text_in = f"{len(value)}\n{' '.join(map(str, value))}\n"
                text_out = f"{family.answer(value)}\n"
            else:
                text_in, text_out = json.dumps(value), json.dumps(family.answer(value))
            tests.append({"input": text_in, "output": text_out, "testtype": family.testtype})
        testtype: TestType = "stdin" if family.testtype == "stdin" else "functional"
        problem = ProblemTests(json.dumps(tests[:1]), json.dumps(tests[1:]), testtype, family.func_name)
        chosen = [family.solutions[i % len(family.solutions)] for i in range(solutions)]
        cases.append(Case(f"p{index:04d}", problem, [(t["input"], t["output"]) for t in tests], chosen))
    return cases


# The harness's grader ---------------------------------------------------------------------------------


def grade_with_harness(
    cases: list[Case], isolation: Isolation, workers: int
) -> tuple[float, int, list[bool]]:
    grader = LiveCodeBenchGrader(
        {case.question_id: case.tests for case in cases}, isolation, workers=workers, timeout_s=TIMEOUT_S
    )
    order = [(case.question_id, i) for case in cases for i in range(len(case.solutions))]
    started = time.perf_counter()
    try:
        for case in cases:
            prompt = Prompt(
                messages=[], target="", metadata={"question_id": case.question_id, "code_is_extracted": True}
            )
            for i, code in enumerate(case.solutions):
                grader.submit((case.question_id, i), prompt, Completion(text=code))
        scores = dict(grader.wait())
    finally:
        grader.close()
    elapsed = time.perf_counter() - started
    executed = sum(sum(1 for t in s.details["tests"] if t["verdict"] != "not_run") for s in scores.values())
    return elapsed, executed, [scores[key].value == 1.0 for key in order]


# Upstream-style in-process grading ---------------------------------------------------------------------


def _on_alarm(signum: int, frame: object) -> None:
    raise TimeoutException


def _official_run(
    code: str, testtype: str, func_name: str | None, tests: list[tuple[str, str]], timeout: int, out: Any
) -> None:
    """Upstream's run_test in the forked process: disable os functions, compile under an alarm, run
    each test in-process under an alarm, stop at the first failure."""
    import io
    import sys

    signal.signal(signal.SIGALRM, _on_alarm)
    disable_destructive_functions()
    results: list[Any] = []
    try:
        source = (
            wrap_in_function(unwrap_main_guard(code))
            if testtype == "stdin"
            else PRELUDE_IMPORTS + "\n\n" + code
        )
        signal.alarm(timeout)
        module = types.ModuleType("tmp_sol")
        exec(source, module.__dict__)
        target = (
            getattr(module, WRAPPED) if testtype == "stdin" else getattr(module.Solution(), str(func_name))
        )
        signal.alarm(0)
    except BaseException:
        signal.alarm(0)
        out.append([-4])
        return
    real_stdout = sys.stdout
    for text_in, text_out in tests:
        signal.alarm(timeout)
        try:
            if testtype == "stdin":
                capture = CapturedOutput(1 << 24)
                sys.stdin = io.StringIO(text_in)
                sys.stdout = capture
                try:
                    target()
                except SystemExit:
                    pass
                finally:
                    sys.stdout = real_stdout
                signal.alarm(0)
                ok = compare_stdout(capture.getvalue(), text_out) is None
            else:
                prediction = target(*[json.loads(line) for line in text_in.split("\n")])
                signal.alarm(0)
                if isinstance(prediction, tuple):
                    prediction = list(prediction)
                ok = prediction == json.loads(text_out)
        except TimeoutException:
            results.append(-3)
            break
        except BaseException:
            signal.alarm(0)
            results.append(-4)
            break
        results.append(True if ok else -2)
        if not ok:
            break
    out.append(results)


def official_check(job: tuple[str, str, str | None, list[tuple[str, str]], int]) -> list[Any]:
    """Upstream's check_correctness: a Manager list, a forked Process, join with the global timeout."""
    code, testtype, func_name, tests, timeout = job
    context = multiprocessing.get_context("fork")
    manager = context.Manager()
    try:
        results = manager.list()
        process = context.Process(
            target=_official_run, args=(code, testtype, func_name, tests, timeout, results)
        )
        process.start()
        process.join(timeout=(timeout + 1) * len(tests) + 5)
        if process.is_alive():
            process.kill()
        return list(results[0]) if len(results) else [-1] * len(tests)
    finally:
        manager.shutdown()


def grade_official_style(cases: list[Case], workers: int) -> tuple[float, int, list[bool]]:
    jobs = [
        (code, case.tests.testtype, case.tests.func_name, case.decoded, int(TIMEOUT_S))
        for case in cases
        for code in case.solutions
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(official_check, jobs))
    elapsed = time.perf_counter() - started
    executed = sum(len(r) for r in results)
    return elapsed, executed, [all(x is True for x in r) and len(r) == TESTS_PER_PROBLEM for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--solutions", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    cases = build_cases(args.problems, args.solutions)
    runs: dict[str, tuple[float, int, list[bool]]] = {}
    runs["official_style"] = grade_official_style(cases, args.workers)
    runs["unsandboxed"] = grade_with_harness(cases, unsandboxed(), args.workers)
    runs["sandboxed"] = grade_with_harness(cases, probe(), args.workers)
    baseline_rate = runs["official_style"][1] / runs["official_style"][0]
    report: dict[str, Any] = {
        "programs": sum(len(c.solutions) for c in cases),
        "workers": args.workers,
        "isolation": probe().mechanism,
    }
    for name, (elapsed, executed, _) in runs.items():
        rate = executed / elapsed
        report[name] = {
            "seconds": round(elapsed, 2),
            "tests_executed": executed,
            "tests_per_s": round(rate, 1),
            "ratio_to_official_style": round(rate / baseline_rate, 3),
        }
    passed = {name: verdicts for name, (_, _, verdicts) in runs.items()}
    report["verdict_agreement"] = {
        f"{a}_vs_{b}": sum(x == y for x, y in zip(passed[a], passed[b], strict=True)) / len(passed[a])
        for a, b in (("sandboxed", "official_style"), ("sandboxed", "unsandboxed"))
    }
    report["pass_rate"] = {name: sum(v) / len(v) for name, v in passed.items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
