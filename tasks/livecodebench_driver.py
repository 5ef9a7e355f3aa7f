"""Runs one candidate program against test inputs the way LiveCodeBench's grader runs it.

The sandbox's fork server (harness/sandbox_server.py) calls `main(channel)` in each program's own
process, after isolating it; this file uses the standard library only and never imports the harness.
It reproduces upstream `lcb_runner/evaluation/testing_util.py` at LiveCodeBench/LiveCodeBench commit
28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24 (July 2025; its grader last changed on 2025-05-23):

- Before loading, upstream's `reliability_guard()` is applied: `quit`, `os.kill`, `os.system`,
  `os.fork`, `subprocess.Popen`, `shutil.rmtree`, ... become None, `help` too; `exit` is left alone
  (since 2025-01-17), so `print(ans); exit()` works. Python's integer-string limit is 50,000 digits in
  the whole sandbox, as upstream's metrics module sets it before forking its graders.
- stdin programs: a trailing `if __name__ == '__main__':` block is unwrapped, the imports are hoisted
  to the top level and everything else becomes the body of `wrapped_function`, after upstream's
  prelude of star imports (so `open`, `stdin` and `stdout` are bound at load time to the real, empty
  descriptors) and `sys.setrecursionlimit(50000)`. Each test calls the function with, as upstream's
  patches do: `sys.stdin` replaced by a reader over the input whose `read()` returns all of it every
  time, `readline()` reads line by line, `readlines()` is `input.split("\n")`, `.buffer.read()` gives the
  bytes and `.buffer.readline()` always the first line, and which cannot be iterated; the real stdin's
  `readline`/`readlines`/`read` patched to serve the input too (so `from sys import stdin` reads it);
  `builtins.open` returning `unittest.mock.mock_open(read_data=input)`; `sys.stdout` captured in a
  string buffer. `SystemExit` ends the test normally.
- A program whose text contains `class Solution` gets `Solution()` instantiated at load, as upstream
  does, which fails for stdin programs (the class lives inside the wrapper function).
- functional (LeetCode) programs: the prelude plus the code is executed; `Solution()` is created once
  (or the module itself used when there is no `class Solution`) and `<func_name>(*args)` called per
  test with each input line JSON-decoded; a returned tuple becomes a list.
- An exception during loading or a test is the test's failure; one whose repr mentions
  `TimeoutException` is a time-out, as upstream classifies them. `SystemExit` anywhere but in a stdin
  test, and any other BaseException, ends the process, which upstream reports as a failure of every
  test.
- Per-test SIGALRM timer of the configured limit, armed for loading and for each test; the sandbox's
  server gives a program that disarms it the limit plus one second per test, then ends it.

Frames (see harness/sandbox_server.py for their envelope). The harness sends the job `{"mode", "code",
"func_name", "timeout_s", "output_limit"}`; the driver answers `{"event": "loaded"}` or `{"event":
"load_error", "error"}`. Then per test the harness sends `{"input": str}` and the driver answers
`{"status": "ok"}` with the captured output following the JSON (stdin), `{"status": "ok", "value"}`
(functional), `{"status": "timeout"}`, `{"status": "error", "error"}` or `{"status": "output_limit"}`.
Each reply is a 4-byte JSON length, the JSON, then the raw output bytes if any. Expected outputs never
enter the sandbox: the harness compares.
"""

from __future__ import annotations

import ast
import builtins
import decimal
import fractions
import io
import json
import linecache
import numbers
import os
import signal
import struct
import sys
import traceback
import types
from typing import Any, Protocol
from unittest import mock

# Upstream prepends these imports to every program (testing_util.import_string).
PRELUDE_MODULES = (
    "string",
    "re",
    "datetime",
    "collections",
    "heapq",
    "bisect",
    "copy",
    "math",
    "random",
    "statistics",
    "itertools",
    "functools",
    "operator",
    "io",
    "sys",
    "json",
    "builtins",
    "typing",
)
PRELUDE_IMPORTS = (
    "".join(f"from {name} import *\n" for name in PRELUDE_MODULES)
    + "".join(f"import {name}\n" for name in PRELUDE_MODULES if name not in ("builtins", "typing"))
    + "sys.setrecursionlimit(50000)\n"
)
# Functions upstream's reliability_guard() sets to None (it says itself that it is not a sandbox).
DISABLED_OS_FUNCTIONS = (
    "kill",
    "system",
    "putenv",
    "remove",
    "removedirs",
    "rmdir",
    "fchdir",
    "setuid",
    "fork",
    "forkpty",
    "killpg",
    "rename",
    "renames",
    "truncate",
    "replace",
    "unlink",
    "fchmod",
    "fchown",
    "chmod",
    "chown",
    "chroot",
    "lchflags",
    "lchmod",
    "lchown",
    "getcwd",
    "chdir",
)
BLOCKED_MODULES = ("ipdb", "joblib", "resource", "psutil", "tkinter")
WRAPPED = "wrapped_function"
FILENAME = "<solution>"
TRACEBACK_CHARS = 2000
MAX_DEPTH = 200
# Integers longer than this travel as hexadecimal, which no digit limit applies to.
DECIMAL_INT_BITS = 12_000
LENGTH = struct.Struct(">I")


