"""LiveCodeBench grading: decode a problem's tests, run a program against them in the sandbox, judge.

Judging follows upstream `lcb_runner/evaluation/testing_util.py` and `compute_code_generation_metrics.py`:

- stdin programs: the captured output and the expected output are each stripped, split into lines and
  every line stripped; the line counts must match; each line matches if it is equal, or if both split
  into whitespace-separated tokens that all parse as decimals and the decimal lists are equal (so `1.0`
  matches `1.00`, but there is no tolerance beyond exact decimal equality).
- functional programs: the returned value (a top-level tuple becomes a list) must equal the JSON-decoded
  expected output under Python's `==`.
- Tests run public first, then private, and stop at the first failure (the remaining tests are recorded
  as not run). A program passes only if every test passes.
- Per-test time limit `timeout_s` (upstream default 6 s, by SIGALRM in the program's process, and here
  also by the harness's own deadline), and a global limit of `(timeout_s + 1) * tests + 5` seconds.

Deliberate differences: the program runs in a sandboxed interpreter of its own (upstream runs it in a
forked copy of the grader with a few os functions disabled), the expected outputs stay outside it, and
a returned value is compared by the harness after a type-preserving serialisation, so an object whose
`__eq__` always answers True cannot pass a test. Output beyond `output_limit` characters per test fails
the test (upstream would hold it all in memory).
"""

from __future__ import annotations

import base64
import binascii
import decimal
import fractions
import io
import json
import math
import multiprocessing
import pickle
import signal
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import DataError, SandboxError
from harness.sandbox import Exit, Isolation, Limits, Sandbox, SandboxedProcess, become_subreaper
from harness.types import Completion, Prompt, Score

DRIVER_SOURCE = (Path(__file__).with_name("livecodebench_driver.py")).read_text(encoding="utf-8")
DEFAULT_TIMEOUT_S = 6.0
LOAD_GRACE_S = 5.0
TEST_GRACE_S = 1.0
OUTPUT_LIMIT_CHARS = 16 << 20
TRUNCATE_CHARS = 300

TestType = Literal["stdin", "functional"]
Verdict = Literal[
    "passed",
    "wrong_answer",
    "time_limit",
    "runtime_error",
    "compile_error",
    "output_limit",
    "no_code",
    "invalid_test",
    "not_run",
]


class TestCase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    input: str
    output: str
    testtype: TestType


