"""LiveCodeBench grading: decode a problem's tests, run a program against them in the sandbox, judge.

Judging follows upstream `lcb_runner/evaluation/testing_util.py` and `compute_code_generation_metrics.py`
at LiveCodeBench/LiveCodeBench commit 28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24 (how the program is run
is described in `tasks/livecodebench_driver.py`):

- stdin programs: the captured output and the expected output are each stripped, split into lines and
  every line stripped; the line counts must match; each line matches if it is equal, or if both split
  into whitespace-separated tokens that all parse as decimals and the decimal lists are equal (so `1.0`
  matches `1.00`, but there is no tolerance beyond exact decimal equality).
- functional programs: the returned value (a top-level tuple becomes a list) must equal the JSON-decoded
  expected output under Python's `==`; integers of up to 50,000 digits are read, as upstream reads them.
- Tests run public first, then private, and stop at the first failure (the remaining tests are recorded
  as not run). A program passes only if every test passes.
- Time limit `timeout_s` per test (upstream default 6 s), by a SIGALRM timer in the program's process as
  upstream. A program that disarms or swallows the timer is ended by the sandbox after the limit plus
  one second for that test (upstream ends it after `(timeout_s + 1) * tests + 5` seconds in all, the
  global limit applied here too).

Deliberate differences: the program runs in a sandbox (harness/sandbox.py), in a process of its own
forked from a warm interpreter, instead of in a forked copy of the grader; the expected outputs stay
outside it, and a returned value is compared by the harness after a type-preserving serialisation, so
an object whose `__eq__` always answers True cannot pass a test, and a returned numpy array is a wrong
answer (upstream's comparison raises for it, a runtime error); both fail. Output beyond the output limit
fails the test (upstream would hold it all in memory). What the program sends back is untrusted: a reply
that cannot be read is that program's runtime error, never an error of the harness.
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
import multiprocessing.util
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
from harness.sandbox import (
    INT_MAX_STR_DIGITS,
    LENGTH,
    Isolation,
    Limits,
    ProgramEnd,
    ProgramServer,
    Sandbox,
    become_subreaper,
)
from harness.types import Completion, GradingInfo, Prompt, Score
from tasks.livecodebench_driver import PRELUDE_MODULES

DRIVER_SOURCE = (Path(__file__).with_name("livecodebench_driver.py")).read_text(encoding="utf-8")
DEFAULT_TIMEOUT_S = 6.0
TEST_GRACE_S = 1.0
# Room in a reply frame for its JSON header next to the program's output.
REPLY_HEADROOM_BYTES = 64 << 10
TRUNCATE_CHARS = 300
# Imported before programs are forked, so no program pays for them: upstream's graders run where numpy
# is already imported, and importing it inside a program's process takes a good part of a time limit.
PRELOAD = ("numpy", "unittest.mock", *PRELUDE_MODULES)

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
    if tag == "int" and isinstance(value.get("hex"), str):
        # Hexadecimal: no digit limit applies, however long the integer.
        return int(value["hex"], 16)
    if tag == "decimal" and isinstance(items, str):
        return decimal.Decimal(items)
    if tag == "fraction" and isinstance(items, list) and len(items) == 2:
        numerator, denominator = (decode_value(item) for item in items)
        if isinstance(numerator, int) and isinstance(denominator, int) and denominator:
            return fractions.Fraction(numerator, denominator)
    return _Opaque(str(value.get("repr", "<object>"))[:TRUNCATE_CHARS])


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


@lru_cache(maxsize=4)
def _decoded(tests: ProblemTests, question_id: str) -> list[TestCase]:
    # The samples of one problem usually arrive one after another: decode its tests once.
    return tests.decode(f"problem {question_id}")


@dataclass
class Answer:
    """What came back for one request to the program: a readable reply, or why there was none."""

    message: dict[str, Any] | None = None
    output: bytes = b""
    wall_s: float = 0.0
    end: ProgramEnd | None = None
    timed_out: bool = False
    unreadable: str | None = None


def _big_int(digits: str) -> int:
    """An integer literal of any length up to upstream's limit, without Python's 4,300-digit guard."""
    if len(digits.lstrip("-")) > INT_MAX_STR_DIGITS:
        raise ValueError(f"an integer of more than {INT_MAX_STR_DIGITS} digits")
    return int(decimal.Decimal(digits))


def read_json(text: str | bytes) -> Any:
    """JSON as upstream's graders read it (integers of up to 50,000 digits)."""
    return json.loads(text, parse_int=_big_int)