class Channel(Protocol):
    def receive(self) -> bytes | None: ...

    def send(self, body: bytes) -> None: ...


class TimeoutException(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise TimeoutException


def is_timeout(error: BaseException) -> bool:
    return "timeoutexception" in repr(error).lower()


def unwrap_main_guard(code: str) -> str:
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            return ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)  # type: ignore[arg-type]
    except Exception:
        pass
    return code


def wrap_in_function(code: str) -> str:
    try:
        tree = ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
        function = ast.FunctionDef(
            name=WRAPPED,
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=body,
            decorator_list=[],
            lineno=-1,
        )
        return PRELUDE_IMPORTS + "\n" + ast.unparse(imports) + "\n" + ast.unparse(function)  # type: ignore[arg-type]
    except Exception:
        return code


def disable_destructive_functions() -> None:
    import faulthandler
    import shutil
    import subprocess

    faulthandler.disable()
    builtins.quit = None  # type: ignore[assignment]
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in DISABLED_OS_FUNCTIONS:
        setattr(os, name, None)
    shutil.rmtree = None  # type: ignore[assignment]
    shutil.move = None  # type: ignore[assignment]
    shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment,misc]
    builtins.help = None  # type: ignore[assignment]
    for module in BLOCKED_MODULES:
        sys.modules[module] = None  # type: ignore[assignment]


class InputBytes:
    """`sys.stdin.buffer` during a test: all the input at once, or (always) its first line."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")

    def read(self, *args: Any) -> bytes:
        return self.data

    def readline(self, *args: Any) -> bytes:
        return self.data.split(b"\n")[0] + b"\n"


class InputReader:
    """`sys.stdin` during a test. Attributes it does not define come from a string buffer over the
    input, looked up on the instance only, so the reader itself is not iterable."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = io.StringIO(text)
        self.buffer = InputBytes(text)

    def read(self, *args: Any) -> str:
        return self.text

    def readline(self, *args: Any) -> str:
        return self.lines.readline(*args)

    def readlines(self, *args: Any) -> list[str]:
        return self.text.split("\n")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lines, name)