class _PlainUnpickler(pickle.Unpickler):
    """Loads only what pickle builds from its own opcodes (strings, numbers, containers): any
    reference to a class or function, the way a pickle executes code, is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(
            f"it refers to {module}.{name}; only plain strings and containers are accepted"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("it uses persistent ids; only plain strings and containers are accepted")


PLAIN_TYPES = (str, int, float, bool, type(None), bytes)


def _check_plain(value: Any, depth: int = 0) -> None:
    if depth > 100:
        raise pickle.UnpicklingError("it is nested more than 100 levels deep")
    if isinstance(value, PLAIN_TYPES):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check_plain(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, depth + 1)
            _check_plain(item, depth + 1)
        return
    raise pickle.UnpicklingError(f"it holds a {type(value).__name__}")


def restricted_loads(data: bytes) -> Any:
    value = _PlainUnpickler(io.BytesIO(data)).load()
    _check_plain(value)
    return value


def decode_tests(raw: str, *, where: str) -> list[TestCase]:
    """Test cases stored as a JSON string, or as base64(zlib(pickle(JSON string))) (upstream's
    private tests); the pickle is read with a restricted unpickler."""
    if not raw:
        return []
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError:
        try:
            packed = zlib.decompress(base64.b64decode(raw.encode("ascii"), validate=True))
        except (binascii.Error, zlib.error, UnicodeEncodeError, ValueError) as exc:
            raise DataError(
                f"{where}: test cases are neither JSON nor base64(zlib(pickle)) "
                f"({type(exc).__name__}: {exc})."
            ) from exc
        try:
            data = restricted_loads(packed)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as exc:
            raise DataError(f"{where}: refusing to unpickle the test cases: {exc}.") from exc
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: the unpickled test cases are not JSON ({exc.msg}).") from exc
    if not isinstance(data, list):
        raise DataError(f"{where}: test cases must be a list, got {type(data).__name__}.")
    try:
        return [TestCase.model_validate(item) for item in data]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DataError(
            f"{where}: a test case is malformed ({'.'.join(map(str, first['loc']))}: {first['msg']})."
        ) from exc


def extract_code(text: str) -> str:
    """Upstream `extract_code`: the lines between the last two lines that contain a ``` fence."""
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])


def answer_code(prompt: Prompt, completion: Completion) -> str:
    """The program to run: extracted from the answer, or the answer itself when it was imported as
    already-extracted code (upstream's custom-evaluator format)."""
    if prompt.metadata.get("code_is_extracted"):
        return completion.text
    return extract_code(completion.text)


def truncate(value: Any, length: int = TRUNCATE_CHARS) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) <= length:
        return text
    return text[: length // 2] + "...(truncated) ..." + text[-length // 2 :]


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[decimal.Decimal] | None:
    try:
        return [decimal.Decimal(token) for token in line.split()]
    except (decimal.InvalidOperation, ValueError):
        return None


def compare_stdout(got: str, expected: str) -> str | None:
    """None when `got` matches `expected` the way upstream compares; else what differs."""
    got_lines, expected_lines = stripped_lines(got), stripped_lines(expected)
    if len(got_lines) != len(expected_lines):
        return f"mismatched output length: {len(got_lines)} lines, expected {len(expected_lines)}"
    for number, (got_line, expected_line) in enumerate(zip(got_lines, expected_lines, strict=True)):
        if got_line == expected_line:
            continue
        got_decimals, expected_decimals = _decimals(got_line), _decimals(expected_line)
        try:
            if got_decimals is not None and got_decimals == expected_decimals:
                continue
        except decimal.InvalidOperation:  # a signalling NaN compares by raising
            pass
        return f"line {number + 1}: {truncate(got_line)} != {truncate(expected_line)}"
    return None


class _Opaque:
    """A returned object with no JSON form: equal to nothing, as upstream's `==` would almost always say."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return self.text


def decode_value(value: Any) -> Any:
    """Rebuild a value the driver serialised (see `encode_value` in the driver)."""
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get("$")
    items = value.get("v")
    if tag == "tuple" and isinstance(items, list):
        return tuple(decode_value(item) for item in items)
    if tag == "set" and isinstance(items, list):
        try:
            return frozenset(decode_value(item) for item in items)
        except TypeError:
            return _Opaque("<set>")
    if tag == "dict" and isinstance(items, list):
        try:
            return {decode_value(k): decode_value(v) for k, v in items}
        except (TypeError, ValueError):
            return _Opaque("<dict>")
    if tag == "decimal" and isinstance(items, str):
        return decimal.Decimal(items)
    if tag == "fraction" and isinstance(items, list) and len(items) == 2:
        return fractions.Fraction(int(items[0]), int(items[1]))
    return _Opaque(str(value.get("repr", "<object>")))


def values_equal(got: Any, expected: Any) -> bool:
    try:
        return bool(got == expected)
    except Exception:
        return False


@dataclass(frozen=True)
class ProblemTests:
    """A problem's tests as stored in the dataset row; decoded only where they are graded."""

    public: str
    private: str
    testtype: TestType
    func_name: str | None

    def decode(self, where: str) -> list[TestCase]:
        return decode_tests(self.public, where=f"{where} public_test_cases") + decode_tests(
            self.private, where=f"{where} private_test_cases"
        )


@dataclass(frozen=True)
class GradeJob:
    question_id: str
    code: str
    tests: ProblemTests
    timeout_s: float
    limits: Limits


def global_timeout_s(timeout_s: float, tests: int) -> float:
    return (timeout_s + 1) * tests + 5


def _outcome_for_exit(process_exit: Exit) -> tuple[Verdict, str]:
    if process_exit.output_exceeded:
        return "output_limit", "the program wrote more than the output limit"
    name = process_exit.signal_name
    tail = process_exit.stderr_tail.strip()[-1000:]
    if name == "SIGXCPU":
        return "time_limit", "CPU time limit exceeded"
    if name is not None:
        return "runtime_error", f"killed by {name}" + (f"\n{tail}" if tail else "")
    return "runtime_error", f"the program exited with status {process_exit.returncode}" + (
        f"\n{tail}" if tail else ""
    )


@lru_cache(maxsize=4)
def _decoded(tests: ProblemTests, question_id: str) -> list[TestCase]:
    # The samples of one problem usually arrive one after another: decode its tests once.
    return tests.decode(f"problem {question_id}")


def grade_program(job: GradeJob, sandbox: Sandbox) -> Score:
    """Run `job.code` against every test of its problem; the first failure ends the run."""
    tests = _decoded(job.tests, job.question_id)
    started = time.monotonic()
    total = len(tests)
    outcomes: list[dict[str, Any]] = []
    global_deadline = started + global_timeout_s(job.timeout_s, total)
    limits = job.limits.model_copy(
        update={"cpu_s": max(1, math.ceil(global_timeout_s(job.timeout_s, total)))}
    )
    process = sandbox.spawn([sandbox.python, "-I", "-c", DRIVER_SOURCE], limits)
    verdict: Verdict = "passed"
    message: str | None = None
    try:
        header = {
            "mode": job.tests.testtype,
            "code": job.code,
            "func_name": job.tests.func_name,
            "timeout_s": job.timeout_s,
            "output_limit": OUTPUT_LIMIT_CHARS,
        }
        process.send((json.dumps(header) + "\n").encode())
        line = process.read_line(min(global_deadline, time.monotonic() + job.timeout_s + LOAD_GRACE_S))
        loaded = _parse(line)
        if loaded is None:
            verdict, message = _no_reply(process, "while loading the program")
        elif loaded.get("event") == "load_timeout":
            verdict, message = "time_limit", "timed out while loading the program"
        elif loaded.get("event") != "loaded":
            verdict, message = "compile_error", str(loaded.get("error", ""))[-2000:]
        else:
            for test in tests:
                outcome = _run_test(process, job, test, global_deadline)
                outcomes.append(outcome)
                if outcome["verdict"] != "passed":
                    verdict = outcome["verdict"]
                    message = outcome.get("message")
                    break
    finally:
        process.finish(grace_s=0.2)
    outcomes += [{"verdict": "not_run"} for _ in range(total - len(outcomes))]
    passed = sum(1 for outcome in outcomes if outcome["verdict"] == "passed")
    details: dict[str, Any] = {
        "verdict": verdict if total else "invalid_test",
        "tests_passed": passed,
        "tests_total": total,
        "tests": outcomes,
        "isolation": sandbox.isolation.level,
        "timeout_s": job.timeout_s,
        "wall_s": round(time.monotonic() - started, 3),
    }
    if message:
        details["message"] = message
    return Score(value=1.0 if total and passed == total else 0.0, extracted=job.code, details=details)


def _parse(line: bytes | None) -> dict[str, Any] | None:
    if line is None:
        return None
    try:
        message = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"status": "error", "error": f"unreadable reply from the program: {truncate(line)!r}"}
    return message if isinstance(message, dict) else None


def _no_reply(process: SandboxedProcess, during: str) -> tuple[Verdict, str]:
    if process.output_exceeded:
        return "output_limit", "the program wrote more than the output limit"
    if process.popen.poll() is None:
        process.kill()
        return "time_limit", f"no answer within the time limit {during}"
    return _outcome_for_exit(process.finish(grace_s=0.0))


def _run_test(
    process: SandboxedProcess, job: GradeJob, test: TestCase, global_deadline: float
) -> dict[str, Any]:
    if job.tests.testtype == "functional":
        try:
            args = [json.loads(line) for line in test.input.split("\n")]
            expected: Any = json.loads(test.output)
        except json.JSONDecodeError as exc:
            return {"verdict": "invalid_test", "message": f"the test case is not JSON: {exc.msg}"}
        request: dict[str, Any] = {"args": args}
    else:
        request = {"input": test.input}
    process.send((json.dumps(request) + "\n").encode())
    deadline = min(global_deadline, time.monotonic() + job.timeout_s + TEST_GRACE_S)
    reply = _parse(process.read_line(deadline))
    if reply is None:
        verdict, message = _no_reply(process, "for this test")
        outcome: dict[str, Any] = {"verdict": verdict, "message": message}
        if verdict == "time_limit":
            outcome["limit_s"] = job.timeout_s
        return outcome
    status = reply.get("status")
    if status == "timeout":
        return {"verdict": "time_limit", "limit_s": job.timeout_s}
    if status == "output_limit":
        return {"verdict": "output_limit", "message": f"more than {OUTPUT_LIMIT_CHARS} characters of output"}
    if status != "ok":
        return {"verdict": "runtime_error", "message": str(reply.get("error", ""))[-2000:]}
    time_s = round(float(reply.get("time_s", 0.0)), 4)
    if job.tests.testtype == "functional":
        got = decode_value(reply.get("value"))
        if values_equal(got, expected):
            return {"verdict": "passed", "time_s": time_s}
        return {
            "verdict": "wrong_answer",
            "expected": truncate(test.output),
            "got": truncate(repr(got)),
            "time_s": time_s,
        }
    output = str(reply.get("output", ""))
    difference = compare_stdout(output, test.output)
    if difference is None:
        return {"verdict": "passed", "time_s": time_s}
    return {
        "verdict": "wrong_answer",
        "expected": truncate(test.output),
        "got": truncate(output),
        "message": difference,
        "time_s": time_s,
    }


def no_code_score() -> Score:
    return Score(
        value=0.0,
        extracted="",
        parsed=False,
        details={"verdict": "no_code", "message": "no fenced code block in the answer"},
    )


# Worker processes -------------------------------------------------------------------------------------

_WORKER_SANDBOX: Sandbox | None = None


def _init_worker(isolation_json: str) -> None:
    global _WORKER_SANDBOX
    # Ctrl-C is the main process's to handle; it stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    subreaper = become_subreaper()
    _WORKER_SANDBOX = Sandbox(Isolation.model_validate_json(isolation_json), subreaper=subreaper)


def _grade_in_worker(job: GradeJob) -> Score:
    assert _WORKER_SANDBOX is not None, "worker not initialised"
    return grade_program(job, _WORKER_SANDBOX)


RecordKey = tuple[str, int]


class LiveCodeBenchGrader:
    """Grades submitted answers in `workers` sandboxing worker processes, yielding scores as they end.

    Implements harness.grading.Grader. If a worker process dies (it is the harness's own process, not
    the sandbox, so this means the machine killed it), its jobs are run again once in a fresh pool.
    """

    def __init__(
        self,
        problems: dict[str, ProblemTests],
        isolation: Isolation,
        *,
        workers: int,
        timeout_s: float,
        limits: Limits | None = None,
    ) -> None:
        self._problems = problems
        self._isolation = isolation
        self._workers = workers
        self._timeout_s = timeout_s
        self._limits = limits or Limits()
        self._executor: ProcessPoolExecutor | None = None
        self._futures: dict[Future[Score], tuple[RecordKey, GradeJob, int]] = {}
        self._finished: list[tuple[RecordKey, Score]] = []
        self.failures: list[str] = []

    def info(self) -> dict[str, Any]:
        return {
            "isolation": self._isolation.level,
            "mechanism": self._isolation.mechanism,
            "python": self._isolation.python,
            "workers": self._workers,
            "timeout_s": self._timeout_s,
            "limits": self._limits.model_dump(),
        }

    @property
    def outstanding(self) -> int:
        return len(self._futures) + len(self._finished)

    def submit(self, key: RecordKey, prompt: Prompt, completion: Completion) -> None:
        code = answer_code(prompt, completion)
        if not code.strip():
            self._finished.append((key, no_code_score()))
            return
        question_id = str(prompt.metadata.get("question_id", key[0]))
        tests = self._problems.get(question_id)
        if tests is None:
            raise DataError(
                f"problem {question_id!r} is not in the loaded LiveCodeBench data; grade with the data "
                "the run was made with (same --data-dir / --release)."
            )
        job = GradeJob(question_id, code, tests, self._timeout_s, self._limits)
        self._submit(key, job, attempt=0)

    def _submit(self, key: RecordKey, job: GradeJob, attempt: int) -> None:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._isolation.model_dump_json(),),
            )
        self._futures[self._executor.submit(_grade_in_worker, job)] = (key, job, attempt)

    def _collect(self, future: Future[Score]) -> None:
        key, job, attempt = self._futures.pop(future)
        try:
            self._finished.append((key, future.result()))
        except BrokenProcessPool:
            self._restart()
            if attempt == 0:
                self._submit(key, job, attempt + 1)
            else:
                self.failures.append(f"{key[0]} (epoch {key[1]}): a grading worker process died twice")
        except (DataError, SandboxError) as exc:
            self.failures.append(f"{key[0]} (epoch {key[1]}): {exc}")

    def _restart(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def ready(self) -> list[tuple[RecordKey, Score]]:
        for future in [f for f in self._futures if f.done()]:
            self._collect(future)
        finished, self._finished = self._finished, []
        return finished

    def wait(self) -> Iterator[tuple[RecordKey, Score]]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures

        while True:
            yield from self.ready()
            if not self._futures:
                return
            wait_futures(list(self._futures), return_when=FIRST_COMPLETED)

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if self._futures:
            # Interrupted: do not wait for programs that may run for minutes; their sandboxes die
            # with the worker processes (bwrap --die-with-parent).
            for future in self._futures:
                future.cancel()
            processes = list(getattr(executor, "_processes", {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.kill()
            self._futures.clear()
        else:
            executor.shutdown(wait=True)
