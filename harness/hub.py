"""Loading datasets from the Hugging Face hub at pinned revisions, with actionable errors."""

from __future__ import annotations

import os
from typing import Any

from harness.errors import DataError

DATA_DIR_ENV = "HARNESS_DATA_DIR"


def hub_token() -> str | None:
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return get_token()
    except ImportError:
        return None


def load_hub_split(
    dataset: str, revision: str, *, split: str, name: str | None = None, token: str | None = None
) -> list[dict[str, Any]]:
    """One split as a list of row dicts. `datasets` is imported only here: it is slow to import."""
    import datasets

    loaded = datasets.load_dataset(dataset, name, revision=revision, split=split, token=token)
    return [dict(row) for row in loaded]


def hub_error(dataset: str, revision: str, exc: BaseException, *, local_layout: str) -> DataError:
    return DataError(
        f"could not load {dataset} (revision {revision}) from the Hugging Face hub: "
        f"{type(exc).__name__}: {exc}\n"
        f"Either make the hub reachable, or pass --data-dir D (or set {DATA_DIR_ENV}=D) where D holds "
        f"{local_layout}."
    )
