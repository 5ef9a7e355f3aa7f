"""The sandbox against real attacks: each is contained, grading goes on, and the verdict is the right one.

Attack programs use the `posix` module directly, so they get past the disabled `os` functions that
upstream's grader (and our driver, to match its verdicts) installs: what contains them is the sandbox.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import SandboxError
from harness.sandbox import Isolation, Limits, Sandbox, select_isolation, unsandboxed
from harness.types import Completion, Prompt, Score
from tasks.livecodebench_grading import LiveCodeBenchGrader, ProblemTests
from tests.conftest import REPO
from tests.lcb_support import require_sandbox

SECRET = "sk-test-" + secrets.token_hex(12)
SUM_PROBLEM = ProblemTests(
    public=json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
    private=json.dumps([{"input": "20 22\n", "output": "42\n", "testtype": "stdin"}]),
    testtype="stdin",
    func_name=None,
)
ANSWER = "a, b = map(int, input().split())\nprint(a + b)\n"
ATTACK_LIMITS = Limits(memory_bytes=512 << 20)


@pytest.fixture(scope="module")
def isolation() -> Isolation:
    return require_sandbox()


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it gets."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def processes_named(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == marker:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def gone(marker: str, within_s: float = 3.0) -> bool:
    end = time.monotonic() + within_s
    while processes_named(marker):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def snooping_program(port: int) -> str:
    """Looks for the API key (by its variable's name, so the value never appears in the program) in
    every place a program could find it, and tries the network; prints the right answers only if it
    found nothing."""
    places = ["/root", str(Path.home()), str(REPO), str(REPO / "harness" / "sandbox.py"), "/etc/shadow"]
    return f"""
import os, socket
leaks = []
if 'OPENAI_API_KEY' in os.environ:
    leaks.append('environment')
for pid in [p for p in os.listdir('/proc') if p.isdigit()] + [{os.getpid()}, {os.getppid()}]:
    try:
        if b'OPENAI_API_KEY=' in io.FileIO(f'/proc/{{pid}}/environ').read():
            leaks.append(f'environ of {{pid}}')
    except OSError:
        pass
for place in {places!r}:
    try:
        os.listdir(place) if not place.endswith(('.py', 'shadow')) else io.FileIO(place).read(1)
        leaks.append(place)
    except OSError:
        pass
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=1).close()
    leaks.append('network')
except OSError:
    pass
if leaks:
    print('LEAKED', leaks)
