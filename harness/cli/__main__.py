"""`python -m harness.cli`."""

from __future__ import annotations

import os

from harness.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
main()