class CapturedOutput(io.StringIO):
    """Upstream captures print() in a StringIO; this one stops storing past `limit` characters (the
    output limit is in bytes: characters are at most as many)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.size = 0
        self.exceeded = False

    def write(self, text: str) -> int:
        self.size += len(text)
        if self.size > self.limit:
            self.exceeded = True
            return len(text)
        return super().write(text)

    def close(self) -> None:
        pass


class StdinPatched:
    """What upstream's stack of `unittest.mock.patch` decorators does around each stdin test: the real
    stdin's `read`/`readlines`/`readline` serve the input (they are patched first, on the object
    `sys.stdin` still names), then `sys.stdin` and `builtins.open` are replaced."""

    METHODS = ("read", "readlines", "readline")

    def __init__(self, text: str) -> None:
        self.text = text

    def __enter__(self) -> None:
        lines = iter(self.text.split("\n"))
        text = self.text
        self.real_stdin = sys.stdin
        self.real_open = builtins.open
        self.saved = {name: self.real_stdin.__dict__.get(name) for name in self.METHODS}
        replacements = {
            "read": lambda *args: text,
            "readlines": lambda *args: text.split("\n"),
            "readline": lambda *args: next(lines),
        }
        for name in self.METHODS:
            setattr(self.real_stdin, name, replacements[name])
        sys.stdin = InputReader(text)
        builtins.open = mock.mock_open(read_data=text)

    def __exit__(self, *exc: object) -> None:
        builtins.open = self.real_open
        sys.stdin = self.real_stdin
        for name, saved in self.saved.items():
            if saved is None:
                self.real_stdin.__dict__.pop(name, None)
            else:
                setattr(self.real_stdin, name, saved)


def encode_value(value: Any, depth: int = 0) -> Any:
    """A JSON form of a returned value that keeps what Python's == distinguishes (tuple vs list, dict
    key types, sets); the harness rebuilds the value and compares it with the expected output."""
    if depth > MAX_DEPTH:
        return {"$": "opaque", "repr": "<nested too deeply>"}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()  # a numpy scalar compares like the Python number it holds
        if value is None or isinstance(value, (bool, str)):
            return value
    if isinstance(value, numbers.Integral):
        number = int(value)
        if number.bit_length() > DECIMAL_INT_BITS:
            return {"$": "int", "hex": hex(number)}
        return number
    if isinstance(value, float):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, fractions.Fraction):
        return {"$": "fraction", "v": [encode_value(value.numerator), encode_value(value.denominator)]}
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, list):
        return [encode_value(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [encode_value(item, depth + 1) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$": "set", "v": [encode_value(item, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {
            "$": "dict",
            "v": [[encode_value(k, depth + 1), encode_value(v, depth + 1)] for k, v in value.items()],
        }
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return {"$": "opaque", "repr": text[:300]}


def error_text() -> str:
    """The current exception's traceback from the program's first frame on (the driver's are noise)."""
    kind, error, tb = sys.exc_info()
    while tb is not None and tb.tb_frame.f_code.co_filename != FILENAME:
        tb = tb.tb_next
    try:
        return "".join(traceback.format_exception(kind, error, tb))[-TRACEBACK_CHARS:]
    except Exception:
        return f"{getattr(kind, '__name__', 'error')} (its message cannot be shown)"


def reply(channel: Channel, message: dict[str, Any], output: bytes = b"") -> None:
    head = json.dumps(message).encode()
    channel.send(LENGTH.pack(len(head)) + head + output)


def load(job: dict[str, Any]) -> Any:
    """The callable each test runs: the wrapped stdin program, or the functional method."""
    mode = job["mode"]
    code = job["code"]
    code = wrap_in_function(unwrap_main_guard(code)) if mode == "stdin" else PRELUDE_IMPORTS + "\n\n" + code
    # Tracebacks then show the program's own lines.
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(keepends=True), FILENAME)
    signal.setitimer(signal.ITIMER_REAL, float(job["timeout_s"]))
    try:
        module = types.ModuleType("tmp_sol")
        exec(compile(code, FILENAME, "exec"), module.__dict__)
        owner: Any = module.Solution() if "class Solution" in code else module
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    target = getattr(owner, WRAPPED if mode == "stdin" else job["func_name"], None)
    if target is None:
        raise LookupError(f"the program defines no {job['func_name'] or WRAPPED!r}")
    return target


def run_stdin_test(
    target: Any, text: str, timeout_s: float, output_limit: int
) -> tuple[dict[str, Any], bytes]:
    capture = CapturedOutput(output_limit)
    real_stdout = sys.stdout
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        with StdinPatched(text):
            sys.stdout = capture
            try:
                target()
            except SystemExit:
                pass
            finally:
                sys.stdout = real_stdout
        signal.setitimer(signal.ITIMER_REAL, 0)
    except Exception as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if is_timeout(error):
            return {"status": "timeout"}, b""
        return {"status": "error", "error": error_text()}, b""
    output = capture.getvalue().encode("utf-8", "surrogatepass")
    if capture.exceeded or len(output) > output_limit:
        return {"status": "output_limit"}, b""
    return {"status": "ok"}, output


def run_functional_test(target: Any, text: str, timeout_s: float) -> dict[str, Any]:
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        args = [json.loads(line) for line in text.split("\n")]
        value = target(*args)
        signal.setitimer(signal.ITIMER_REAL, 0)
        if isinstance(value, tuple):
            value = list(value)
        return {"status": "ok", "value": encode_value(value)}
    except Exception as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if is_timeout(error):
            return {"status": "timeout"}
        return {"status": "error", "error": error_text()}


def main(channel: Channel) -> None:
    raw = channel.receive()
    if raw is None:
        return
    job = json.loads(raw)
    del raw
    timeout_s = float(job["timeout_s"])
    output_limit = int(job["output_limit"])
    signal.signal(signal.SIGALRM, _on_alarm)
    disable_destructive_functions()
    try:
        target = load(job)
    except Exception as error:
        event = "load_timeout" if is_timeout(error) else "load_error"
        reply(channel, {"event": event, "error": error_text()})
        return
    reply(channel, {"event": "loaded"})
    while (message := channel.receive()) is not None:
        text = json.loads(message)["input"]
        if job["mode"] == "stdin":
            result, output = run_stdin_test(target, text, timeout_s, output_limit)
            reply(channel, result, output)
        else:
            try:
                reply(channel, run_functional_test(target, text, timeout_s))
            except (TypeError, ValueError, RecursionError):
                reply(channel, {"status": "error", "error": "the returned value cannot be sent back"})
