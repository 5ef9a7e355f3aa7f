"""Values on their way into pages and scripts: JSON that cannot break out of a <script> element, pandas
values made plain, and names made safe for file paths."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pandas as pd


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element and as a JavaScript literal."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def clean(value: Any) -> Any:
    """pandas/numpy values -> plain JSON values (NaN -> None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return clean(value.item())
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [clean(row) for row in frame.to_dict(orient="records")]


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