def parse_reply(body: bytes) -> tuple[dict[str, Any], bytes] | str:
    """A reply frame from the program: its JSON header and the raw output after it; or, for anything
    malformed, what is wrong with it (the program wrote it, so it may be anything)."""
    if len(body) < LENGTH.size:
        return f"a reply of {len(body)} bytes"
    (size,) = LENGTH.unpack_from(body)
    if size > len(body) - LENGTH.size:
        return f"a reply that announces {size} bytes of header but holds {len(body) - LENGTH.size}"
    try:
        message = read_json(body[LENGTH.size : LENGTH.size + size])
    except Exception as exc:  # anything json can raise on hostile input, RecursionError included
        return f"a reply that is not JSON ({type(exc).__name__}): {truncate(body[: LENGTH.size + size])!r}"
    if not isinstance(message, dict):
        return f"a reply that is not a JSON object: {truncate(repr(message))}"
    return message, body[LENGTH.size + size :]


def _ask(server: ProgramServer, deadline: float) -> Answer:
    received = server.receive(deadline)
    if received is None:
        return Answer(timed_out=True)
    if isinstance(received, ProgramEnd):
        return Answer(end=received)
    parsed = parse_reply(received.body)
    if isinstance(parsed, str):
        return Answer(unreadable=parsed, wall_s=received.wall_s)
    message, output = parsed
    return Answer(message=message, output=output, wall_s=received.wall_s)


def _no_answer(answer: Answer, during: str) -> dict[str, Any]:
    """The outcome when the program did not answer readably."""
    if answer.unreadable is not None:
        return {
            "verdict": "runtime_error",
            "message": f"unreadable reply from the program: {answer.unreadable}",
        }
    if answer.timed_out:
        return {
            "verdict": "time_limit",
            "message": f"no answer within the time limit plus {TEST_GRACE_S:g} s {during}",
            "ended": "deadline",
        }
    end = answer.end
    assert end is not None
    outcome: dict[str, Any] = {"ended": "exit"}
    if end.memory_exceeded:
        outcome |= {
            "verdict": "runtime_error",
            "message": "memory limit exceeded (all its processes together)",
        }
    elif end.oversized:
        outcome |= {"verdict": "output_limit", "message": "the program sent more than the output limit"}
    elif end.signal_name == "SIGXCPU":
        outcome |= {"verdict": "time_limit", "message": "CPU time limit exceeded"}
    elif end.signal_name is not None:
        outcome |= {"verdict": "runtime_error", "message": f"killed by {end.signal_name} {during}"}
    elif end.status is None:
        outcome |= {"verdict": "runtime_error", "message": f"the sandbox stopped {during}: {end.detail}"}
    else:
        outcome |= {
            "verdict": "runtime_error",
            "message": f"the program exited with status {end.status} {during}",
        }
    return outcome


def _text(value: Any, limit: int = 2000) -> str:
    return value[-limit:] if isinstance(value, str) else truncate(repr(value))


def _judge(answer: Answer, job: GradeJob, test: TestCase, expected: Any) -> dict[str, Any]:
    message = answer.message
    if message is None:
        return _no_answer(answer, "for this test")
    status = message.get("status")
    time_s = round(answer.wall_s, 4)
    if status == "timeout":
        return {"verdict": "time_limit", "limit_s": job.timeout_s}
    if status == "output_limit":
        return {"verdict": "output_limit", "message": "more output than the output limit"}
    if status == "error":
        return {"verdict": "runtime_error", "message": _text(message.get("error", ""))}
    if status != "ok":
        return {
            "verdict": "runtime_error",
            "message": f"unreadable reply from the program: status {_text(status)}",
        }
    if job.tests.testtype == "functional":
        try:
            got = decode_value(message.get("value"))
            equal = values_equal(got, expected)
            shown = _shown(got)
        except Exception as exc:  # a hostile value: deep nesting, absurd sizes
            return {
                "verdict": "runtime_error",
                "message": f"unreadable value from the program ({type(exc).__name__})",
            }
        if equal:
            return {"verdict": "passed", "time_s": time_s}
        return {"verdict": "wrong_answer", "expected": truncate(test.output), "got": shown, "time_s": time_s}
    output = answer.output.decode("utf-8", "replace")
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