else:
{_indent(ANSWER)}
"""


def _indent(code: str) -> str:
    return "".join("    " + line + "\n" for line in code.splitlines())


def attacks(marker: str, port: int) -> dict[str, tuple[str, str]]:
    """name -> (program, the verdict it must get)."""
    return {
        "infinite_loop": ("while True:\n    pass\n", "time_limit"),
        "memory_bomb": (
            "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n",
            "runtime_error",
        ),
        "one_huge_allocation": ("data = bytearray(8 << 30)\n" + ANSWER, "runtime_error"),
        "fork_bomb": (
            f"import posix\nopen('/proc/self/comm', 'w').write({marker!r})\n"
            "while True:\n    try:\n        posix.fork()\n    except OSError:\n        pass\n",
            "time_limit",
        ),
        "huge_file": (
            "with open('/tmp/huge', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))\n",
            "runtime_error",
        ),
        "fill_dev_shm": (
            "with open('/dev/shm/fill', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))\n",
            "runtime_error",
        ),
        "read_secrets_and_connect": (snooping_program(port), "passed"),
        "kill_the_parent": (
            "import os, posix, signal\n"
            f"for pid in [posix.getppid(), 1, {os.getpid()}, {os.getppid()}] + "
            "[int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != posix.getpid()]:\n"
            "    try:\n        posix.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n" + ANSWER,
            "passed",
        ),
        "daemon_left_behind": (
            "import posix, time\npid = posix.fork()\nif pid == 0:\n    posix.setsid()\n"
            f"    if posix.fork() == 0:\n        open('/proc/self/comm', 'w').write({marker!r})\n"
            "        time.sleep(1000)\n    posix._exit(0)\nposix.waitpid(pid, 0)\n" + ANSWER,
            "passed",
        ),
        "print_100_mb": ("print('x' * (100 << 20))\n", "output_limit"),
        "raw_100_mb_to_stdout": ("import posix\nposix.write(1, b'x' * (100 << 20))\n" + ANSWER, "passed"),
        "after_all_that_a_correct_answer": (ANSWER, "passed"),
    }


def grade_all(
    isolation: Isolation, programs: dict[str, tuple[str, str]], *, workers: int = 2
) -> dict[str, Score]:
    grader = LiveCodeBenchGrader(
        {"sum": SUM_PROBLEM}, isolation, workers=workers, timeout_s=2.0, limits=ATTACK_LIMITS
    )
    prompt = Prompt(messages=[], target="", metadata={"question_id": "sum", "code_is_extracted": True})
    names = list(programs)
    try:
        for index, name in enumerate(names):
            grader.submit((name, index), prompt, Completion(text=programs[name][0]))
        scores = {key[0]: score for key, score in grader.wait()}
    finally:
        grader.close()
    assert not grader.failures
    return scores


def test_attacks_are_contained_and_get_the_right_verdicts(
    isolation: Isolation, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The grading workers inherit the harness's environment, API key included.
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    marker = "lcb" + secrets.token_hex(5)
    programs = attacks(marker, listener.port)
    scores = grade_all(isolation, programs)
    verdicts = {name: scores[name].details["verdict"] for name in programs}
    assert verdicts == {name: expected for name, (_, expected) in programs.items()}
    assert scores["after_all_that_a_correct_answer"].value == 1.0
    assert listener.accepted == 0
    assert gone(marker), "a process started by a sandboxed program outlived its grading"
    assert not Path("/tmp/huge").exists() and not Path("/dev/shm/fill").exists()
    for score in scores.values():
        assert SECRET not in json.dumps(score.model_dump())
    assert "MemoryError" in scores["memory_bomb"].details["message"]
    assert "File too large" in scores["huge_file"].details["message"]
    assert "No space left" in scores["fill_dev_shm"].details["message"] or "File too large" in str(
        scores["fill_dev_shm"].details
    )


def test_the_same_snooping_finds_everything_without_a_sandbox(listener: Listener) -> None:
    """The control for the test above: unsandboxed, the snooping program does see the working tree and
    the network, so a sandbox that leaked would fail it."""
    scores = grade_all(unsandboxed(), {"snoop": (snooping_program(listener.port), "wrong_answer")}, workers=1)
    got = scores["snoop"].details["tests"][0]["got"]
    assert "LEAKED" in got and "network" in got and str(REPO) in got
    end = time.monotonic() + 5
    while listener.accepted == 0 and time.monotonic() < end:
        time.sleep(0.05)
    assert listener.accepted == 1


def observe(sandbox: Sandbox, code: str) -> dict[str, Any]:
    result = sandbox.run([sandbox.python, "-I", "-c", code], limits=Limits(), wall_s=20)
    assert result.returncode == 0, result.stderr_tail
    observed: dict[str, Any] = json.loads(result.stdout)
    return observed


def test_the_sandbox_has_no_view_of_the_host(isolation: Isolation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    code = (
        "import json, os\n"
        "print(json.dumps({'root': sorted(os.listdir('/')), 'env': dict(os.environ), 'uid': os.getuid(),\n"
        "  'etc': os.listdir('/etc'),\n"
        f"  'repo': os.path.exists({str(REPO)!r}),\n"
        "  'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),\n"
        "  'usr_writable': os.access('/usr', os.W_OK), 'tmp_writable': os.access('/tmp', os.W_OK)}))\n"
    )
    seen = observe(Sandbox(isolation), code)
    assert set(seen["root"]) <= {
        "usr",
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "dev",
        "tmp",
        "etc",
    }
    assert seen["etc"] == ["alternatives"]
    assert SECRET not in json.dumps(seen["env"])
    assert seen["repo"] is False and seen["usr_writable"] is False and seen["tmp_writable"] is True
    assert max(seen["pids"]) < 10
    if os.geteuid() == 0:
        assert seen["uid"] != 0


def test_a_flood_of_output_is_cut_off_at_the_limit(isolation: Isolation) -> None:
    sandbox = Sandbox(isolation)
    started = time.monotonic()
    result = sandbox.run(
        [sandbox.python, "-I", "-c", "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"],
        limits=Limits(output_bytes=1 << 20),
        wall_s=30,
    )
    assert result.output_exceeded and not result.timed_out
    assert len(result.stdout) <= 1 << 20
    assert time.monotonic() - started < 10


def test_a_program_that_outlives_its_deadline_is_killed(isolation: Isolation) -> None:
    sandbox = Sandbox(isolation)
    marker = "lcb" + secrets.token_hex(5)
    code = f"open('/proc/self/comm', 'w').write({marker!r})\nwhile True:\n    pass\n"
    result = sandbox.run([sandbox.python, "-I", "-c", code], limits=Limits(), wall_s=1)
    assert result.timed_out and result.signal_name == "SIGKILL"
    assert gone(marker)


def test_untrusted_code_is_refused_without_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    # An interpreter outside /usr cannot be seen from the sandbox: no isolation is available.
    monkeypatch.setenv("HARNESS_SANDBOX_PYTHON", "/opt/elsewhere/python3")
    with pytest.raises(SandboxError, match="--unsandboxed"):
        select_isolation(unsandboxed_ok=False)
    opted_out = select_isolation(unsandboxed_ok=True)
    assert opted_out.level == "none" and "NO ISOLATION" in opted_out.mechanism


def _if_clean(check: str) -> str:
    """A program that runs `check` (which appends to `found` whatever it should not have seen or been
    allowed to do) and prints the right answer only if `found` stays empty."""
    return "found = []\n" + check + "if found:\n    print('FOUND', found)\nelse:\n" + _indent(ANSWER)


# Each call must be refused (EPERM) by the seccomp filter; arguments are harmless if one got through.
DENIED_CALLS = {
    "unshare_user": "libc.unshare(0x10000000)",
    "unshare_mount": "libc.unshare(0x00020000)",
    "clone_new_user": "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)",
    "setns": "libc.setns(0, 0)",
    "mount": "libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)",
    "ptrace": "libc.ptrace(0, 0, 0, 0)",
    "process_vm_readv": "libc.syscall(310, 1, 0, 0, 0, 0, 0)",
    "keyctl": "libc.syscall(250, 0, 0, 0, 0, 0)",
    "bpf": "libc.syscall(321, 0, 0, 0)",
    "perf_event_open": "libc.syscall(298, 0, 0, -1, -1, 0)",
    "userfaultfd": "libc.syscall(323, 0)",
    "io_uring_setup": "libc.syscall(425, 1, 0)",
    "pidfd_getfd": "libc.syscall(438, 0, 0, 0)",
}


def test_the_filter_refuses_what_a_program_has_no_use_for(isolation: Isolation) -> None:
    calls = "".join(
        f"ctypes.set_errno(0)\nif {call} != -1 or ctypes.get_errno() != errno.EPERM:\n"
        f"    found.append(({name!r}, ctypes.get_errno()))\n"
        for name, call in DENIED_CALLS.items()
    )
    check = (
        "import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        + calls
        + "lines = io.FileIO('/proc/self/status').read().decode().splitlines()\n"
        "status = dict(line.split(':', 1) for line in lines)\n"
        "for name, value in (('Seccomp', '2'), ('NoNewPrivs', '1'), ('CapEff', '0' * 16), "
        "('CapBnd', '0' * 16), ('CapPrm', '0' * 16)):\n"
        "    if status[name].strip() != value:\n        found.append((name, status[name].strip()))\n"
    )
    scores = grade_all(isolation, {"denials": (_if_clean(check), "passed")}, workers=1)
    assert isolation.seccomp, "python3-seccomp is missing from the sandbox's interpreter"
    assert scores["denials"].details["verdict"] == "passed", scores["denials"].details


def test_a_forking_memory_bomb_is_capped_in_total(isolation: Isolation) -> None:
    """Four children of 200 MB each would hold 800 MB against a 512 MB cap for the whole program: at no
    moment may more than two of them be alive with their 200 MB (the kernel may kill a child that already
    had its memory, to let another finish; or, without a memory cgroup, none can even start). Swap does
    not help: it is counted against the cap."""
    bomb = (
        "import posix, select, time\n"
        "r, w = posix.pipe()\nchildren = []\n"
        "for index in range(4):\n"
        "    try:\n        pid = posix.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n"
        "        block = bytearray(200 << 20)\n"
        "        for i in range(0, len(block), 4096):\n            block[i] = 1\n"
        "        posix.write(w, bytes([index]))\n        time.sleep(30)\n"
        "    children.append(pid)\n"
        "filled = set()\nend = time.monotonic() + 1.5\n"
        "while len(filled) < len(children) and time.monotonic() < end:\n"
        "    if select.select([r], [], [], 0.1)[0]:\n        filled.update(posix.read(r, 16))\n"
        "alive = {i for i, pid in enumerate(children) if posix.waitpid(pid, posix.WNOHANG) == (0, 0)}\n"
        "if len(filled & alive) * 200 >= 512:\n"
        "    found.append(f'{len(children)} children started, {len(filled & alive)} alive with 200 MB')\n"
    )
    scores = grade_all(isolation, {"forking_memory_bomb": (_if_clean(bomb), "passed")}, workers=1)
    assert scores["forking_memory_bomb"].details["verdict"] == "passed", scores["forking_memory_bomb"].details


def test_nothing_a_program_leaves_behind_reaches_the_next(isolation: Isolation) -> None:
    """One worker grades these in order in one warm sandbox: the second must not see the first's files
    (in /tmp and /dev/shm), processes, IPC objects or environment."""
    marker = "lcb" + secrets.token_hex(5)
    leaver = (
        "import os, posix, time\n"
        "open('/tmp/left', 'w').write('x')\nopen('/dev/shm/left', 'w').write('x')\n"
        "os.environ['LEFT'] = '1'\n"
        "if posix.fork() == 0:\n    posix.setsid()\n"
        f"    open('/proc/self/comm', 'w').write({marker!r})\n    time.sleep(1000)\n" + ANSWER
    )
    check = (
        "import os\n"
        "for path in ('/tmp/left', '/dev/shm/left'):\n"
        "    if os.path.exists(path):\n        found.append(path)\n"
        "if 'LEFT' in os.environ:\n    found.append('environment')\n"
        "others = [p for p in os.listdir('/proc') if p.isdigit() and p != str(os.getpid())]\n"
        "if others:\n    found.append(('processes', others))\n"
        "if open('/proc/sysvipc/shm').read().count('\\n') > 1:\n    found.append('ipc')\n"
    )
    scores = grade_all(
        isolation, {"leaver": (leaver, "passed"), "next": (_if_clean(check), "passed")}, workers=1
    )
    assert scores["next"].details["verdict"] == "passed", scores["next"].details
    assert gone(marker)


def test_the_result_channel_is_out_of_the_programs_reach(isolation: Isolation) -> None:
    """The program's descriptors are /dev/null and its own two pipes; it sees no other process (so not
    the server, whose descriptors reach the harness)."""
    check = (
        "import os\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n        target = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n        continue\n"
        "    own_pipe = 3 <= int(fd) <= 4 and target.startswith('pipe:')\n"
        "    if not (own_pipe or target == '/dev/null' or target.startswith('/proc')):\n"
        "        found.append((fd, target))\n"
        "if os.getpid() != 1 or sorted(p for p in os.listdir('/proc') if p.isdigit()) != ['1']:\n"
        "    found.append('processes')\n"
    )
    scores = grade_all(isolation, {"channel": (_if_clean(check), "passed")}, workers=1)
    assert scores["channel"].details["verdict"] == "passed", scores["channel"].details
