"""The sample browser's data for one board cell (one run), written once per run content.

A cell's files sit beside each other under `data/samples/<task>/`, named after the entry (flat, since
every file and folder costs a rebuild time to link and a later one to delete):

- `<entry>.js`: every sample's id, epoch, category, score, extracted answer, target and flags, loaded
  with the page (the filters run on it);
- `<entry>~NNNN.js`: the records in shards of `shard_size`, loaded on demand. Each carries what the
  index does not: the completion, reasoning, finish reason, model, error, latency, token usage and
  score details, with fields at their default left out. The JSON lines are deflate-compressed and
  base64-encoded (the browser inflates them with its built-in DecompressionStream): model output is
  mostly prose, which compresses several times over.

What several cells share is stored once for the whole site, named by a hash of its content:

- `data/prompts/<id>~NNNN.js`: the prompts of a cell, aligned with its shards. Every entry of a task
  is sent the same prompts, so a board's cells of one task usually point at one prompt set; a cell
  whose prompts differ in anything (a subset, a system prompt) gets its own.
- `data/prefixes/<id>.js`: a run's shared prompt prefixes (few-shot exemplars).

Everything goes into `<script>` elements, never fetch(), so the folder works from file://. Model
output reaches the page only through textContent (see site/static/samples.js). `~` cannot occur in an
entry's file name (see `safe_name`), so no entry's index can be taken for another's shard.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from isal import isal_zlib

from harness.record_cache import RecordView, latest_views, no_cycle_collection
from harness.site.encoding import script_json
from harness.store import RunDir, file_identity

EXPORT_VERSION = "2"
# Compressed, a thousand records of chain-of-thought answers take about half a megabyte: one load
# for fifty pages of the browser, and few files for a rebuild to link and delete.
DEFAULT_SHARD_SIZE = 1000
# ISA-L's level 1 packs model output about 3.5 times at ~350 MB/s a core; zlib's level 6 packs it
# about 4.3 times at a tenth of the speed, which would make compression most of a large build.
COMPRESSION_LEVEL = 1
PROMPTS_DIR = "data/prompts"
PREFIXES_DIR = "data/prefixes"

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class CellJob:
    """One cell to export: `site` is the folder being built, `stem` names the cell's files in it."""

    run_path: Path
    site: Path
    stem: str
    meta: dict[str, Any]
    publish: bool
    shard_size: int
    prefixes: dict[str, str]

    def key(self) -> str:
        """Names what the export depends on: the run's content and how it is shown."""
        run_json = RunDir(self.run_path).run_path.read_bytes()
        identity = {
            "version": EXPORT_VERSION,
            "compression": COMPRESSION_LEVEL,
            "run": hashlib.sha256(run_json).hexdigest(),
            "samples": file_identity(RunDir(self.run_path).samples_path),
            "meta": self.meta,
            "publish": self.publish,
            "shard_size": self.shard_size,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CellExport:
    count: int
    shards: int
    prompt_set: str | None
    prefix_set: str | None

    def files(self, stem: str) -> list[str]:
        """Every file the cell's browser loads, relative to the site."""
        paths = [f"{stem}.js", *(shard_file(stem, n) for n in range(self.shards))]
        if self.prompt_set is not None:
            paths += [shard_file(f"{PROMPTS_DIR}/{self.prompt_set}", n) for n in range(self.shards)]
        if self.prefix_set is not None:
            paths.append(f"{PREFIXES_DIR}/{self.prefix_set}.js")
        return paths


def shard_file(stem: str, number: int) -> str:
    return f"{stem}~{number:04d}.js"


def natural(sample_id: str) -> tuple[int, int | str]:
    return (0, int(sample_id)) if sample_id.isdigit() else (1, sample_id)


def packed(lines: list[bytes], level: int = COMPRESSION_LEVEL) -> str:
    """JSON lines -> raw deflate -> base64, as samples.js reads them back."""
    return base64.b64encode(isal_zlib.compress(b"\n".join(lines), level, -15)).decode("ascii")


class _Shown(msgspec.Struct, omit_defaults=True):
    """A record as the browser reads it from a shard (short keys: they repeat on every line)."""

    c: str
    r: str | None = None
    f: str | None = None
    mo: str | None = None
    e: str | None = None
    l: float | None = None  # noqa: E741 - the browser's name for the latency
    d: dict[str, Any] | None = None
    u: tuple[int, int, int, int] | None = None


class _Prompt(msgspec.Struct, omit_defaults=True):
    m: list[tuple[str, str]]
    pk: str | None = None
    md: dict[str, Any] | None = None


def _shown(view: RecordView) -> bytes:
    completion, score, usage = view.completion, view.score, view.completion.usage
    counts = (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.reasoning_tokens)
    return _encode(
        _Shown(
            c=completion.text,
            r=completion.reasoning,
            f=completion.finish_reason,
            mo=completion.model,
            e=completion.error,
            l=round(completion.latency_s, 3) if completion.latency_s else None,
            d=score.details if score is not None and score.details else None,
            u=counts if any(counts) else None,
        )
    )


def _prompt(view: RecordView) -> bytes:
    prompt = view.prompt
    return _encode(
        _Prompt(
            m=[(m.role, m.content) for m in prompt.messages],
            pk=prompt.prefix_key,
            md=prompt.metadata or None,
        )
    )


def _index_json(index: dict[str, Any]) -> str:
    """`script_json` of an index, by msgspec: ten times as fast on its long lists."""
    text = _encode(index).decode("utf-8")
    for character, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(character, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _write_text(path: Path, text: str) -> None:
    # A file linked from the previous build must be replaced, never written through: that would
    # change the previous build too, which stays in place if this one fails.
    path.unlink(missing_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _publish(path: Path, text: str) -> None:
    """Write a content-named file: cells exported in parallel may race for it, and as the content is
    the same by construction, whichever rename lands last is as good as the first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.replace(scratch, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
        raise


def _write_prompt_set(site: Path, lines: list[bytes], shard_size: int) -> str:
    digest = hashlib.sha256(str(shard_size).encode())
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
    set_id = digest.hexdigest()[:20]
    parts = math.ceil(len(lines) / shard_size)
    stem = f"{PROMPTS_DIR}/{set_id}"
    # The last part is written last: when it is there, another cell has written the whole set.
    if not (site / shard_file(stem, parts - 1)).exists():
        for number in range(parts):
            chunk = lines[number * shard_size : (number + 1) * shard_size]
            _publish(
                site / shard_file(stem, number),
                f'harnessSamples.prompts("{set_id}",{number},"{packed(chunk)}");\n',
            )
    return set_id


def _write_prefixes(site: Path, prefixes: dict[str, str]) -> str:
    text = script_json(dict(sorted(prefixes.items())))
    prefix_id = hashlib.sha256(text.encode()).hexdigest()[:20]
    path = site / PREFIXES_DIR / f"{prefix_id}.js"
    if not path.exists():
        _publish(path, f'harnessSamples.prefixes("{prefix_id}",{text});\n')
    return prefix_id


def export_cell(job: CellJob) -> CellExport:
    """Write the cell's index and shards, and the prompt set and prefixes it points at."""
    with no_cycle_collection():
        return _export_cell(job)


def _export_cell(job: CellJob) -> CellExport:
    views = latest_views(RunDir(job.run_path))
    ordered = sorted(views, key=lambda v: (v.category or "", natural(v.sample_id), v.epoch))
    categories = sorted({v.category for v in ordered if v.category is not None})
    category_index = {c: i for i, c in enumerate(categories)}
    (job.site / job.stem).parent.mkdir(parents=True, exist_ok=True)
    shards = math.ceil(len(ordered) / job.shard_size) if job.publish else 0
    prompt_set = prefix_set = None
    if job.publish and ordered:
        prompt_set = _write_prompt_set(job.site, [_prompt(v) for v in ordered], job.shard_size)
        if job.prefixes:
            prefix_set = _write_prefixes(job.site, job.prefixes)
    scores = [v.score for v in ordered]
    index = {
        **job.meta,
        "publish": job.publish,
        "shard_size": job.shard_size,
        "shards": shards,
        "prompts": prompt_set,
        "prefixes": prefix_set,
        "categories": categories,
        "epochs": max((v.epoch for v in ordered), default=0) + 1,
        "id": [v.sample_id for v in ordered],
        "epoch": [v.epoch for v in ordered],
        "cat": [category_index[v.category] if v.category is not None else -1 for v in ordered],
        "score": [s.value if s is not None else None for s in scores],
        "extracted": [s.extracted if s is not None else None for s in scores],
        "target": [v.prompt.target for v in ordered],
        "parsed": [1 if s is not None and s.parsed else 0 for s in scores],
        "error": [1 if v.completion.error is not None else 0 for v in ordered],
    }
    _write_text(job.site / f"{job.stem}.js", f"harnessSamples.load({_index_json(index)});\n")
    key = script_json(job.meta["key"])
    for number in range(shards):
        chunk = ordered[number * job.shard_size : (number + 1) * job.shard_size]
        _write_text(
            job.site / shard_file(job.stem, number),
            f'harnessSamples.shard({key},{number},"{packed([_shown(v) for v in chunk])}");\n',
        )
    return CellExport(count=len(ordered), shards=shards, prompt_set=prompt_set, prefix_set=prefix_set)


def link_files(source: Path, target: Path, paths: list[str]) -> None:
    """Give `target` these files of `source` without copying them where the file system allows."""
    for path in paths:
        destination = target / path
        if destination.exists():
            continue  # a shared file another cell brought already
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / path, destination)
        except OSError:
            shutil.copy2(source / path, destination)
