"""Fast record reads against pydantic's, and the columnar cache's keying, on real runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from harness import record_cache
from harness.analysis import SAMPLE_COLUMNS, samples_df
from harness.errors import StoreError
from harness.record_cache import CACHE_FILE, latest_views, record_table
from harness.store import RunDir, iter_runs, latest_records, readable_runs
from harness.types import Completion, Message, Prompt, SampleRecord, Score, Usage
from tests.conftest import SiteWorld


def test_views_are_the_records_pydantic_validates(site_world: SiteWorld) -> None:
    """Every field, default and value of every latest record, in the same order: the msgspec mirror
    of SampleRecord may not drift from it."""
    runs = list(iter_runs(site_world.runs))
    assert len(runs) == 6
    for run_dir in runs:
        expected = [r.model_dump(mode="json") for r in latest_records(run_dir.read_records()).values()]
        assert [without_unset_raw_text(msgspec.to_builtins(v)) for v in latest_views(run_dir)] == expected


def without_unset_raw_text(record: dict[str, Any]) -> dict[str, Any]:
    """A prompt's `raw_text` is written only when set (so chat records are as before it existed)."""
    if not record["prompt"]["raw_text"]:
        del record["prompt"]["raw_text"]
    return record


@pytest.mark.parametrize(
    ("view", "model"),
    [
        (record_cache.RecordView, SampleRecord),
        (record_cache.PromptView, Prompt),
        (record_cache.CompletionView, Completion),
        (record_cache.ScoreView, Score),
        (record_cache.UsageView, Usage),
        (record_cache.MessageView, Message),
    ],
)
def test_every_view_has_its_models_fields(view: type[msgspec.Struct], model: type[BaseModel]) -> None:
    """A field added to a record type must be added to its mirror (and the other way round)."""
    assert set(view.__struct_fields__) == set(model.model_fields)


PROMPT = b'{"sample_id": "1", "prompt": {"messages": [], "target": "A"}, '
ROBOT = PROMPT.replace(b"[]", b'[{"role": "robot", "content": ""}]')


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (PROMPT + b'"completion": {"text": "x"}, "x": 1}', "x"),
        (PROMPT + b'"completion": {"text": 3}}', "text"),
        (
            PROMPT.replace(b"[]", b'[{"role": "robot", "content": ""}]') + b'"completion": {"text": ""}}',
            "role",
        ),
        (b"{not json", "JSON"),
    ],
)
def test_a_bad_line_is_refused_with_its_number_as_pydantic_refuses_it(
    tmp_path: Path, line: bytes, problem: str
) -> None:
    good = b'{"sample_id": "0", "prompt": {"messages": [], "target": "A"}, "completion": {"text": "ok"}}'
    run_dir = RunDir(tmp_path)
    run_dir.samples_path.write_bytes(good + b"\n" + line + b"\n")
    with pytest.raises(StoreError, match=r"samples\.jsonl:2: not a valid sample record"):
        run_dir.read_records()
    with pytest.raises(StoreError, match=rf"samples\.jsonl:2: not a valid sample record .*{problem}"):
        latest_views(run_dir)


def _old_samples_df(root: Path) -> pd.DataFrame:
    """samples_df as it was built from pydantic-validated records, before the cache."""
    rows: list[dict[str, Any]] = []
    for run_dir, result in readable_runs(root):
        for record in latest_records(run_dir.read_records()).values():
            completion, score = record.completion, record.score
            rows.append(
                {
                    "task": result.spec.task,
                    "task_version": result.spec.task_version,
                    "entry": result.spec.entry,
                    "spec_hash": result.spec_hash,
                    "sample_id": record.sample_id,
                    "epoch": record.epoch,
                    "category": record.category,
                    "score": score.value if score else np.nan,
                    "parsed": score.parsed if score else False,
                    "extracted": score.extracted if score else None,
                    "target": record.prompt.target,
                    "error": completion.error,
                    "finish_reason": completion.finish_reason,
                    "input_tokens": completion.usage.input_tokens,
                    "output_tokens": completion.usage.output_tokens,
                    "reasoning_tokens": completion.usage.reasoning_tokens,
                    "latency_s": completion.latency_s,
                }
            )
    return pd.DataFrame(rows)


