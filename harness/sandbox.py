"""Isolated execution of untrusted programs (model-generated code).

Isolation levels, strongest first:

- `bwrap`: bubblewrap with every namespace unshared (user, pid, network, ipc, uts, cgroup, mount). The
  program sees a read-only `/usr` (with the `/bin`, `/lib` links), a fresh `/proc` of its own pid
  namespace, a minimal `/dev`, and two private size-limited tmpfs mounts (`/tmp`, `/dev/shm`); nothing of
  the caller's files, home or environment. There is no network at all (a new network namespace has only
  a loopback device that is down). When the harness runs as root, bwrap is started as an unprivileged
  uid (root ignores RLIMIT_NPROC, so a fork bomb would not be bounded otherwise).
- `none`: no isolation, only with an explicit opt-out (`--unsandboxed`): the program runs with the same
  resource limits, a clean environment, a private working directory and (as root) an unprivileged uid,
  but it can read world-readable files and use the network.

In both, the resource limits are applied by util-linux `prlimit` as the first program *inside* the
sandbox (so RLIMIT_NPROC counts the sandbox's own processes): CPU seconds, address space, processes,
file size, open files, no core dumps. The harness caps how much output it reads, and on a timeout it
kills the whole process tree; processes that outlive the program die with its pid namespace.

`probe()` finds the strongest level that works on this machine by running a real program in it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

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

IsolationLevel = Literal["bwrap", "none"]


class Limits(BaseModel):
    """Resource limits for one sandboxed program (all of its processes together where noted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_s: int = Field(default=60, ge=1, description="CPU seconds per process (RLIMIT_CPU)")
    memory_bytes: int = Field(default=4 << 30, ge=64 << 20, description="address space (RLIMIT_AS)")
    processes: int = Field(default=32, ge=4, description="processes and threads in the sandbox")
    file_size_bytes: int = Field(default=16 << 20, ge=0, description="largest file it may write")
    open_files: int = Field(default=64, ge=16, description="open file descriptors")
    tmp_bytes: int = Field(default=64 << 20, ge=1 << 20, description="size of the private /tmp")
    shm_bytes: int = Field(default=16 << 20, ge=1 << 20, description="size of the private /dev/shm")
    output_bytes: int = Field(default=64 << 20, ge=1 << 10, description="stdout the harness reads")


class Isolation(BaseModel):
    """Which isolation is in force; recorded in run.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: IsolationLevel
    mechanism: str
    python: str
    uid: int | None = None
    bwrap_version: str | None = None


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
        if self.returncode is None or self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


@dataclass
class SandboxedProcess:
    """A running program: write to its stdin, read lines from its stdout, with deadlines.

    Everything is non-blocking, so a program that stops reading its input or floods its output can
    never stall the harness; stderr is drained continuously and only its tail is kept.
    """

    popen: subprocess.Popen[bytes]
    limits: Limits
    workdir: Path | None = None
    subreaper: bool = False
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
            if self._stdout_eof or self.output_exceeded:
                return None
            if self.popen.poll() is not None:
                # Exited: take what is already in the pipes, but never wait for an end of output that
                # a process left behind could hold off forever.
                if self._pump(0) == 0 and b"\n" not in self._stdout:
                    return None
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._pump(min(remaining, 0.05))

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
                if self._stdout_total > self.limits.output_bytes:
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
            stderr_tail=self._stderr.decode("utf-8", "replace"),
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
        return Exit(self.returncode, "").signal_name


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


def _bwrap_args(limits: Limits) -> list[str]:
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    args += ["--ro-bind", "/usr", "/usr"]
    for path in SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    # `--dev` gives an unbounded /dev/shm; a size-limited tmpfs goes over it.
    args += ["--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm"]
    args += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for name, value in {**CLEAN_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
        args += ["--setenv", name, value]
    return [*args, "--"]


class Sandbox:
    """Starts programs at a given isolation level (see the module docstring)."""

    def __init__(self, isolation: Isolation, *, subreaper: bool = False) -> None:
        self.isolation = isolation
        self.subreaper = subreaper

    @property
    def python(self) -> str:
        return self.isolation.python

    def spawn(self, argv: Sequence[str], limits: Limits) -> SandboxedProcess:
        as_root = os.geteuid() == 0
        user_kwargs: dict[str, object] = (
            {"user": SANDBOX_UID, "group": SANDBOX_GID, "extra_groups": []} if as_root else {}
        )
        workdir: Path | None = None
        if self.isolation.level == "bwrap":
            command = [*_bwrap_args(limits), *_limit_args(limits), *argv]
            env = dict(CLEAN_ENV)
            cwd = "/"
        else:
            workdir = Path(tempfile.mkdtemp(prefix="harness-unsandboxed-"))
            if as_root:
                os.chown(workdir, SANDBOX_UID, SANDBOX_GID)
            # Without a pid namespace, a parent-death signal is what stops the program if the harness
            # process dies first.
            setpriv = "/usr/bin/setpriv"
            guard = [setpriv, "--pdeathsig", "KILL", "--"] if os.path.exists(setpriv) else []
            command = [*guard, *_limit_args(limits), *argv]
            env = {**CLEAN_ENV, "HOME": str(workdir), "TMPDIR": str(workdir)}
            cwd = str(workdir)
        try:
            popen = subprocess.Popen(  # type: ignore[call-overload]
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                close_fds=True,
                start_new_session=True,
                **user_kwargs,
            )
        except OSError as exc:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise SandboxError(f"cannot start a sandboxed program ({command[0]}): {exc}") from exc
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


def _bwrap_version() -> str | None:
    try:
        out = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().removeprefix("bubblewrap ") or None


def probe(python: str | None = None) -> Isolation:
    """The strongest isolation that works here, checked by running a real program in it (once per
    interpreter and process). Raises SandboxError explaining what is missing when none works."""
    return _probe(python or sandbox_python())


@cache
def _probe(python: str) -> Isolation:
    as_root = os.geteuid() == 0
    uid = SANDBOX_UID if as_root else os.geteuid()
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
            f"bubblewrap {version}: user, pid, network, ipc, uts, cgroup and mount namespaces; read-only "
            f"/usr; private size-limited /tmp and /dev/shm; clean environment; uid {uid}; rlimits "
            "applied inside by prlimit"
        ),
        python=python,
        uid=uid,
        bwrap_version=version,
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
    return isolation


def unsandboxed(python: str | None = None) -> Isolation:
    python = python or sandbox_python()
    uid = SANDBOX_UID if os.geteuid() == 0 else os.geteuid()
    return Isolation(
        level="none",
        mechanism=(
            f"NO ISOLATION (explicit opt-out): rlimits by prlimit, clean environment, private working "
            f"directory, uid {uid}; the program can read world-readable files and use the network"
        ),
        python=python,
        uid=uid,
    )


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