def _shown(value: Any) -> str:
    try:
        return truncate(repr(value))
    except ValueError:  # an integer past the digit limit
        return f"<a value too large to show ({type(value).__name__})>"


def _expected(job: GradeJob, test: TestCase) -> Any:
    return read_json(test.output) if job.tests.testtype == "functional" else test.output


def grade_program(job: GradeJob, sandbox: Sandbox) -> Score:
    """Run `job.code` against every test of its problem; the first failure ends the run."""
    tests = _decoded(job.tests, job.question_id)
    started = time.monotonic()
    total = len(tests)
    outcomes: list[dict[str, Any]] = []
    global_deadline = started + global_timeout_s(job.timeout_s, total)
    server = sandbox.server(DRIVER_SOURCE, job.limits, PRELOAD)
    header = {
        "mode": job.tests.testtype,
        "code": job.code,
        "func_name": job.tests.func_name,
        "timeout_s": job.timeout_s,
        "output_limit": job.limits.output_bytes - REPLY_HEADROOM_BYTES,
    }
    server.start_program(
        json.dumps(header).encode(), cpu_s=max(1, math.ceil(global_timeout_s(job.timeout_s, total)))
    )
    verdict: Verdict = "passed"
    message: str | None = None
    ended: str | None = None
    try:
        loaded = _ask(server, min(global_deadline, time.monotonic() + job.timeout_s + TEST_GRACE_S))
        event = loaded.message.get("event") if loaded.message is not None else None
        if loaded.message is None:
            failure = _no_answer(loaded, "while loading the program")
            verdict, message, ended = failure["verdict"], failure["message"], failure.get("ended")
        elif event == "load_timeout":
            verdict, message = "time_limit", "timed out while loading the program"
        elif event == "load_error":
            verdict, message = "compile_error", _text(loaded.message.get("error", ""))
        elif event != "loaded":
            verdict, message = "runtime_error", f"unreadable reply from the program: event {_text(event)}"
        else:
            for test in tests:
                try:
                    expected = _expected(job, test)
                except (ValueError, RecursionError) as exc:
                    outcome: dict[str, Any] = {
                        "verdict": "invalid_test",
                        "message": f"the expected output is not JSON: {exc}",
                    }
                else:
                    server.send(json.dumps({"input": test.input}).encode())
                    deadline = min(global_deadline, time.monotonic() + job.timeout_s + TEST_GRACE_S)
                    outcome = _judge(_ask(server, deadline), job, test, expected)
                outcomes.append(outcome)
                if outcome["verdict"] != "passed":
                    verdict = outcome["verdict"]
                    message = outcome.get("message")
                    ended = outcome.pop("ended", None)
                    break
    finally:
        server.end_program()
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
    if ended:
        # The program's process ended (or was ended) instead of answering: upstream's grader loses all
        # its results then.
        details["ended"] = ended
    return Score(value=1.0 if total and passed == total else 0.0, extracted=job.code, details=details)


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
    # Worker processes end without atexit handlers; multiprocessing's finalizers do run.
    multiprocessing.util.Finalize(_WORKER_SANDBOX, _WORKER_SANDBOX.close, exitpriority=10)


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

    def info(self) -> GradingInfo:
        isolation = self._isolation
        return GradingInfo(
            isolation=isolation.level,
            mechanism=isolation.mechanism,
            python=isolation.python,
            workers=self._workers,
            timeout_s=self._timeout_s,
            limits=self._limits.model_dump(),
            protections=isolation.protections,
            namespaces=list(isolation.namespaces),
            seccomp=isolation.seccomp,
            memory_cap=isolation.memory_cap,
            importable=list(isolation.importable),
            failed=len(self.failures),
            failures=self.failures[:20],
        )

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
        except Exception as exc:
            # Whatever went wrong with this one job, the others are still graded and the run completes.
            self.failures.append(f"{key[0]} (epoch {key[1]}): {type(exc).__name__}: {truncate(str(exc))}")

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
