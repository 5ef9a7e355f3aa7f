"""Isolated execution of untrusted programs (model-generated code).

Isolation levels, strongest first:

- `bwrap`: bubblewrap with every namespace unshared (user, pid, network, ipc, uts, cgroup, mount) and
  nested user namespaces disabled. The program sees a read-only `/usr` (with the `/bin`, `/lib` links),
  a `/proc` of its own pid namespace, a minimal `/dev`, and private size-limited tmpfs mounts on `/tmp`
  and `/dev/shm`; nothing of the caller's files, home or environment. There is no network at all (a new
  network namespace has only a loopback device that is down). When the harness runs as root, bubblewrap
  is started as an unprivileged uid (root ignores RLIMIT_NPROC, so a fork bomb would not be bounded
  otherwise).
- `none`: no isolation, only with an explicit opt-out (`--unsandboxed`): the program runs with the same
  resource limits and seccomp filter, a clean environment, a private working directory and (as root)
  an unprivileged uid, but it can read world-readable files and use the network.

Graded programs run in a warm sandbox (`ProgramServer`): one bubblewrap sandbox per grading worker holds
a fork server (harness/sandbox_server.py) with the interpreter loaded and the usual modules imported,
and forks a fresh process per program. That is as safe as a fresh sandbox per program, because what a
program could have left behind does not outlive it:
- processes: each program is pid 1 of a pid namespace of its own; killing it at the end kills every
  process it started, and it sees (in its own `/proc`) no process but its own, never the server;
- files: each program gets new tmpfs mounts on `/tmp` and `/dev/shm` in a mount namespace of its own,
  gone with its last process; everything else it can see is read-only;
- IPC objects: a new IPC namespace per program;
- environment and memory: every program is forked from the server's state from before any program
  ran; the server relays programs, inputs and outputs without decoding them, through buffers it zeroes
  after use, and never runs program code itself;
- the result channel: the program's process holds only its own two pipes to the server (its standard
  descriptors are /dev/null); what it writes there is relayed to the harness as that program's output
  and parsed defensively, so it can fail its own grade but cannot speak for the server.

Each program's process, before running program code, sets its resource limits (CPU seconds, address
space per process, processes, file size, open files, no core dumps), `no_new_privs`, drops every
capability, and installs a seccomp filter (libseccomp, through Debian's `python3-seccomp`) that refuses
`ptrace`, `process_vm_*`, `pidfd_getfd`, new namespaces (`unshare`, `setns`, `clone` with namespace
flags), `mount` and the new mount API, `keyctl`, `bpf`, `perf_event_open`, `userfaultfd`, `io_uring`,
module loading, `kexec`, `reboot` and clock changes. The memory of a program, all its processes
together, is capped by a memory cgroup where the harness can create one (cgroup v1 memory controller,
as root); elsewhere the filter also refuses new processes (threads are allowed), so the address-space
limit bounds everything the program holds; without libseccomp, a program may not start a process or a
thread at all. `Isolation` records which of these are in force.

One-off programs (`Sandbox.run`, used by the probe and the tests) get a fresh bubblewrap sandbox with
the limits applied by util-linux `prlimit` as the first program inside it.

`probe()` finds the strongest level that works on this machine by running real programs in it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import SandboxError

DEFAULT_PYTHON = "/usr/bin/python3"
PYTHON_ENV = "HARNESS_SANDBOX_PYTHON"
SANDBOX_UID = 65534
SANDBOX_GID = 65534
PR_SET_CHILD_SUBREAPER = 36
STDERR_TAIL_BYTES = 4096
# Host paths that are symbolic links into /usr on merged-/usr systems, or real directories on others.
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
# One BLAS thread: numpy in a program must not start a thread pool (threads count against its limits).
SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SERVER_SOURCE = (Path(__file__).with_name("sandbox_server.py")).read_text(encoding="utf-8")
SERVER_START_S = 60.0
END_GRACE_S = 2.0
CGROUP_MOUNT = "/run/harness-cgroup"
CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
INT_MAX_STR_DIGITS = 50_000
FRAME = struct.Struct(">cI")
WALL = struct.Struct(">d")
LENGTH = struct.Struct(">I")

IsolationLevel = Literal["bwrap", "none"]
MemoryCap = Literal["cgroup", "single-process", "single-task"]
MEMORY_CAPS: dict[str, str] = {
    "cgroup": "a memory cgroup per program (all its processes together)",
    "single-process": "one process per program (seccomp refuses new processes; threads allowed), "
    "so the address-space limit bounds it",
    "single-task": "one task per program (no processes or threads: RLIMIT_NPROC), so the "
    "address-space limit bounds it",
}


class Limits(BaseModel):
    """Resource limits for one sandboxed program (all of its processes together where noted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_s: int = Field(default=60, ge=1, description="CPU seconds per process (RLIMIT_CPU)")
    memory_bytes: int = Field(
        default=4 << 30,
        ge=64 << 20,
        description="memory of all the program's processes together (cgroup), and address space per process",
    )
    processes: int = Field(default=32, ge=4, description="processes and threads of the program")
    file_size_bytes: int = Field(default=16 << 20, ge=0, description="largest file it may write")
    open_files: int = Field(default=64, ge=16, description="open file descriptors")
    tmp_bytes: int = Field(default=64 << 20, ge=1 << 20, description="size of the private /tmp")
    shm_bytes: int = Field(default=16 << 20, ge=1 << 20, description="size of the private /dev/shm")
    output_bytes: int = Field(default=64 << 20, ge=1 << 10, description="output the harness reads per reply")


class Isolation(BaseModel):
    """Which isolation is in force; recorded in run.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: IsolationLevel
    mechanism: str
    python: str
    uid: int | None = None
    bwrap_version: str | None = None
    namespaces: tuple[str, ...] = ()
    seccomp: bool = False
    memory_cap: MemoryCap = "single-task"
    # Third-party modules a program can import (numpy, as in upstream's grading environment).
    importable: tuple[str, ...] = ()

    @property
    def protections(self) -> list[str]:
        found = []
        if self.namespaces:
            found.append("namespaces: " + ", ".join(self.namespaces) + "; no nested user namespaces")
        found.append("seccomp filter" if self.seccomp else "no seccomp filter (python3-seccomp missing)")
        found.append("memory: " + MEMORY_CAPS[self.memory_cap])
        return found


def sandbox_python() -> str:
    return os.environ.get(PYTHON_ENV, DEFAULT_PYTHON)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (so they are reaped here, not by a slow init). Linux only."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may itself contain spaces or parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """All processes below `pid`, found by following parent links in /proc."""
    children = _children_map()
    found: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return found


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def reap_adopted() -> None:
    """Kill and reap whatever this (subreaper) process adopted. Only for dedicated worker processes:
    it waits for any child, so it must not run where other code owns child processes."""
    _kill(descendants(os.getpid()))
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@dataclass
class Exit:
    """How a sandboxed program ended."""

    returncode: int | None
    stderr_tail: str
    output_exceeded: bool = False
    killed: bool = False

    @property
    def signal_name(self) -> str | None:
        return signal_name(self.returncode)


def signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


@dataclass
class SandboxedProcess:
    """A running program: write to its stdin, read its stdout (lines or exact sizes), with deadlines.

    Everything is non-blocking, so a program that stops reading its input or floods its output can
    never stall the harness; stderr is drained continuously and only its tail is kept. `output_cap`
    bounds the stdout buffered at a time (and, with `cap_total`, all it may ever write).
    """

    popen: subprocess.Popen[bytes]
    limits: Limits
    workdir: Path | None = None
    subreaper: bool = False
    cap_total: bool = True
    _selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    _to_send: bytearray = field(default_factory=bytearray)
    _stdout: bytearray = field(default_factory=bytearray)
    _stderr: bytearray = field(default_factory=bytearray)
    _stdout_total: int = 0
    _stdout_eof: bool = False
    _close_after_send: bool = False
    output_exceeded: bool = False
    _killed: bool = False
    _exit: Exit | None = None
    _pidfd: int | None = None

    def __post_init__(self) -> None:
        assert self.popen.stdin and self.popen.stdout and self.popen.stderr
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            os.set_blocking(stream.fileno(), False)
        self._selector.register(self.popen.stdout, selectors.EVENT_READ, "stdout")
        self._selector.register(self.popen.stderr, selectors.EVENT_READ, "stderr")
        # A pidfd becomes readable when the program exits, so waiting for the exit needs no polling.
        try:
            self._pidfd = os.pidfd_open(self.popen.pid)
        except (AttributeError, OSError):
            self._pidfd = None
        else:
            self._selector.register(self._pidfd, selectors.EVENT_READ, "exit")

    def send(self, data: bytes) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        if stdin.closed:
            return
        self._to_send.extend(data)
        with contextlib.suppress(KeyError):
            self._selector.unregister(stdin)
        self._selector.register(stdin, selectors.EVENT_WRITE, "stdin")

    def close_input(self) -> None:
        """Close the program's stdin once everything sent so far is written."""
        self._close_after_send = True
        if not self._to_send:
            self._close_stdin()

    def _close_stdin(self) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(stdin)
        with contextlib.suppress(OSError):
            stdin.close()

    @property
    def pending_output(self) -> bytes:
        """Stdout received but not yet returned as a line."""
        return bytes(self._stdout)

    @property
    def output_ended(self) -> bool:
        return self._stdout_eof

    def read_line(self, deadline: float) -> bytes | None:
        """The next line of stdout (without its newline); None at the deadline or end of output."""
        while True:
            newline = self._stdout.find(b"\n")
            if newline != -1:
                line = bytes(self._stdout[:newline])
                del self._stdout[: newline + 1]
                return line
            if not self._wait_for_output(deadline):
                return None

    def read_exact(self, size: int, deadline: float) -> bytes | None:
        """Exactly `size` bytes of stdout; None at the deadline or end of output (nothing consumed)."""
        while len(self._stdout) < size:
            if not self._wait_for_output(deadline):
                return None
        data = bytes(self._stdout[:size])
        del self._stdout[:size]
        return data

    def _wait_for_output(self, deadline: float) -> bool:
        """Wait for more stdout; False at the deadline or when no more can come."""
        if self._stdout_eof or self.output_exceeded:
            return False
        if self.popen.poll() is not None:
            # Exited: take what is already in the pipes, but never wait for an end of output that a
            # process left behind could hold off forever.
            return self._pump(0) > 0
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._pump(min(remaining, 0.05))
        return True

    def _pump(self, timeout: float) -> int:
        """Move data between the pipes and the buffers; returns the number of bytes read."""
        received = 0
        for key, _ in self._selector.select(timeout):
            stream = key.fileobj
            if key.data == "exit":
                self._selector.unregister(stream)
                continue
            if key.data == "stdin":
                self._write_some()
                continue
            try:
                chunk = os.read(key.fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._selector.unregister(stream)
                if key.data == "stdout":
                    self._stdout_eof = True
                continue
            received += len(chunk)
            if key.data == "stderr":
                self._stderr.extend(chunk)
                del self._stderr[:-STDERR_TAIL_BYTES]
            else:
                self._stdout_total += len(chunk)
                held = self._stdout_total if self.cap_total else len(self._stdout) + len(chunk)
                if held > self.limits.output_bytes:
                    self.output_exceeded = True
                    self.kill()
                    return received
                self._stdout.extend(chunk)
        return received

    def _write_some(self) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        try:
            written = os.write(stdin.fileno(), self._to_send[: 1 << 16])
        except BlockingIOError:
            return
        except (BrokenPipeError, OSError):
            self._to_send.clear()
            written = 0
        del self._to_send[:written]
        if not self._to_send:
            if self._close_after_send:
                self._close_stdin()
            else:
                with contextlib.suppress(KeyError):
                    self._selector.unregister(stdin)

    def flush(self, deadline: float) -> bool:
        """Write everything sent so far (a peer that does not read would otherwise stall it)."""
        while self._to_send:
            if self.popen.poll() is not None or time.monotonic() >= deadline:
                return False
            self._pump(min(0.05, max(0.0, deadline - time.monotonic())))
        return True

    @property
    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def kill(self) -> None:
        """Kill the program and everything it started, at once."""
        self._killed = True
        below = descendants(self.popen.pid)
        _kill(below)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        _kill([self.popen.pid])

    def finish(self, grace_s: float = 0.5) -> Exit:
        """Close stdin, give the program `grace_s` to exit, then kill what is left; never waits for
        output to end (a process left behind may hold the pipe open). Safe to call again."""
        if self._exit is not None:
            return self._exit
        self._close_stdin()
        end = time.monotonic() + grace_s
        while self.popen.poll() is None and time.monotonic() < end:
            self._pump(max(0.0, end - time.monotonic()) if self._pidfd is not None else 0.01)
        if self.popen.poll() is None:
            self.kill()
        else:
            # The program is gone but something it started may live on (outside a pid namespace).
            _kill(descendants(self.popen.pid))
        returncode = self.popen.wait()
        with contextlib.suppress(Exception):
            self._pump(0)
        self._selector.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()
        if self.subreaper:
            reap_adopted()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._exit = Exit(
            returncode=returncode,
            stderr_tail=self.stderr_tail,
            output_exceeded=self.output_exceeded,
            killed=self._killed,
        )
        return self._exit


@dataclass
class ProgramResult:
    """What `Sandbox.run` saw of a program that ran to completion, a deadline or the output limit."""

    returncode: int | None
    stdout: bytes
    stderr_tail: str
    timed_out: bool
    output_exceeded: bool
    wall_s: float

    @property
    def signal_name(self) -> str | None:
        return signal_name(self.returncode)


def _limit_args(limits: Limits) -> list[str]:
    return [
        "/usr/bin/prlimit",
        f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


NAMESPACES = ("user", "pid", "network", "ipc", "uts", "cgroup", "mount")


def _bwrap_args(limits: Limits, *, server: bool = False, cgroup: Path | None = None) -> list[str]:
    args = ["bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup", "--disable-userns", "--die-with-parent", "--new-session"]
    args += ["--hostname", "sandbox"]
    if server:
        # The fork server makes each program's namespaces and mounts; the program drops these itself.
        args += ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
    args += ["--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    # Debian's alternatives are symbolic links there (numpy finds its BLAS library through them).
    args += ["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    # `--dev` gives an unbounded /dev/shm; a size-limited tmpfs goes over it.
    args += ["--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm"]
    if cgroup is not None:
        args += ["--dir", "/run", "--bind", str(cgroup), CGROUP_MOUNT]
    args += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for name, value in {**CLEAN_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
        args += ["--setenv", name, value]
    return [*args, "--"]


def _user_kwargs() -> dict[str, Any]:
    if os.geteuid() == 0:
        return {"user": SANDBOX_UID, "group": SANDBOX_GID, "extra_groups": []}
    return {}


def _popen(command: list[str], env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            close_fds=True,
            start_new_session=True,
            **_user_kwargs(),
        )
    except OSError as exc:
        raise SandboxError(f"cannot start a sandboxed program ({command[0]}): {exc}") from exc


# Memory cgroups ---------------------------------------------------------------------------------------

_cgroup_counter = 0
_cgroup_lock = threading.Lock()


def _own_memory_cgroup() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return CGROUP_ROOT / path.lstrip("/")
    return None


class MemoryCgroup:
    """A cgroup v1 memory cgroup below the harness's own, capping the programs of one warm sandbox
    (one program at a time); the sandbox's uid may only move processes into it."""

    PREFIX = "harness-sandbox-"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limit_bytes: int, owner: int | None) -> MemoryCgroup | None:
        """None where memory cgroups cannot be made here (not root, cgroup v2 without delegation)."""
        global _cgroup_counter
        parent = _own_memory_cgroup()
        if parent is None or not os.access(parent, os.W_OK):
            return None
        _remove_stale(parent)
        with _cgroup_lock:
            _cgroup_counter += 1
            path = parent / f"{cls.PREFIX}{os.getpid()}-{_cgroup_counter}"
        try:
            path.mkdir()
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            swap = path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit_bytes))
            if owner is not None:
                for name in ("cgroup.procs", "tasks"):
                    os.chown(path / name, owner, owner)
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def oom_kills(self) -> int:
        try:
            for line in (self.path / "memory.oom_control").read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
            return int((self.path / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


def _remove_stale(parent: Path) -> None:
    """Cgroups left by harness processes that were killed (empty once their processes are gone)."""
    with contextlib.suppress(OSError):
        for child in parent.glob(f"{MemoryCgroup.PREFIX}*"):
            owner = child.name.removeprefix(MemoryCgroup.PREFIX).split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    child.rmdir()


# The warm sandbox --------------------------------------------------------------------------------------


@dataclass
class ProgramFrame:
    """A frame the program sent, and the wall time since the server gave it the last input."""

    body: bytes
    wall_s: float


@dataclass
class ProgramEnd:
    """How a program's process ended. `status` is its exit code or minus its signal number, None
    when the sandbox itself had to be stopped."""

    status: int | None
    oversized: bool = False
    memory_exceeded: bool = False
    detail: str = ""

    @property
    def signal_name(self) -> str | None:
        return signal_name(self.status)


class ProgramServer:
    """A warm sandbox: a fork server that runs `program_main` (source defining `main(channel)`) in a
    fresh, isolated process per program. Started on first use; restarted if it ever fails."""

    def __init__(
        self,
        isolation: Isolation,
        limits: Limits,
        program_main: str,
        preload: Sequence[str] = (),
    ) -> None:
        self.isolation = isolation
        self.limits = limits
        self.program_main = program_main
        self.preload = tuple(preload)
        self.ready: dict[str, Any] = {}
        self._process: SandboxedProcess | None = None
        self._cgroup: MemoryCgroup | None = None
        self._oom_before = 0
        self._ended: ProgramEnd | None = None
        self._finalizer = weakref.finalize(self, _stop_server, None, None)
        self._finalizer.detach()

    @property
    def memory_cap(self) -> MemoryCap:
        cap = self.ready.get("memory_cap", "single-task")
        return cap if cap in MEMORY_CAPS else "single-task"

    def _start(self) -> SandboxedProcess:
        if self._process is not None and self._process.popen.poll() is None:
            return self._process
        self.close()
        namespaces = self.isolation.level == "bwrap"
        owner = SANDBOX_UID if os.geteuid() == 0 else None
        self._cgroup = MemoryCgroup.create(self.limits.memory_bytes, owner) if namespaces else None
        server = [self.isolation.python, "-I", "-c", SERVER_SOURCE]
        env = {**CLEAN_ENV, **SERVER_ENV}
        if namespaces:
            cgroup = self._cgroup.path if self._cgroup else None
            command = [*_bwrap_args(self.limits, server=True, cgroup=cgroup), *server]
            cwd = "/"
        else:
            setpriv = "/usr/bin/setpriv"
            guard = [setpriv, "--pdeathsig", "KILL", "--"] if os.path.exists(setpriv) else []
            command = [*guard, *server]
            env |= {"HOME": tempfile.gettempdir(), "TMPDIR": tempfile.gettempdir()}
            cwd = tempfile.gettempdir()
        process = SandboxedProcess(_popen(command, env, cwd), self.limits, cap_total=False)
        self._process = process
        self._finalizer = weakref.finalize(self, _stop_server, process, self._cgroup)
        config = {
            "program_main": self.program_main,
            "preload": list(self.preload),
            "namespaces": namespaces,
            "cgroup": self._cgroup is not None,
            "seccomp": True,
            "limits": self.limits.model_dump(),
            "max_frame_bytes": self.limits.output_bytes,
            "environment": {**CLEAN_ENV, **SERVER_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}
            if namespaces
            else {},
            "int_max_str_digits": INT_MAX_STR_DIGITS,
        }
        self._send(b"C", json.dumps(config).encode())
        kind, body = self._read_frame(time.monotonic() + SERVER_START_S)
        if kind != b"Y":
            detail = body.decode("utf-8", "replace") if kind == b"X" else process.stderr_tail.strip()
            self.close()
            raise SandboxError(f"the sandbox's fork server did not start: {detail or 'no answer'}")
        self.ready = json.loads(body)
        return process

    def _send(self, kind: bytes, body: bytes) -> None:
        assert self._process is not None
        self._process.send(FRAME.pack(kind, len(body)) + body)

    def _read_frame(self, deadline: float) -> tuple[bytes | None, bytes]:
        """The server's next frame; (None, b"") at the deadline; raises if the server is gone."""
        process = self._process
        assert process is not None
        header = process.read_exact(FRAME.size, deadline)
        if header is None:
            self._check_alive()
            return None, b""
        kind, size = FRAME.unpack(header)
        body = process.read_exact(size, max(deadline, time.monotonic() + END_GRACE_S))
        if body is None:
            self._check_alive()
            self.close()
            raise SandboxError("the sandbox's fork server sent an incomplete frame")
        return kind, body

    def _check_alive(self) -> None:
        process = self._process
        if process is not None and (process.popen.poll() is not None or process.output_ended):
            tail = process.stderr_tail.strip()[-1000:]
            self.close()
            raise SandboxError("the sandbox's fork server stopped" + (f": {tail}" if tail else ""))

    def start_program(self, payload: bytes, *, cpu_s: int) -> None:
        """Fork a fresh program process; `payload` is its first frame."""
        self._start()
        if self._cgroup is not None:
            self._oom_before = self._cgroup.oom_kills()
        header = json.dumps({"cpu_s": cpu_s}).encode()
        self._send(b"R", LENGTH.pack(len(header)) + header + payload)
        self._ended = None

    def send(self, body: bytes) -> None:
        self._send(b"I", body)

    def receive(self, deadline: float) -> ProgramFrame | ProgramEnd | None:
        """The program's next frame, or how it ended; None at the deadline (it is still running)."""
        kind, body = self._read_frame(deadline)
        if kind is None:
            return None
        if kind == b"O" and len(body) >= WALL.size:
            return ProgramFrame(body[WALL.size :], WALL.unpack_from(body)[0])
        if kind == b"E":
            return self._end_from(body)
        if kind == b"X":
            raise SandboxError(f"the sandbox could not run the program: {body.decode('utf-8', 'replace')}")
        self.close()
        raise SandboxError(f"the sandbox's fork server sent an unexpected frame {kind!r}")

    def _end_from(self, body: bytes) -> ProgramEnd:
        message = json.loads(body)
        exceeded = self._cgroup is not None and self._cgroup.oom_kills() > self._oom_before
        self._ended = ProgramEnd(
            status=int(message["status"]), oversized=bool(message["oversized"]), memory_exceeded=exceeded
        )
        return self._ended

    def end_program(self) -> ProgramEnd:
        """Kill the program (everything it started goes with it) and say how it ended."""
        if self._ended is not None:
            return self._ended
        if self._process is None:
            return ProgramEnd(None, detail="the sandbox is not running")
        self._send(b"K", b"")
        deadline = time.monotonic() + END_GRACE_S
        while True:
            try:
                kind, body = self._read_frame(deadline)
            except SandboxError as exc:
                return ProgramEnd(None, detail=str(exc))
            if kind is None:
                self.close()
                self._ended = ProgramEnd(None, detail="the sandbox did not end the program; it was stopped")
                return self._ended
            if kind == b"E":
                return self._end_from(body)
            # Frames the program sent before it was ended are of no use any more.

    def close(self) -> None:
        process, cgroup = self._process, self._cgroup
        self._process = self._cgroup = None
        self._finalizer.detach()
        _stop_server(process, cgroup)


def _stop_server(process: SandboxedProcess | None, cgroup: MemoryCgroup | None) -> None:
    if process is not None:
        process.finish(grace_s=0.0)
    if cgroup is not None:
        cgroup.remove()


class Sandbox:
    """Starts programs at a given isolation level (see the module docstring): one-off programs with
    `run`/`spawn`, graded programs through a warm `server`."""

    def __init__(self, isolation: Isolation, *, subreaper: bool = False) -> None:
        self.isolation = isolation
        self.subreaper = subreaper
        self._servers: dict[tuple[str, Limits, tuple[str, ...]], ProgramServer] = {}

    @property
    def python(self) -> str:
        return self.isolation.python

    def server(self, program_main: str, limits: Limits, preload: Sequence[str] = ()) -> ProgramServer:
        """The warm sandbox for this program main and these limits (started on first use)."""
        key = (program_main, limits, tuple(preload))
        server = self._servers.get(key)
        if server is None:
            server = self._servers[key] = ProgramServer(self.isolation, limits, program_main, preload)
        return server

    def close(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.close()

    def spawn(self, argv: Sequence[str], limits: Limits) -> SandboxedProcess:
        workdir: Path | None = None
        if self.isolation.level == "bwrap":
            command = [*_bwrap_args(limits), *_limit_args(limits), *argv]
            env = dict(CLEAN_ENV)
            cwd = "/"
        else:
            workdir = Path(tempfile.mkdtemp(prefix="harness-unsandboxed-"))
            if os.geteuid() == 0:
                os.chown(workdir, SANDBOX_UID, SANDBOX_GID)
            # Without a pid namespace, a parent-death signal is what stops the program if the harness
            # process dies first.
            setpriv = "/usr/bin/setpriv"
            guard = [setpriv, "--pdeathsig", "KILL", "--"] if os.path.exists(setpriv) else []
            command = [*guard, *_limit_args(limits), *argv]
            env = {**CLEAN_ENV, "HOME": str(workdir), "TMPDIR": str(workdir)}
            cwd = str(workdir)
        try:
            popen = _popen(command, env, cwd)
        except SandboxError:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return SandboxedProcess(popen, limits, workdir=workdir, subreaper=self.subreaper)

    def run(self, argv: Sequence[str], *, limits: Limits, wall_s: float, stdin: bytes = b"") -> ProgramResult:
        """Run a program to completion (or until `wall_s`), collecting its stdout."""
        started = time.monotonic()
        process = self.spawn(argv, limits)
        process.send(stdin)
        process.close_input()
        deadline = started + wall_s
        chunks: list[bytes] = []
        while (line := process.read_line(deadline)) is not None:
            chunks.append(line + b"\n")
        chunks.append(process.pending_output)
        timed_out = time.monotonic() >= deadline and process.popen.poll() is None
        exit_ = process.finish(grace_s=0.0 if timed_out else 0.5)
        return ProgramResult(
            returncode=exit_.returncode,
            stdout=b"".join(chunks),
            stderr_tail=exit_.stderr_tail,
            timed_out=timed_out,
            output_exceeded=exit_.output_exceeded,
            wall_s=time.monotonic() - started,
        )


PROBE_PROGRAM = "import sys; print('sandbox-ok', sys.version_info[0], sys.version_info[1])"
# Run in the warm sandbox: reports what a graded program's process actually gets.
PROBE_MAIN = """
import json, os
def main(channel):
    with open('/proc/self/status') as handle:
        lines = handle.read().splitlines()
    status = dict(line.split(':\\t', 1) for line in lines if ':\\t' in line)
    importable = []
    for name in %r:
        try:
            __import__(name)
            importable.append(name)
        except Exception:
            pass
    channel.send(json.dumps({'pid': os.getpid(), 'seccomp': status.get('Seccomp', '').strip(),
        'caps': status.get('CapEff', '').strip(), 'uid': os.getuid(), 'importable': importable}).encode())
"""
THIRD_PARTY = ("numpy",)
PROBE_MAIN %= (THIRD_PARTY,)


def _bwrap_version() -> str | None:
    try:
        out = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().removeprefix("bubblewrap ") or None


def probe(python: str | None = None) -> Isolation:
    """The strongest isolation that works here, checked by running real programs in it (once per
    interpreter and process). Raises SandboxError explaining what is missing when none works."""
    return _probe(python or sandbox_python())


def _warm_check(isolation: Isolation) -> Isolation:
    """Run one program in a warm sandbox and record the protections it really got."""
    server = ProgramServer(isolation, Limits(), PROBE_MAIN)
    try:
        server.start_program(b"", cpu_s=30)
        reply = server.receive(time.monotonic() + 30)
        server.end_program()
    finally:
        server.close()
    if not isinstance(reply, ProgramFrame):
        raise SandboxError(f"a program in the warm sandbox did not answer ({reply})")
    seen = json.loads(reply.body)
    seccomp = seen["seccomp"] == "2" and bool(server.ready.get("seccomp"))
    if isolation.level == "bwrap" and (seen["pid"] != 1 or int(seen["caps"], 16) != 0):
        raise SandboxError(f"a program in the warm sandbox is not isolated as it must be: {seen}")
    return isolation.model_copy(
        update={
            "seccomp": seccomp,
            "memory_cap": server.memory_cap,
            "importable": tuple(seen["importable"]),
        }
    )


@cache
def _probe(python: str) -> Isolation:
    uid = SANDBOX_UID if os.geteuid() == 0 else os.geteuid()
    problems = []
    if shutil.which("prlimit") is None or not os.path.exists("/usr/bin/prlimit"):
        problems.append(
            "util-linux `prlimit` is not at /usr/bin/prlimit (Debian: apt-get install util-linux)"
        )
    if not python.startswith("/usr/"):
        problems.append(
            f"the sandbox interpreter {python} is not under /usr, the only host tree the sandbox can see "
            f"(set {PYTHON_ENV} to a system Python such as /usr/bin/python3)"
        )
    version = _bwrap_version()
    if version is None:
        problems.append("bubblewrap is not installed (Debian: apt-get install bubblewrap)")
    if problems:
        raise SandboxError("no sandbox available: " + "; ".join(problems) + ".")
    isolation = Isolation(
        level="bwrap",
        mechanism=(
            f"bubblewrap {version}: user, pid, network, ipc, uts, cgroup and mount namespaces, and per "
            f"program new pid, mount and ipc namespaces; read-only /usr; private size-limited /tmp and "
            f"/dev/shm; clean environment; uid {uid}; no capabilities; rlimits"
        ),
        python=python,
        uid=uid,
        bwrap_version=version,
        namespaces=NAMESPACES,
    )
    result = Sandbox(isolation).run([python, "-I", "-c", PROBE_PROGRAM], limits=Limits(), wall_s=30)
    if not result.stdout.startswith(b"sandbox-ok"):
        detail = result.stderr_tail.strip() or f"exit status {result.returncode}"
        raise SandboxError(
            f"bubblewrap {version} is installed but cannot start {python} in a sandbox: {detail}. "
            "Namespaces may be refused here (a container's default seccomp profile does that; run the "
            "container with `--security-opt seccomp=unconfined` or grant user namespaces), or the "
            "interpreter is not readable by an unprivileged user."
        )
    try:
        return _warm_check(isolation)
    except SandboxError as exc:
        raise SandboxError(
            f"bubblewrap {version} runs programs, but not the warm sandbox graded programs need: {exc}"
        ) from exc


def unsandboxed(python: str | None = None) -> Isolation:
    python = python or sandbox_python()
    uid = SANDBOX_UID if os.geteuid() == 0 else os.geteuid()
    isolation = Isolation(
        level="none",
        mechanism=(
            f"NO ISOLATION (explicit opt-out): rlimits, clean environment, private working directory, "
            f"uid {uid}; the program can read world-readable files and use the network"
        ),
        python=python,
        uid=uid,
    )
    return _unsandboxed_checked(isolation)


@cache
def _unsandboxed_checked(isolation: Isolation) -> Isolation:
    try:
        return _warm_check(isolation)
    except SandboxError:
        # Recorded as it is; grading reports the failure to start programs where it happens.
        return isolation


def select_isolation(*, unsandboxed_ok: bool, python: str | None = None) -> Isolation:
    """The sandbox to grade with: bwrap when it works; without it, refuse unless opted out."""
    if unsandboxed_ok:
        return unsandboxed(python)
    try:
        return probe(python)
    except SandboxError as exc:
        raise SandboxError(
            f"{exc}\nModel-generated code is never run without isolation by default. Fix the sandbox, "
            "or pass --unsandboxed to run it with resource limits only (it can then read your files "
            "and reach the network)."
        ) from exc