def test_samples_df_from_the_cache_equals_the_pydantic_reading(site_world: SiteWorld, tmp_path: Path) -> None:
    runs = tmp_path / "results"
    shutil.copytree(site_world.runs, runs)
    expected = _old_samples_df(runs)
    first = samples_df(runs)  # writes the caches
    assert len(list(runs.rglob(CACHE_FILE))) == 6
    pd.testing.assert_frame_equal(first, expected)
    pd.testing.assert_frame_equal(samples_df(runs), expected)
    assert list(first.columns) == SAMPLE_COLUMNS


def test_the_cache_is_used_and_follows_every_change_of_the_records(
    site_world: SiteWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (source,) = [r for r in iter_runs(site_world.runs) if r.path.parent.name == "smollm2"]
    run_dir = RunDir(tmp_path / "run")
    shutil.copytree(source.path, run_dir.path)
    table = record_table(run_dir)
    assert (run_dir.path / CACHE_FILE).is_file() and table.num_rows == 2

    def unread(_: RunDir) -> list[record_cache.RecordView]:
        raise AssertionError("the records were read again")

    with monkeypatch.context() as patch:
        patch.setattr(record_cache, "latest_views", unread)
        assert record_table(run_dir).equals(table)

    # A retried sample: the appended record supersedes the first one, and the cache follows.
    (first, *_) = latest_records(run_dir.read_records()).values()
    retried = first.model_copy(update={"completion": first.completion.model_copy(update={"text": "again"})})
    with run_dir.appender() as appender:
        appender.append(retried.model_copy(update={"score": None}))
    retried_table = record_table(run_dir)
    assert retried_table.num_rows == 2 and np.isnan(retried_table["score"].to_numpy(zero_copy_only=False)[0])
    table = record_table(run_dir, cache=False)

    # An edit in place to the same size, with the modification time set back, is still seen: the
    # change time moves.
    stat = run_dir.samples_path.stat()
    raw = run_dir.samples_path.read_bytes()
    zero, one = b'"value":0.0', b'"value":1.0'
    edited = raw.replace(zero, one) if zero in raw else raw.replace(one, zero)
    assert edited != raw and len(edited) == len(raw)
    run_dir.samples_path.write_bytes(edited)
    os.utime(run_dir.samples_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run_dir.samples_path.stat().st_mtime_ns == stat.st_mtime_ns
    changed = record_table(run_dir)
    assert changed.equals(record_table(run_dir, cache=False))
    assert changed["score"].to_pylist() != table["score"].to_pylist()

    # A damaged or foreign cache is ignored and replaced.
    (run_dir.path / CACHE_FILE).write_bytes(b"not arrow")
    assert record_table(run_dir).equals(changed)
    assert (run_dir.path / CACHE_FILE).read_bytes()[:6] == b"ARROW1"


def test_a_first_read_of_many_runs_builds_their_caches_on_every_core(
    site_world: SiteWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "results"
    shutil.copytree(site_world.runs, runs)
    run_dirs = list(iter_runs(runs))
    damaged = run_dirs[0]
    with damaged.samples_path.open("ab") as handle:
        handle.write(b'{"sample_id": 1}\n')
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    built_by: list[int] = []
    original = record_cache.record_table

    def record_table_noting_the_process(run_dir: RunDir, *, cache: bool = True) -> Any:
        built_by.append(os.getpid())
        return original(run_dir, cache=cache)

    with monkeypatch.context() as patch:
        patch.setattr(record_cache, "record_table", record_table_noting_the_process)
        record_cache.build_caches(run_dirs)  # the damaged run is left to the reader
    assert built_by == []  # every cache was built in a worker process, none here
    for run_dir in run_dirs[1:]:
        assert record_cache._cache_is_current(run_dir)
    assert not record_cache._cache_is_current(damaged)

    def unread(_: RunDir) -> list[record_cache.RecordView]:
        raise AssertionError("the records were read again")

    with monkeypatch.context() as patch:
        patch.setattr(record_cache, "latest_views", unread)
        for run_dir in run_dirs[1:]:
            record_table(run_dir)
    with pytest.raises(StoreError, match="not a valid sample record"):
        samples_df(runs)
