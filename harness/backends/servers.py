"""Local OpenAI-compatible servers the harness starts for an entry (`server:` in models.yaml).

`kind: llamacpp` runs llama-cpp-python's server (`python -m llama_cpp.server`) on the entry's GGUF
model; `kind: vllm` runs `python -m vllm.entrypoints.openai.api_server` (the `vllm serve` command
fails in the CPU build, see the vLLM notes in the README) with the entry's `vllm:` settings as flags.
`args` are appended to the command (a flag given there overrides the same flag from `vllm:`). The
harness waits until `GET /v1/models` answers, and stops the server when the run ends, on Ctrl-C and
on SIGTERM; the server also receives SIGTERM if the harness itself is killed (Linux parent-death
signal), so no server outlives its run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness.backends.vllm import server_arguments
from harness.config import ModelEntry, resolve_model_path
from harness.errors import BackendError, ConfigError
from harness.types import ManagedServerInfo

HOST = "127.0.0.1"
STOP_GRACE_S = 15.0
LOG_TAIL_CHARS = 3000

# Runs in the child before the server: ask Linux to send SIGTERM when the harness dies, then exec.
LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)\n"
    "    if os.getppid() == 1:\n"
    "        sys.exit(1)\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


def server_command(entry: ModelEntry, port: int) -> list[str]:
    assert entry.server is not None
    address = ["--host", HOST, "--port", str(port)]
    if entry.server.kind == "llamacpp":
        model_path = resolve_model_path(entry.model)
        # The alias makes the server answer to the entry's model name, which requests carry.
        return [
            sys.executable,
            "-m",
            # llama_cpp.server, with the weights kept out of AMX buffers where those crash
            "harness.backends.llamacpp_amx",
            "--model",
            str(model_path),
            "--model_alias",
            entry.model,
            *address,
            *entry.server.args,
        ]
    return [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        *server_arguments(entry),
        *address,
        *entry.server.args,
    ]


class LocalServer:
    """A running server process; `stop()` ends it and everything it started."""

    def __init__(self, entry: ModelEntry, port: int, command: list[str], log_path: Path) -> None:
        self.entry_id = entry.id
        self.kind = entry.server.kind if entry.server else "?"
        self.port = port
        self.command = command
        self.log_path = log_path
        self.base_url = f"http://{HOST}:{port}/v1"
        self.startup_s = 0.0
        log = open(log_path, "wb")  # noqa: SIM115 - the child process keeps writing to it
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal reaches the harness, which stops the
                # server in order, instead of reaching both at once.
                start_new_session=True,
            )
        finally:
            log.close()

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return text[-LOG_TAIL_CHARS:]

    def wait_healthy(self, timeout_s: float) -> None:
        started = time.monotonic()
        url = f"{self.base_url}/models"
        while True:
            code = self.process.poll()
            if code is not None:
                raise BackendError(
                    f"the {self.kind} server for entry {self.entry_id!r} exited with status {code} while "
                    f"starting. Its log ({self.log_path}) ends:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2.0) as response:
                    if response.status == 200:
                        self.startup_s = time.monotonic() - started
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() - started > timeout_s:
                raise BackendError(
                    f"the {self.kind} server for entry {self.entry_id!r} did not answer {url} within "
                    f"{timeout_s:g}s (raise server.startup_timeout_s if it is still loading). Its log "
                    f"({self.log_path}) ends:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Workers a server started may outlive it briefly; the group shares the server's pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()

    def info(self) -> ManagedServerInfo:
        return ManagedServerInfo(
            kind=self.kind, port=self.port, command=self.command[1:], startup_s=round(self.startup_s, 2)
        )


def start_server(entry: ModelEntry) -> LocalServer:
    """Start the entry's server and wait until it answers; on failure nothing is left running."""
    if entry.server is None:
        raise ConfigError(f"entry {entry.id!r} has no `server:` section.")
    port = entry.server.port or free_port()
    if port_in_use(port):
        raise ConfigError(
            f"entry {entry.id!r}: port {port} on {HOST} is already in use; stop what listens there or "
            "choose another server.port (or remove it to use a free port)."
        )
    command = server_command(entry, port)
    handle, name = tempfile.mkstemp(prefix=f"harness-{entry.id}-server-", suffix=".log")
    os.close(handle)
    server = LocalServer(entry, port, command, Path(name))
    try:
        server.wait_healthy(entry.server.startup_timeout_s)
    except BaseException as exc:
        keep_log = isinstance(exc, BackendError)
        log_copy = server.log_path.read_bytes() if keep_log and server.log_path.exists() else None
        server.stop()
        if log_copy is not None:
            # Keep the log the error message points to.
            server.log_path.write_bytes(log_copy)
        raise
    return server
