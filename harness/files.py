"""Reading files that come from outside the harness: text that must be UTF-8, and imports of bounded size.

A bad file is an error that names it (and, for text, the byte offset and line of the first bad byte),
never a traceback. What an import may read is capped before anything is decompressed or parsed: the
size of each file and archive member and of all of them together, how many there are, and how much an
archive member may expand. Published outputs are far below the defaults (MMLU-Pro's zipped outputs are
about 17 MB of JSON each, compressed 4-5x); a zip bomb (a 1 MB archive declaring a 1 GiB member) is
refused by its declared sizes without inflating a byte.

Limits (environment variables):

    HARNESS_IMPORT_MAX_MB      512     bytes (in MB, 10^6) one import may read, decompressed, in total
    HARNESS_IMPORT_MAX_FILES   10000   files in an imported folder or members in an archive
    HARNESS_IMPORT_MAX_RATIO   100     how much a member over 1 MB may expand (uncompressed / compressed)
"""

from __future__ import annotations

import codecs
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, DataError, HarnessError

MAX_MB_ENV = "HARNESS_IMPORT_MAX_MB"
MAX_FILES_ENV = "HARNESS_IMPORT_MAX_FILES"
MAX_RATIO_ENV = "HARNESS_IMPORT_MAX_RATIO"
DEFAULT_MAX_MB = 512
DEFAULT_MAX_FILES = 10_000
DEFAULT_MAX_RATIO = 100
# Tiny members compress absurdly well (a file of zeros, a .DS_Store) and cost nothing to inflate.
RATIO_EXEMPT_BYTES = 1_000_000
READ_BLOCK = 1 << 20


def describe_bytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


def decode_utf8(
    raw: bytes, where: Path | str, *, error: type[HarnessError] = DataError, offset: int = 0, line: int = 1
) -> str:
    """`raw` as UTF-8 text (a leading byte-order mark is dropped); else an error naming `where`, the byte
    offset and the line of the first byte that is not UTF-8. `offset` and `line` place `raw` in its file
    when it is one line of a larger one."""
    start = len(codecs.BOM_UTF8) if offset == 0 and raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[start:].decode("utf-8") if start else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = start + exc.start
        at_line = line + raw.count(b"\n", 0, bad)
        raise error(
            f"{where}: not UTF-8 text: byte 0x{raw[bad]:02x} at byte offset {offset + bad} (line {at_line}) "
            "cannot be decoded. Save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from exc


def read_bytes(path: Path, *, error: type[HarnessError] = DataError, max_bytes: int | None = None) -> bytes:
    """The file's bytes; a missing or unreadable file, or one larger than `max_bytes`, is an error."""
    try:
        with open(path, "rb") as handle:
            if max_bytes is not None:
                status = os.fstat(handle.fileno())
                if not stat.S_ISREG(status.st_mode):  # a device or pipe has no size to check
                    raise error(f"{path}: not a regular file.")
                size = status.st_size
                if size > max_bytes:
                    raise error(_too_large(path, size, max_bytes))
                raw = handle.read(max_bytes + 1)
                if len(raw) > max_bytes:  # it grew while being read
                    raise error(_too_large(path, len(raw), max_bytes))
                return raw
            return handle.read()
    except FileNotFoundError as exc:
        raise error(f"{path}: no such file.") from exc
    except IsADirectoryError as exc:
        raise error(f"{path}: is a folder; a file is expected here.") from exc
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc}).") from exc


def read_text(path: Path, *, error: type[HarnessError] = DataError, max_bytes: int | None = None) -> str:
    """A UTF-8 text file, with a clear error for a missing, unreadable, oversized or mis-encoded one."""
    return decode_utf8(read_bytes(path, error=error, max_bytes=max_bytes), path, error=error)


def iter_text_lines(path: Path, *, error: type[HarnessError] = DataError) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 text file, read a line at a time (JSONL data files are large)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is exhausted
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            yield number, decode_utf8(raw, path, error=error, offset=offset, line=number)
            offset += len(raw)


def parse_json(raw: bytes | str, where: Path | str) -> Any:
    """JSON from a file that came from elsewhere: not UTF-8, not JSON, or nested beyond what the parser
    takes is an error naming `where`."""
    text = decode_utf8(raw, where) if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise DataError(f"{where}: not usable JSON (nested too deeply to parse).") from exc


def _too_large(path: Path | str, size: int, limit: int) -> str:
    return (
        f"{path}: {describe_bytes(size)}, more than the {describe_bytes(limit)} an import may read "
        f"(set {MAX_MB_ENV} to raise the limit)."
    )


