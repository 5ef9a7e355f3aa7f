"""LiveCodeBench grading throughput: the harness's sandboxed grader against upstream's own grader.

    python benchmarks/grading_throughput.py --upstream PATH/TO/LiveCodeBench --workers 2 --repeat 3

The same programs (by default 100 synthetic problems, half stdin and half functional, 5 tests each; per
problem three correct solutions, one wrong and one that crashes) are graded with the same number of
worker processes by
- `ours`: the harness's grader (tasks/livecodebench_grading.py) with the strongest isolation this
  machine offers (warm bubblewrap sandboxes, per-program namespaces, seccomp, memory cgroup);
- `upstream`: LiveCodeBench's own `codegen_metrics` (lcb_runner/evaluation), in-process and unsandboxed,
  run from the checkout given by `--upstream` or the LCB_UPSTREAM environment variable (a clone of
  github.com/LiveCodeBench/LiveCodeBench; its grading code needs numpy and tqdm, which this project's
  environment has; `--upstream-python` picks another interpreter).

Reported per repetition (the two alternate, on the same cores): tests executed per second and programs
per second, the ratio ours/upstream, the CPU time per program of all processes involved (and the ratio
upstream/ours: on a machine shared with other work, the one figure the other work cannot move), and how
often the two agree on pass or fail. Without an upstream checkout only our figures are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sandbox import probe
from harness.types import Completion, Prompt
from tasks.livecodebench_grading import LiveCodeBenchGrader, ProblemTests, TestType

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
    inputs: list[str]
    outputs: list[str]
    solutions: list[str]


def build_cases(problems: int, solutions: int, tests: int, seed: int = 0) -> list[Case]:
    cases = []
    families = STDIN_FAMILIES + FUNCTIONAL_FAMILIES
    for index in range(problems):
        family = families[index % len(families)]
        rng = random.Random(seed * 1_000_003 + index)
        rows = []
        for _ in range(tests):
            value = family.make_input(rng)
            if family.testtype == "stdin":
                text_in = f"{len(value)}\n{' '.join(map(str, value))}\n"
                text_out = f"{family.answer(value)}\n"
            else:
                text_in, text_out = json.dumps(value), json.dumps(family.answer(value))
            rows.append({"input": text_in, "output": text_out, "testtype": family.testtype})
        testtype: TestType = "stdin" if family.testtype == "stdin" else "functional"
        problem = ProblemTests(json.dumps(rows[:1]), json.dumps(rows[1:]), testtype, family.func_name)
        chosen = [family.solutions[i % len(family.solutions)] for i in range(solutions)]
        inputs = [row["input"] for row in rows]
        outputs = [row["output"] for row in rows]
        cases.append(Case(f"p{index:04d}", problem, inputs, outputs, chosen))
    return cases


@dataclass
class Measured:
    seconds: float
    tests_executed: int
    passed: list[bool]
    # CPU seconds of every process involved (the grader's and all it started): what the grading costs
    # regardless of what else runs on the machine.
    cpu_s: float

    def report(self, programs: int) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "tests_executed": self.tests_executed,
            "tests_per_s": round(self.tests_executed / self.seconds, 1),
            "programs_per_s": round(programs / self.seconds, 1),
            "cpu_ms_per_program": round(1000 * self.cpu_s / programs, 2),
        }


def cpu_seconds() -> float:
    """CPU time of this process and of its descendants that have been waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def grade_with_harness(cases: list[Case], workers: int) -> Measured:
    grader = LiveCodeBenchGrader(
        {case.question_id: case.tests for case in cases}, probe(), workers=workers, timeout_s=TIMEOUT_S
    )
    order = [(case.question_id, i) for case in cases for i in range(len(case.solutions))]
    cpu_before = cpu_seconds()
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
    passed = [scores[key].value == 1.0 for key in order]
    return Measured(elapsed, executed, passed, cpu_seconds() - cpu_before)


