"""Fast run.json reads against pydantic's: the same values, the same refusals, older files upgraded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from pydantic import BaseModel

from harness import run_views
from harness.errors import StoreError
from harness.run_views import read_run_view, readable_run_views
from harness.store import RunDir, iter_runs, readable_runs
from harness.types import (
    BackendInfo,
    Counts,
    DataRef,
    GenerationConfig,
    GradingInfo,
    ImportInfo,
    ManagedServerInfo,
    Metric,
    ReportedModel,
    RunResult,
    RunSpec,
    Timings,
    Usage,
)
from tests.conftest import SiteWorld

SCHEMA1 = Path(__file__).parent / "data" / "schema1"


def test_views_are_the_run_files_pydantic_validates(site_world: SiteWorld) -> None:
    runs = list(iter_runs(site_world.runs))
    assert len(runs) >= 6
    for run_dir in runs:
        assert msgspec.to_builtins(read_run_view(run_dir)) == run_dir.read_result().model_dump(mode="json")


@pytest.mark.parametrize(
    ("view", "model"),
    [
        (run_views.RunView, RunResult),
        (run_views.SpecView, RunSpec),
        (run_views.GenerationView, GenerationConfig),
        (run_views.DataView, DataRef),
        (run_views.MetricView, Metric),
        (run_views.CountsView, Counts),
        (run_views.UsageView, Usage),
        (run_views.TimingsView, Timings),
        (run_views.BackendInfoView, BackendInfo),
        (run_views.ManagedServerView, ManagedServerInfo),
        (run_views.GradingView, GradingInfo),
        (run_views.ImportView, ImportInfo),
        (run_views.ReportedModelView, ReportedModel),
    ],
)
def test_every_view_has_its_models_fields_and_defaults(
    view: type[msgspec.Struct], model: type[BaseModel]
) -> None:
    """A field added to a run type must be added to its mirror (and the other way round), with the
    same default."""
    assert view.__struct_fields__ == tuple(model.model_fields)
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    built = msgspec.convert({name: _example(model, name) for name in required}, view, strict=False)
    expected = model.model_validate({name: _example(model, name) for name in required})
    assert msgspec.to_builtins(built) == expected.model_dump(mode="json")


def _example(model: type[BaseModel], name: str) -> object:
    """A valid value for a required field, as JSON."""
    examples: dict[str, object] = {
        "spec": {
            "task": "t",
            "task_version": "1",
            "entry": "e",
            "model": "m",
            "backend": "mock",
            "generation": None,
            "data": {"dataset": "d"},
        },
        "generation": None,
        "data": {"dataset": "d"},
        "status": "complete",
        "value": 0.5,
        "n": 2,
        "port": 1,
        "command": ["x"],
        "startup_s": 1.0,
        "records_read": 1,
        "records_imported": 1,
    }
    return examples.get(name, "x")


def test_an_older_run_file_is_upgraded_as_pydantic_upgrades_it(tmp_path: Path) -> None:
    shutil.copytree(SCHEMA1, tmp_path / "results")
    runs = list(iter_runs(tmp_path / "results"))
    assert len(runs) == 3
    for run_dir in runs:
        view = read_run_view(run_dir)
        assert view.schema_version == 2
        assert msgspec.to_builtins(view) == run_dir.read_result().model_dump(mode="json")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(status="done"),  # not a status
        lambda d: d.update(unknown=1),  # a field RunResult forbids
        lambda d: d["metrics"].update(accuracy={"value": "high", "n": 1}),
        lambda d: d["spec"].pop("task"),
    ],
)
def test_a_damaged_run_file_is_refused_as_pydantic_refuses_it(
    site_world: SiteWorld, tmp_path: Path, change: object
) -> None:
    source = next(iter_runs(site_world.runs))
    run_dir = RunDir(tmp_path / "results" / source.relative())
    shutil.copytree(source.path, run_dir.path)
    data = json.loads(run_dir.run_path.read_text(encoding="utf-8"))
    assert callable(change)
    change(data)
    run_dir.run_path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoreError) as pydantic_error:
        run_dir.read_result()
    with pytest.raises(StoreError) as view_error:
        read_run_view(run_dir)
    assert str(view_error.value) == str(pydantic_error.value)
    assert list(readable_run_views(tmp_path / "results")) == []
    assert list(readable_runs(tmp_path / "results")) == []


def test_lax_values_pydantic_accepts_are_read_the_same(site_world: SiteWorld, tmp_path: Path) -> None:
    source = next(iter_runs(site_world.runs))
    run_dir = RunDir(tmp_path / "results" / source.relative())
    shutil.copytree(source.path, run_dir.path)
    data = json.loads(run_dir.run_path.read_text(encoding="utf-8"))
    data["counts"]["planned"] = str(data["counts"]["planned"])  # "3" for an int
    data["grading"] = {}  # older runs' "not graded by execution"
    run_dir.run_path.write_text(json.dumps(data), encoding="utf-8")
    assert msgspec.to_builtins(read_run_view(run_dir)) == run_dir.read_result().model_dump(mode="json")


def test_a_run_file_read_again_is_decoded_again_only_when_it_changed(
    site_world: SiteWorld, tmp_path: Path
) -> None:
    source = next(iter_runs(site_world.runs))
    run_dir = RunDir(tmp_path / "results" / source.relative())
    shutil.copytree(source.path, run_dir.path)
    first = read_run_view(run_dir)
    assert read_run_view(run_dir) is first
    with pytest.raises(AttributeError):
        first.status = "failed"  # type: ignore[misc]  # shared views are frozen

    data = json.loads(run_dir.run_path.read_text(encoding="utf-8"))
    data["notes"] = ["rewritten in place"]
    with run_dir.run_path.open("r+", encoding="utf-8") as handle:
        handle.write(json.dumps(data))
        handle.truncate()
    assert read_run_view(run_dir).notes == ["rewritten in place"]

    data["notes"] = ["replaced"]
    run_dir.write_result(RunResult.model_validate(data))
    assert read_run_view(run_dir).notes == ["replaced"]

    run_dir.run_path.write_text("{", encoding="utf-8")
    with pytest.raises(StoreError):
        read_run_view(run_dir)
