"""The in-sandbox half of a warm sandbox: a fork server that runs one untrusted program at a time.

This file is executed inside the sandbox by the system interpreter (`python3 -I -c <this source>`), so it
uses the standard library only (plus Debian's `python3-seccomp` and any modules it is asked to preload,
when present) and never imports the harness. `harness/sandbox.py` starts it and is the only party that
talks to it, over the server's stdin and stdout.

Per program the server forks an intermediate process that enters new mount, pid and IPC namespaces and
forks the program's process (pid 1 of the new pid namespace), then exits; the server adopts the program
as a child subreaper. Before running any untrusted code, the program's process
- mounts a fresh `/proc` (it sees its own processes only) and fresh size-limited tmpfs on `/tmp` and
  `/dev/shm`, so nothing an earlier program wrote is visible;
- joins the per-program memory cgroup the harness bound at `/run/harness-cgroup` (when there is one) and
  hides that mount under an empty read-only tmpfs;
- replaces its standard descriptors with /dev/null and closes every other descriptor but its own two
  pipes, so the server's channel to the harness is unreachable; the server is not dumpable, so not even
  its /proc entries could be opened;
- sets its resource limits, `no_new_privs`, drops every capability from all its sets and the bounding
  set, and installs the seccomp filter.
When the program ends (or the harness asks), the server kills its pid 1, which takes every process in
the namespace with it, and reaps it; the namespaces and their tmpfs mounts go away with the last process.

The server never decodes what it relays: program text, test inputs and replies pass through buffers that
are zeroed after use, so a program forked later inherits nothing of an earlier one.

Frames are a 1-byte kind and a 4-byte big-endian length, then the body. From the harness: `C` (config,
JSON, once), `R` (run: 4-byte header length, JSON header, then the payload that becomes the program's
first frame), `I` (a frame for the program), `K` (end the program). To the harness: `Y` (ready, JSON),
`O` (a frame from the program: 8-byte wall time since the last frame sent to it, then its bytes), `E`
(the program ended, JSON with `status`: exit code, or minus the signal number; `oversized` when it sent
a frame over the limit), `X` (a server error, JSON). Between a program and the server, frames are a
4-byte length and the body.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
CLONE_THREAD = 0x00010000
NEW_NAMESPACES = (
    CLONE_NEWNS,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
    CLONE_NEWTIME,
)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522
CGROUP_MOUNT = "/run/harness-cgroup"
HEADER = struct.Struct(">cI")
LENGTH = struct.Struct(">I")
WALL = struct.Struct(">d")

# Calls a graded program has no use for, and that widen what it could reach or do to the kernel.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "pidfd_getfd",
    "kcmp",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fanotify_init",
    "open_by_handle_at",
    "name_to_handle_at",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "lookup_dcookie",
    "vhangup",
    "uselib",
)

libc = ctypes.CDLL(None, use_errno=True)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def checked(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def seccomp_program(deny_processes: bool) -> bytes | None:
    """The filter as BPF, compiled once here by libseccomp (Debian's python3-seccomp); None without it."""
    try:
        import seccomp
    except ImportError:
        return None
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(deny, name)
        except (RuntimeError, ValueError, OSError):
            continue  # not a system call on this architecture
    for flag in NEW_NAMESPACES:
        rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where a filter cannot look: refusing it as unimplemented makes
    # the C library fall back to clone, whose flags are checked above.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    if deny_processes:
        # Without a memory cgroup, a program is one process (threads allowed), so its address-space
        # limit bounds all of its memory.
        rules.add_rule(deny, "fork")
        rules.add_rule(deny, "vfork")
        rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "wb") as sink:
            rules.export_bpf(sink)
        chunks = []
        while chunk := os.read(read_end, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(read_end)
    return b"".join(chunks)


def install_seccomp(program: bytes) -> None:
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    checked(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def drop_capabilities() -> None:
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    checked(libc.capset(ctypes.byref(header), data), "capset")


def mount(source: str, target: str, kind: str, flags: int, options: str | None) -> None:
    data = options.encode() if options is not None else None
    checked(libc.mount(source.encode(), target.encode(), kind.encode(), flags, data), f"mount {target}")


def zero(buffer: bytearray) -> None:
    if buffer:
        ctypes.memset((ctypes.c_char * len(buffer)).from_buffer(buffer), 0, len(buffer))


def read_exact(fd: int, size: int) -> bytearray | None:
    """`size` bytes read straight into a buffer (no intermediate copies); None at end of input."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if count == 0:
            view.release()
            zero(buffer)
            return None
        got += count
    view.release()
    return buffer


def write_all(fd: int, *parts: bytes | bytearray | memoryview) -> None:
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]
        view.release()


class ProgramChannel:
    """The program's side: frames from the server on one pipe, frames to it on another."""

    def __init__(self, incoming: int, outgoing: int) -> None:
        self.incoming = incoming
        self.outgoing = outgoing
        self.first: bytes | None = None

    def receive(self) -> bytes | None:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        header = read_exact(self.incoming, LENGTH.size)
        if header is None:
            return None
        (size,) = LENGTH.unpack(header)
        body = read_exact(self.incoming, size)
        return None if body is None else bytes(body)

    def send(self, body: bytes) -> None:
        write_all(self.outgoing, LENGTH.pack(len(body)), body)


class Server:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.namespaces = bool(config["namespaces"])
        self.cgroup = bool(config["cgroup"])
        self.limits: dict[str, int] = config["limits"]
        self.max_frame = int(config["max_frame_bytes"])
        self.bpf = seccomp_program(deny_processes=not self.cgroup) if config["seccomp"] else None
        # How a program's memory is bounded in total: by the harness's cgroup, else by allowing it a
        # single process (seccomp; threads allowed), else a single task (no threads either), so that
        # its address-space limit bounds everything it holds.
        self.memory_cap = "cgroup" if self.cgroup else ("single-process" if self.bpf else "single-task")
        self.preloaded = []
        for name in config["preload"]:
            try:
                __import__(name)
            except Exception:
                continue
            self.preloaded.append(name)
        namespace: dict[str, Any] = {"__name__": "sandboxed_program"}
        exec(compile(config["program_main"], "<program main>", "exec"), namespace)
        self.program_main = namespace["main"]
        # Everything loaded so far is kept out of the collector's reach, so that a forked program's
        # collections do not touch (and copy) the pages it shares with the server.
        gc.collect()
        gc.freeze()
        self.program: int | None = None
        self.to_program: int | None = None
        self.from_program: int | None = None
        self.sent_at = 0.0
        self.pending = bytearray()
        self.pending_header = b""
        self.filled = 0
        self.oversized = False
        self.workdir = ""
        self.prepared: tuple[int, int, int, str] | None = None

    # Talking to the harness ------------------------------------------------------------------------

    @staticmethod
    def reply(kind: bytes, body: bytes | bytearray | memoryview = b"") -> None:
        write_all(1, HEADER.pack(kind, len(body)), body)

    def reply_json(self, kind: bytes, message: dict[str, Any]) -> None:
        self.reply(kind, json.dumps(message).encode())

    # The program's process -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Fork and isolate the next program's process ahead of its job, while the harness is busy
        elsewhere (making namespaces waits on the kernel more than it computes)."""
        if self.prepared is not None:
            return
        workdir = tempfile.mkdtemp(prefix="harness-program-") if not self.namespaces else ""
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        control_read, control_write = os.pipe()
        server = os.getpid()
        intermediate = os.fork()
        if intermediate == 0:
            try:
                os.close(to_write)
                os.close(from_read)
                os.close(control_read)
                if self.namespaces:
                    checked(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
                pid = os.fork()
                if pid == 0:
                    os.close(control_write)
                    self.workdir = workdir
                    self.become_program(server, to_read, from_write)
                write_all(control_write, struct.pack(">i", pid))
            finally:
                os._exit(0)
        os.close(to_read)
        os.close(from_write)
        os.close(control_write)
        os.waitpid(intermediate, 0)
        reported = read_exact(control_read, 4)
        os.close(control_read)
        if reported is None:
            os.close(to_write)
            os.close(from_read)
            raise OSError("the program's process could not be started")
        os.set_blocking(from_read, False)
        self.prepared = (struct.unpack(">i", reported)[0], to_write, from_read, workdir)

    def start(self, header: dict[str, Any], body: bytearray, offset: int) -> None:
        self.prepare()
        assert self.prepared is not None
        self.program, self.to_program, self.from_program, self.workdir = self.prepared
        self.prepared = None
        # The first frame tells the prepared process its CPU limit; the job follows it.
        LENGTH.pack_into(body, offset - LENGTH.size, int(header["cpu_s"]))
        self.relay_to_program(body, offset - LENGTH.size)

    def become_program(self, server: int, incoming: int, outgoing: int) -> None:
        """Runs in the program's process: isolate, wait for the job, then hand over to the program's
        main. Never returns."""
        status = 0
        try:
            libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
            # A session of its own: kill(0, ...) must not reach the server's process group.
            os.setsid()
            if self.namespaces:
                mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
                for target, size in (
                    ("/tmp", self.limits["tmp_bytes"]),
                    ("/dev/shm", self.limits["shm_bytes"]),
                ):
                    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
                if self.cgroup:
                    with open(f"{CGROUP_MOUNT}/cgroup.procs", "w") as procs:
                        procs.write("0")
                    mount("tmpfs", "/run", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
                os.chdir("/tmp")
            else:
                # Adopted by the server once the intermediate process is gone; then it dies with it.
                while os.getppid() != server:
                    time.sleep(0.001)
                libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                os.chdir(self.workdir)
                os.environ.update({"HOME": self.workdir, "TMPDIR": self.workdir})
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.dup2(incoming, 3)
            os.dup2(outgoing, 4)
            os.closerange(5, 1 << 20)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            limits = self.limits
            # The bubblewrap monitor and this server are tasks of the same user in the namespace.
            processes = 1 if self.memory_cap == "single-task" else limits["processes"] + 2
            for name, value in (
                (resource.RLIMIT_AS, (limits["memory_bytes"],) * 2),
                (resource.RLIMIT_NPROC, (processes, processes)),
                (resource.RLIMIT_FSIZE, (limits["file_size_bytes"],) * 2),
                (resource.RLIMIT_NOFILE, (limits["open_files"],) * 2),
                (resource.RLIMIT_CORE, (0, 0)),
            ):
                resource.setrlimit(name, value)
            checked(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
            if self.namespaces:
                drop_capabilities()
            if self.bpf is not None:
                install_seccomp(self.bpf)
            channel = ProgramChannel(3, 4)
            first = channel.receive()
            if first is None:
                raise SystemExit(0)
            (cpu,) = LENGTH.unpack_from(first)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            channel.first = first[LENGTH.size :]
            self.program_main(channel)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            status = 70
        finally:
            os._exit(status)

    def relay_to_program(self, body: bytearray, offset: int = 0) -> None:
        assert self.to_program is not None
        view = memoryview(body)[offset:]
        try:
            write_all(self.to_program, LENGTH.pack(len(view)), view)
        except OSError:
            pass  # the program is gone; its end is reported when it is reaped
        finally:
            view.release()
            zero(body)
        self.sent_at = time.perf_counter()

    def read_from_program(self) -> bool:
        """Take what the program has written, without blocking (a program that announces a frame and
        then stalls must not keep the server from the harness); pass each complete frame on. False
        when the program stopped talking (its pipe closed, or it announced more than the limit)."""
        assert self.from_program is not None
        try:
            if len(self.pending_header) < LENGTH.size:
                chunk = os.read(self.from_program, LENGTH.size - len(self.pending_header))
                if not chunk:
                    return False
                self.pending_header += chunk
                if len(self.pending_header) < LENGTH.size:
                    return True
                (size,) = LENGTH.unpack(self.pending_header)
                if size > self.max_frame:
                    self.oversized = True
                    return False
                self.pending = bytearray(WALL.size + size)
                self.filled = WALL.size
                if size:
                    return True
            else:
                view = memoryview(self.pending)[self.filled :]
                count = os.readv(self.from_program, [view])
                view.release()
                if count == 0:
                    return False
                self.filled += count
        except BlockingIOError:
            return True
        except OSError:
            return False
        if self.filled == len(self.pending):
            WALL.pack_into(self.pending, 0, time.perf_counter() - self.sent_at)
            self.reply(b"O", self.pending)
            zero(self.pending)
            self.pending = bytearray()
            self.pending_header = b""
            self.filled = 0
        return True

    def end(self) -> None:
        if self.program is None:
            return
        pid, self.program = self.program, None
        for fd in (self.to_program, self.from_program):
            if fd is not None:
                os.close(fd)
        self.to_program = self.from_program = None
        zero(self.pending)
        self.pending, self.pending_header, self.filled = bytearray(), b"", 0
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if not self.namespaces:
            kill_descendants()
            shutil.rmtree(self.workdir, ignore_errors=True)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        oversized, self.oversized = self.oversized, False
        self.reply_json(b"E", {"status": code, "oversized": oversized})
        self.prepare_quietly()

    def prepare_quietly(self) -> None:
        # A failure here is reported when a program needs the process (start prepares again).
        with contextlib.suppress(OSError):
            self.prepare()

    # The loop ------------------------------------------------------------------------------------------

    def serve(self) -> None:
        self.reply_json(
            b"Y",
            {
                "seccomp": self.bpf is not None,
                "memory_cap": self.memory_cap,
                "preloaded": self.preloaded,
                "python": sys.version.split()[0],
            },
        )
        self.prepare_quietly()
        while True:
            watched = [0] if self.from_program is None else [0, self.from_program]
            ready, _, _ = select.select(watched, [], [])
            if self.from_program is not None and self.from_program in ready:
                if not self.read_from_program():
                    self.end()
                continue
            header = read_exact(0, HEADER.size)
            if header is None:
                self.end()
                return
            kind, size = HEADER.unpack(header)
            body = read_exact(0, size)
            if body is None:
                self.end()
                return
            if kind == b"R":
                self.end()
                (length,) = LENGTH.unpack_from(body)
                run = json.loads(bytes(body[LENGTH.size : LENGTH.size + length]))
                try:
                    self.start(run, body, LENGTH.size + length)
                except OSError as exc:
                    zero(body)
                    self.reply_json(b"X", {"error": f"cannot start the program: {exc}"})
            elif kind == b"I":
                if self.to_program is not None:
                    self.relay_to_program(body)
                else:
                    zero(body)
            elif kind == b"K":
                self.end()


def kill_descendants() -> None:
    """Without a pid namespace: kill whatever the program left behind (adopted by this subreaper)."""
    me = os.getpid()
    while True:
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 1 and int(fields[1]) == me:
                children.append(int(entry))
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                continue


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # Nothing in the sandbox may open this process's /proc entries (its descriptors reach the harness).
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    header = read_exact(0, HEADER.size)
    if header is None:
        return
    kind, size = HEADER.unpack(header)
    body = read_exact(0, size)
    if kind != b"C" or body is None:
        return
    config = json.loads(bytes(body))
    os.environ.update(config["environment"])
    sys.set_int_max_str_digits(int(config["int_max_str_digits"]))
    try:
        server = Server(config)
    except Exception as exc:
        Server.reply(b"X", json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    server.serve()


if __name__ == "__main__":
    main()