# Runs in a separate interpreter with the upstream checkout importable; times `codegen_metrics` alone.
UPSTREAM_RUNNER = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
def cpu_seconds():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
from lcb_runner.evaluation.compute_code_generation_metrics import codegen_metrics
job = json.load(open(sys.argv[2]))
cpu_before = cpu_seconds()
started = time.perf_counter()
metrics, results, _ = codegen_metrics(
    job["samples"], job["generations"], k_list=[1],
    num_process_evaluate=job["workers"], timeout=job["timeout"],
)
elapsed = time.perf_counter() - started
cpu = cpu_seconds() - cpu_before
ordered = [
    [[x if isinstance(x, bool) else int(x) for x in r] for r in results[i]]
    for i in range(len(job["samples"]))
]
json.dump({"seconds": elapsed, "cpu_s": cpu, "results": ordered}, open(sys.argv[3], "w"))
"""


def grade_with_upstream(cases: list[Case], workers: int, checkout: Path, python: str) -> Measured:
    job = {
        "samples": [
            {
                "input_output": json.dumps(
                    {"inputs": c.inputs, "outputs": c.outputs, "fn_name": c.tests.func_name}
                )
            }
            for c in cases
        ],
        "generations": [c.solutions for c in cases],
        "workers": workers,
        "timeout": int(TIMEOUT_S),
    }
    with tempfile.TemporaryDirectory() as scratch:
        job_file, result_file = Path(scratch) / "job.json", Path(scratch) / "results.json"
        job_file.write_text(json.dumps(job))
        subprocess.run(
            [python, "-c", UPSTREAM_RUNNER, str(checkout), str(job_file), str(result_file)],
            check=True,
            cwd=scratch,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        measured = json.loads(result_file.read_text())
    results = [r for per_problem in measured["results"] for r in per_problem]
    return Measured(
        measured["seconds"],
        sum(len(r) for r in results),
        [all(x is True for x in r) and len(r) > 0 for r in results],
        measured["cpu_s"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--solutions", type=int, default=5)
    parser.add_argument("--tests", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--upstream", type=Path, default=os.environ.get("LCB_UPSTREAM") or None)
    parser.add_argument("--upstream-python", default=sys.executable)
    args = parser.parse_args()
    if args.upstream is not None and not (args.upstream / "lcb_runner" / "evaluation").is_dir():
        parser.error(f"--upstream {args.upstream}: not a LiveCodeBench checkout (no lcb_runner/evaluation)")

    cases = build_cases(args.problems, args.solutions, args.tests)
    programs = sum(len(c.solutions) for c in cases)
    report: dict[str, Any] = {
        "programs": programs,
        "workers": args.workers,
        "isolation": probe().protections,
        "runs": [],
    }
    for _ in range(args.repeat):
        run: dict[str, Any] = {}
        ours = grade_with_harness(cases, args.workers)
        run["ours"] = ours.report(programs)
        if args.upstream is not None:
            upstream = grade_with_upstream(cases, args.workers, args.upstream, args.upstream_python)
            run["upstream"] = upstream.report(programs)
            run["ratio_tests_per_s"] = round(
                (ours.tests_executed / ours.seconds) / (upstream.tests_executed / upstream.seconds), 3
            )
            run["ratio_cpu_per_program"] = round(upstream.cpu_s / ours.cpu_s, 3)
            run["pass_fail_agreement"] = sum(
                a == b for a, b in zip(ours.passed, upstream.passed, strict=True)
            ) / len(ours.passed)
        report["runs"].append(run)
    ratios = [run["ratio_tests_per_s"] for run in report["runs"] if "ratio_tests_per_s" in run]
    if ratios:
        report["ratio_range"] = [min(ratios), max(ratios)]
        cpu_ratios = [run["ratio_cpu_per_program"] for run in report["runs"]]
        report["cpu_ratio_range"] = [min(cpu_ratios), max(cpu_ratios)]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