def _env_number(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{name}={value!r}: give a positive whole number (default {default}).")
    return number


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = DEFAULT_MAX_MB * 1_000_000
    max_files: int = DEFAULT_MAX_FILES
    max_ratio: int = DEFAULT_MAX_RATIO

    @classmethod
    def from_env(cls) -> ImportLimits:
        return cls(
            max_bytes=_env_number(MAX_MB_ENV, DEFAULT_MAX_MB) * 1_000_000,
            max_files=_env_number(MAX_FILES_ENV, DEFAULT_MAX_FILES),
            max_ratio=_env_number(MAX_RATIO_ENV, DEFAULT_MAX_RATIO),
        )


END_RECORD = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"


def declared_members(path: Path) -> int:
    """How many members a zip archive declares in its end-of-central-directory record (zip64 included);
    0 when it has none (zipfile then says what is wrong)."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - (1 << 16) - 22)  # the record is at most 22 bytes + a 64 KiB comment
            handle.seek(start)
            tail = handle.read()
            at = tail.rfind(END_RECORD)
            if at < 0 or len(tail) - at < 22:
                return 0
            (count,) = struct.unpack_from("<H", tail, at + 10)
            locator = at - 20
            if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == ZIP64_LOCATOR:
                (offset,) = struct.unpack_from("<Q", tail, locator + 8)
                handle.seek(offset)
                record = handle.read(56)
                if len(record) == 56:
                    (count,) = struct.unpack_from("<Q", record, 32)
            return int(count)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc


class BoundedReader:
    """Reads the files of one import, refusing anything past its limits before reading or inflating it."""

    def __init__(self, limits: ImportLimits | None = None) -> None:
        self.limits = limits or ImportLimits.from_env()
        self.bytes_read = 0

    @property
    def remaining(self) -> int:
        return self.limits.max_bytes - self.bytes_read

    def count(self, where: Path | str, files: int) -> None:
        if files > self.limits.max_files:
            raise DataError(
                f"{where}: {files:,} files, more than the {self.limits.max_files:,} an import may read "
                f"(set {MAX_FILES_ENV} to raise the limit)."
            )

    def read_file(self, path: Path) -> bytes:
        raw = read_bytes(path, max_bytes=self.remaining)
        self.bytes_read += len(raw)
        return raw

    def read_json(self, path: Path) -> Any:
        return parse_json(self.read_file(path), path)

    def zip_members(self, path: Path, suffix: str) -> Iterator[tuple[str, bytes]]:
        """(name, content) of the archive's members whose names end with `suffix`, once their declared
        sizes and compression ratios are within the limits."""
        # The member count is read from the archive's end record first: listing a few million members
        # would itself take gigabytes.
        self.count(path, declared_members(path))
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{path}: not a zip archive ({exc}).") from exc
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
        with archive:
            members = [m for m in archive.infolist() if m.filename.endswith(suffix) and not m.is_dir()]
            self.count(path, len(members))
            declared = 0
            for member in members:
                where = f"{path}: member {member.filename!r}"
                ratio = member.file_size / max(member.compress_size, 1)
                if member.file_size > RATIO_EXEMPT_BYTES and ratio > self.limits.max_ratio:
                    raise DataError(
                        f"{where} expands {ratio:,.0f}x (to {describe_bytes(member.file_size)}), more than "
                        f"the {self.limits.max_ratio}x an archive member may (set {MAX_RATIO_ENV} to raise "
                        "the limit)."
                    )
                if member.file_size > self.remaining:
                    raise DataError(_too_large(where, member.file_size, self.remaining))
                declared += member.file_size
                if declared > self.remaining:
                    raise DataError(
                        _too_large(f"{path}: its {suffix} members together", declared, self.remaining)
                    )
            for member in members:
                yield member.filename, self._inflate(archive, member, path)

    def _inflate(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path) -> bytes:
        # zipfile stops at the declared size, so a member that lies about it cannot inflate further.
        where = f"{path}: member {member.filename!r}"
        chunks: list[bytes] = []
        size = 0
        try:
            with archive.open(member) as stream:
                while block := stream.read(READ_BLOCK):
                    size += len(block)
                    if size > self.remaining:
                        raise DataError(_too_large(where, size, self.remaining))
                    chunks.append(block)
        except (zipfile.BadZipFile, zlib.error, RuntimeError, EOFError, OSError) as exc:
            raise DataError(f"{where}: cannot be read ({exc}).") from exc
        self.bytes_read += size
        return b"".join(chunks)
