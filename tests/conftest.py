"""Shared fixtures: the real benchmark data in ../shared/data and the real embedded model."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from harness.backends import ModelClient, make_client
from harness.config import ModelEntry, get_entry, load_models
from harness.task import LoadedData, Task
from tasks.mmlu_pro import MMLUPro
from tests.fault_server import FaultServer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HARNESS_TEST_DATA", REPO.parent / "shared" / "data"))
MODELS_FILE = REPO / "leaderboards" / "models.yaml"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(f"the benchmark data folder {SHARED_DATA} is missing (set HARNESS_TEST_DATA to its path)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedded_entry() -> ModelEntry:
    return get_entry(load_models(MODELS_FILE), "smollm2")


@pytest.fixture(scope="session")
def embedded_client(embedded_entry: ModelEntry) -> Iterator[ModelClient]:
    """One in-process SmolLM2 for the whole session (loading it takes about a second)."""
    client = make_client(embedded_entry)
    yield client
    client.close()


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `harness` command in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_MODELS": str(MODELS_FILE), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
    )


class LoadedOnce(MMLUPro):
    """MMLU-Pro 0-shot whose data is read once per test session (planning many runs reuses it)."""

    loaded: ClassVar[dict[Path | None, LoadedData]] = {}

    def load(self, data_dir: Path | None) -> LoadedData:
        if data_dir not in self.loaded:
            self.loaded[data_dir] = super().load(data_dir)
        return self.loaded[data_dir]


@pytest.fixture(scope="session")
def mmlu_0shot(shared_data: Path) -> Task:
    return LoadedOnce(shots=0)


@pytest.fixture
def fault_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    """A fault-injecting OpenAI- and Anthropic-compatible server on 127.0.0.1, and its API key."""
    from tests.api_support import KEY, KEY_ENV

    monkeypatch.setenv(KEY_ENV, KEY)
    server = FaultServer().start()
    yield server
    server.stop()


# --- Boards, aggregation and the site: one set of real runs shared by those tests ------------------


@dataclass
class SiteWorld:
    runs: Path
    board_path: Path
    models_path: Path
    site: Path


@pytest.fixture(scope="session")
def site_world(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, embedded_entry: ModelEntry
) -> SiteWorld:
    """Imported published outputs, a real embedded run, hostile runs, a test board, and its built site."""
    from harness.board import load_board
    from harness.site import build_site
    from tests import site_helpers

    root = tmp_path_factory.mktemp("site_world")
    runs = root / "results"
    models_path = root / "models.yaml"
    models_path.write_text(site_helpers.models_yaml(MODELS_FILE), encoding="utf-8")
    board_path = root / "test-board.yaml"
    board_path.write_text(site_helpers.board_yaml(models_path), encoding="utf-8")
    board = load_board(board_path)
    hostile = board.models.entries[site_helpers.HOSTILE_ENTRY]
    site_helpers.import_published(runs, shared_data)
    site_helpers.run_embedded(runs, shared_data, embedded_entry)
    site_helpers.write_hostile_run(runs, shared_data, hostile, limit=5, errored=1)
    site_helpers.write_hostile_run(runs, shared_data, hostile, limit=3)
    site_helpers.write_hostile_run(runs, shared_data, hostile, limit=4, task_version="0")
    site = root / "site"
    build_site(board, runs, site, shard_size=100)
    return SiteWorld(runs=runs, board_path=board_path, models_path=models_path, site=site)
