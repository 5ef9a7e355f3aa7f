"""Models files are validated strictly; every error names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import get_entry, load_models
from harness.errors import ConfigError
from tests.conftest import MODELS_FILE

GOOD = """\
default_entry: tiny
entries:
  tiny:
    display_name: Tiny
    organisation: Example
    backend: llamacpp
    model: /models/tiny.gguf
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def test_shipped_models_file_is_valid() -> None:
    models = load_models(MODELS_FILE)
    entry = get_entry(models, models.default_entry)
    assert entry.id == "smollm2" and entry.backend == "llamacpp"


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "    temprature: 0.5\n")
    with pytest.raises(ConfigError, match=rf"{path}:8: entries\.tiny\.temprature: unknown key 'temprature'"):
        load_models(path)


def test_bad_value_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    model: /models/tiny.gguf\n", "    model: /models/tiny.gguf\n    concurrency: zero\n"
    )
    with pytest.raises(ConfigError, match=rf"{path_of(tmp_path, text)}:8: entries\.tiny\.concurrency"):
        load_models(tmp_path / "models.yaml")


def path_of(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, text)


def test_unknown_backend_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("backend: llamacpp", "backend: llamacp"))
    with pytest.raises(ConfigError, match=r":6: entries\.tiny\.backend: .*unknown backend 'llamacp'"):
        load_models(path)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  tiny:\n    display_name: again\n")
    with pytest.raises(ConfigError, match=r":8: duplicate key 'tiny'"):
        load_models(path)


def test_entry_ids_must_be_directory_safe(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("  tiny:", "  Tiny Model:").replace("default_entry: tiny", "default_entry: x")
    )
    with pytest.raises(ConfigError, match="names a directory"):
        load_models(path)


def test_unknown_entry_suggests_the_nearest(tmp_path: Path) -> None:
    models = load_models(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="Did you mean 'tiny'"):
        get_entry(models, "tinny")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  broken: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: not valid YAML"):
        load_models(path)
