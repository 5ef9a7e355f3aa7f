"""Run directories: `<root>/<task>/<entry>/<spec hash>/{run.json, samples.jsonl}`.

`samples.jsonl` is append-only while a run is in flight: each record is written with a single `write`
and flushed as soon as it is scored, so a process killed at any point (SIGKILL included) loses at most
the record being written, and a torn last line is dropped when the run is resumed. `run.json` is always
replaced atomically (write a temporary file, fsync, rename). A lock file keeps two processes from
writing the same run.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from pydantic import ValidationError

from harness.errors import StoreError
from harness.files import decode_utf8
from harness.types import RunResult, SampleRecord

RUN_FILE = "run.json"
SAMPLES_FILE = "samples.jsonl"
LOCK_FILE = ".lock"

T = TypeVar("T")


def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see either the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class RunDir:
    """One run's directory, `<runs root>/<task>/<entry>/<spec hash>`; the only place that layout is
    known."""

    def __init__(self, path: Path | str) -> None:
        # A store walk makes hundreds of these, most of which are only keyed by their path's string:
        # the Path is made when it is asked for.
        self._location = os.fspath(path)
        if isinstance(path, Path):
            self.__dict__["path"] = path

    @functools.cached_property
    def path(self) -> Path:
        return Path(self._location)

    def __fspath__(self) -> str:
        return self._location

    @classmethod
    def for_spec(cls, root: Path, task: str, entry: str, spec_hash: str) -> RunDir:
        return cls(root / task / entry / spec_hash)

    @property
    def root(self) -> Path:
        return self.path.parent.parent.parent

    @property
    def task(self) -> str:
        return self.path.parent.parent.name

    @property
    def entry(self) -> str:
        return self.path.parent.name

    @property
    def spec_hash(self) -> str:
        return self.path.name

    def relative(self) -> str:
        """`task/entry/hash`, as the runs root sees it."""
        return f"{self.task}/{self.entry}/{self.spec_hash}"

    @property
    def run_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES_FILE

    def exists(self) -> bool:
        return self.run_path.is_file()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on this run for the duration of the block."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole block
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(
                    f"{self.path} is being written by another harness process; wait for it to finish "
                    "(or stop it) and run the command again."
                ) from exc
            yield
        finally:
            handle.close()

    def read_result(self) -> RunResult:
        try:
            raw = self.run_path.read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"{self.run_path} does not exist: {self.path} is not a run directory.") from exc
        except OSError as exc:
            raise StoreError(f"{self.run_path} cannot be read ({exc.strerror or exc}).") from exc
        try:
            return RunResult.model_validate_json(decode_utf8(raw, self.run_path, error=StoreError))
        except ValidationError as exc:
            raise StoreError(f"{self.run_path} is not a valid run file: {exc.errors()[0]['msg']}") from exc

    def write_result(self, result: RunResult) -> None:
        atomic_write_text(self.run_path, result.model_dump_json(indent=2) + "\n")

    def read_records(self, *, repair: bool = False) -> list[SampleRecord]:
        """All complete records, in file order. With `repair`, a torn last line is cut off the file."""
        try:
            raw = self.samples_path.read_bytes()
        except FileNotFoundError:
            return []
        end = raw.rfind(b"\n") + 1
        if end < len(raw) and repair:
            # A write interrupted by a kill left a partial line; it was never acknowledged, drop it.
            with open(self.samples_path, "r+b") as handle:
                handle.truncate(end)
        records = []
        for number, line in enumerate(raw[:end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(SampleRecord.model_validate_json(line))
            except ValidationError as exc:
                raise StoreError(
                    f"{self.samples_path}:{number}: not a valid sample record ({exc.errors()[0]['msg']}). "
                    "The file was changed outside the harness; restore it or delete the run directory."
                ) from exc
        return records

    @contextlib.contextmanager
    def appender(self) -> Iterator[RecordAppender]:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.samples_path, "ab") as handle:
            appender = RecordAppender(handle)
            try:
                yield appender
            finally:
                handle.flush()
                os.fsync(handle.fileno())

    def rewrite_records(self, records: Iterable[SampleRecord]) -> None:
        atomic_write_text(self.samples_path, "".join(r.model_dump_json() + "\n" for r in records))


class RecordAppender:
    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def append(self, record: SampleRecord) -> None:
        # One write per record, flushed to the kernel at once: a killed process keeps every record it
        # acknowledged. fsync happens when the appender closes (power loss is not the failure mode here).
        self._handle.write((record.model_dump_json() + "\n").encode("utf-8"))
        self._handle.flush()


def latest_records(records: Iterable[SampleRecord]) -> dict[tuple[str, int], SampleRecord]:
    """Later lines supersede earlier ones for the same (sample, epoch): a retried error replaces it."""
    latest: dict[tuple[str, int], SampleRecord] = {}
    for record in records:
        latest[record.key] = record
    return latest


def iter_runs(root: Path) -> Iterator[RunDir]:
    """Every run directory under `root` with a run.json, in order of task, entry and hash."""
    for path in _run_paths(root, (RUN_FILE,)):
        yield RunDir(path)


def iter_run_dirs(root: Path) -> Iterator[RunDir]:
    """Every run directory under `root` that holds anything, including those without a readable
    run.json (a run or import stopped before it wrote one, or a damaged file)."""
    for path in _run_paths(root, (RUN_FILE, SAMPLES_FILE)):
        yield RunDir(path)


def _run_paths(root: Path, markers: tuple[str, ...]) -> Iterator[str]:
    # A walk of three directory levels on plain strings: several times faster than globbing
    # `*/*/*/run.json`, which a store of hundreds of runs notices.
    isfile = os.path.isfile
    for task in _subdirectories(str(root)):
        for entry in _subdirectories(task):
            for run in _subdirectories(entry):
                for marker in markers:
                    if isfile(f"{run}/{marker}"):
                        yield run
                        break


def _subdirectories(path: str) -> list[str]:
    try:
        with os.scandir(path) as found:
            return sorted(item.path for item in found if item.is_dir())
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def readable_runs(
    root: Path, task: str | None = None, entry: str | None = None
) -> Iterator[tuple[RunDir, RunResult]]:
    """The runs under `root` (of one task and entry, when given) whose run.json reads, with it."""
    return read_runs(root, RunDir.read_result, task, entry)


def read_runs(
    root: Path, read: Callable[[RunDir], T], task: str | None = None, entry: str | None = None
) -> Iterator[tuple[RunDir, T]]:
    """The runs under `root` (of one task and entry, when given) that `read` reads without a
    StoreError, with what it read."""
    for run_dir in iter_runs(root):
        if (task is not None and run_dir.task != task) or (entry is not None and run_dir.entry != entry):
            continue
        try:
            yield run_dir, read(run_dir)
        except StoreError:
            continue


def resolve_run(ref: str, root: Path) -> RunDir:
    """A run named by its directory, its run.json, `task/entry/hash`, or a unique hash prefix."""
    candidate = Path(ref)
    if candidate.name == RUN_FILE:
        candidate = candidate.parent
    for path in (candidate, root / candidate):
        if (path / RUN_FILE).is_file():
            return RunDir(path)
    matches = [run for run in iter_runs(root) if run.path.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        listed = ", ".join(str(m.path.relative_to(root)) for m in matches[:5])
        raise StoreError(f"{ref!r} matches several runs under {root} ({listed}); give more of the hash.")
    raise StoreError(
        f"no run {ref!r} under {root}: give a run directory, its run.json, task/entry/hash, or a hash "
        "prefix (`harness ls` lists the runs)."
    )


def file_identity(path: Path | str) -> str | None:
    """What changes whenever the file's content may have (size, modification and change times, inode:
    any append, rewrite, replacement or copy changes it, and the change time cannot be set back by
    hand); None when there is no file."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"


