#!/usr/bin/env bash
# Set up a fresh machine and run the project's checks: lint, types, and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real: bubblewrap and Debian's python3 for the code sandbox (the
# sandboxed programs run under /usr/bin/python3, with numpy importable as in LiveCodeBench's own grading
# environment, and libseccomp's bindings for the sandbox's system-call filter), Chromium for the site tests.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for package in bubblewrap python3 python3-numpy python3-seccomp chromium; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# The embedding similarity needs only a CPU build of torch: 2.13.0 is installed from its CPU wheel first,
# so that the extra below does not pull the CUDA build and gigabytes of GPU libraries.
.venv/bin/pip install -q 'torch==2.13.0'
.venv/bin/pip install -q -e '.[embedded,dev,similarity]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Layers point one way (the contracts are in pyproject.toml).
.venv/bin/lint-imports
# The sandbox tests must fail, not skip, where no sandbox works.
HARNESS_REQUIRE_SANDBOX=1 .venv/bin/python -m pytest -q "$@"
