"""Runs one candidate program against test inputs, the way LiveCodeBench's grader runs it.

This file is executed inside the sandbox by the system interpreter (`python3 -I -c <this source>`), so
it uses the standard library only and never imports the harness. It follows upstream's
`lcb_runner/evaluation/testing_util.py`:

- stdin programs: a trailing `if __name__ == '__main__':` block is unwrapped, the imports are hoisted
  and everything else becomes the body of a function, preceded by upstream's prelude of star imports
  and `sys.setrecursionlimit(50000)`. Each test calls that function with `sys.stdin` replaced by a
  string buffer holding the input, `open()` returning the input, and `sys.stdout` captured.
- functional (LeetCode) programs: the prelude plus the code is executed; when the code defines
  `class Solution`, one instance is created and `<instance>.<func_name>(*args)` is called per test,
  else `<func_name>` is looked up in the module (where the prelude's star imports also live).
- As upstream, a stdin program whose text contains `class Solution` fails to load (upstream tries to
  instantiate the class, which the wrapping has moved into a function).
- Upstream's guard against destructive calls is applied before the program loads (`exit`, `quit`,
  `os.kill`, `os.system`, `subprocess.Popen`, ... are set to None), so a program that calls `exit()`
  fails here as it does there.
- Per-test timeout by SIGALRM, like upstream; the harness enforces its own deadline as well, since a
  program can block or swallow the alarm.

Protocol (one JSON object per line): the harness sends `{"mode", "code", "func_name", "timeout_s",
"output_limit"}`; the driver answers `{"event": "loaded"}` or `{"event": "load_error" | "load_timeout",
"error"}`. Then for each test the harness sends `{"input": str}` (stdin) or `{"args": list}`
(functional) and the driver answers `{"status": "ok", "output" | "value", "time_s"}`, `{"status":
"timeout"}`, `{"status": "error", "error"}` or `{"status": "output_limit"}`. Expected outputs never
enter the sandbox: the harness compares.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import decimal
import fractions
import io
import json
import linecache
import numbers
import os
import signal
import sys
import time
import traceback
import types
from typing import Any

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
WRAPPED = "wrapped_function"
FILENAME = "<solution>"
TRACEBACK_CHARS = 2000
MAX_DEPTH = 200


class TimeoutException(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise TimeoutException


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
    """Upstream's `reliability_guard()` (it says itself that it is not a security sandbox)."""
    import shutil
    import subprocess

    os.environ["OMP_NUM_THREADS"] = "1"
    builtins.exit = None  # type: ignore[assignment]
    builtins.quit = None  # type: ignore[assignment]
    for name in (
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
    ):
        setattr(os, name, None)
    shutil.rmtree = None  # type: ignore[assignment]
    shutil.move = None  # type: ignore[assignment]
    shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment,misc]
    builtins.help = None  # type: ignore[assignment]
    for module in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[module] = None  # type: ignore[assignment]


class CapturedOutput(io.StringIO):
    """Upstream captures print() in a StringIO; this one stops storing past `limit` characters."""

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


def encode_value(value: Any, depth: int = 0) -> Any:
    """A JSON form of a returned value that keeps what Python's == distinguishes (tuple vs list, dict
    key types, sets); the harness rebuilds the value and compares it with the expected output."""
    if depth > MAX_DEPTH:
        return {"$": "opaque", "repr": "<nested too deeply>"}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, fractions.Fraction):
        return {"$": "fraction", "v": [value.numerator, value.denominator]}
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
    return "".join(traceback.format_exception(kind, error, tb))[-TRACEBACK_CHARS:]


def main() -> None:
    channel_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    channel_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # What the program writes to the real stdin/stdout descriptors never touches the protocol; upstream
    # compares only what print() writes to sys.stdout.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    real_stdout = sys.stdout
    real_open = builtins.open

    def reply(message: dict[str, Any]) -> None:
        channel_out.write(json.dumps(message) + "\n")
        channel_out.flush()

    header = json.loads(channel_in.readline())
    mode = header["mode"]
    timeout_s = float(header["timeout_s"])
    output_limit = int(header["output_limit"])
    code = header["code"]
    signal.signal(signal.SIGALRM, _on_alarm)
    disable_destructive_functions()

    code = wrap_in_function(unwrap_main_guard(code)) if mode == "stdin" else PRELUDE_IMPORTS + "\n\n" + code
    # Tracebacks then show the program's own lines.
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(keepends=True), FILENAME)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        module = types.ModuleType("tmp_sol")
        exec(compile(code, FILENAME, "exec"), module.__dict__)
        if mode == "stdin":
            if "class Solution" in code:
                # Upstream instantiates `Solution` whenever the text defines it, also for stdin
                # programs, where the class lives inside the wrapper function: such programs fail.
                module.Solution()
            target: Any = getattr(module, WRAPPED)
        else:
            owner: Any = module.Solution() if "class Solution" in code else module
            target = getattr(owner, header["func_name"], None)
            if target is None:
                signal.setitimer(signal.ITIMER_REAL, 0)
                reply({"event": "load_error", "error": f"the program defines no {header['func_name']!r}"})
                return
        signal.setitimer(signal.ITIMER_REAL, 0)
    except TimeoutException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        reply({"event": "load_timeout", "error": "timed out while loading the program"})
        return
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        reply({"event": "load_error", "error": error_text()})
        return
    reply({"event": "loaded"})

    for line in channel_in:
        message = json.loads(line)
        if message.get("stop"):
            return
        capture = CapturedOutput(output_limit)
        if mode == "stdin":
            text = message["input"]
            sys.stdin = io.StringIO(text)
            builtins.open = lambda *args, _text=text, **kwargs: io.StringIO(_text)  # type: ignore[assignment]
            sys.stdout = capture
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        result: dict[str, Any]
        try:
            if mode == "stdin":
                with contextlib.suppress(SystemExit):
                    target()
                value = None
            else:
                value = target(*message["args"])
            signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - started
            if capture.exceeded:
                result = {"status": "output_limit"}
            elif mode == "stdin":
                result = {"status": "ok", "output": capture.getvalue(), "time_s": elapsed}
            else:
                if isinstance(value, tuple):
                    value = list(value)
                result = {"status": "ok", "value": encode_value(value), "time_s": elapsed}
        except TimeoutException:
            signal.setitimer(signal.ITIMER_REAL, 0)
            result = {"status": "timeout"}
        except BaseException:
            signal.setitimer(signal.ITIMER_REAL, 0)
            result = {"status": "error", "error": error_text()}
        finally:
            sys.stdout = real_stdout
            builtins.open = real_open
        reply(result)


if __name__ == "__main__":
    main()