def run_files_key(run_dirs: Iterable[RunDir]) -> tuple[tuple[str, str | None], ...]:
    """The identity of these runs' run.json files, for results computed from them."""
    paths = [os.path.join(d, RUN_FILE) for d in run_dirs]
    return tuple((path, file_identity(path)) for path in paths)


class RecentResults(Generic[T]):
    """The last few values this process computed, by all they depend on (`run_files_key` for the run
    files): a notebook that reads the store again after no change gets them without recomputing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: dict[Hashable, T] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        value = self._values.pop(key) if key in self._values else compute()
        self._values[key] = value
        while len(self._values) > self.size:
            del self._values[next(iter(self._values))]
        return value


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for reading many runs at once. Forked where the platform can, so that they start
    at once with everything imported; elsewhere the default start method."""
    forks = "fork" in multiprocessing.get_all_start_methods()
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork") if forks else None
    )


def file_sha256(path: Path) -> str:
    """The hash of a file, or of every file in a folder (names and contents, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def append_jsonl(path: Path, row: object) -> None:
    """Append one JSON line with a single write, flushed at once: a killed process keeps every line it
    wrote but the one in flight, which `read_jsonl` drops."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        handle.flush()


def read_jsonl(path: Path) -> list[Any]:
    """The complete lines of an append-only JSON-lines file (a torn or unreadable line is skipped)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    rows = []
    for line in raw[: raw.rfind(b"\n") + 1].splitlines():
        try:
            rows.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return rows
