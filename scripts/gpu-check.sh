#!/usr/bin/env bash
# The vLLM backend on a real NVIDIA GPU, in both modes.
#
# Installs vLLM's CUDA build (from PyPI, pinned to the version the CPU tests use) in a fresh virtual
# environment, downloads Qwen2.5-1.5B-Instruct at a pinned revision from the Hugging Face hub (about
# 3.1 GB of bf16 weights: one GPU with 8 GB or more), then runs MMLU-Pro (0-shot) on it through
# `backend: vllm` (in-process) and through the harness-managed vLLM server, and prints each mode's
# throughput, accuracy and how many greedy answers the two modes share.
#
#   scripts/gpu-check.sh                   # 200 questions, 512 tokens each
#   LIMIT=1000 MAX_TOKENS=1024 scripts/gpu-check.sh
#   DATA_DIR=../shared/data scripts/gpu-check.sh    # MMLU-Pro from a local folder instead of the hub
#
# Settings (environment): VENV (.venv-gpu), MODEL, REVISION, LIMIT, MAX_TOKENS, DATA_DIR,
# GPU_MEMORY_UTILIZATION (0.85), OUTPUT (a new temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv-gpu}
VLLM_VERSION=0.32.0
MODEL=${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}
REVISION=${REVISION:-989aa7980e4cf806f80c7fef2b1adb7bc71aa306}
LIMIT=${LIMIT:-200}
MAX_TOKENS=${MAX_TOKENS:-512}
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.85}
OUTPUT=${OUTPUT:-$(mktemp -d -t harness-gpu-check-XXXXXX)}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi >/dev/null 2>&1; then
  echo "gpu-check: no working nvidia-smi: this check needs an NVIDIA GPU and its driver." >&2
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

# A fresh environment: vLLM's wheels are built against one torch release, which pip takes from PyPI
# as the CUDA build that matches them.
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e . "vllm==$VLLM_VERSION"
# FlashInfer's precompiled kernels; without them vLLM compiles them at its first start-up (minutes).
"$VENV/bin/vllm" download-kernels || echo "gpu-check: no precompiled kernels; vLLM compiles them at start-up."

WEIGHTS=$("$VENV/bin/python" -c '
import sys
from huggingface_hub import snapshot_download
print(snapshot_download(sys.argv[1], revision=sys.argv[2], allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja"]))
' "$MODEL" "$REVISION")
echo "weights: $MODEL at $REVISION in $WEIGHTS"

# Both entries load the same snapshot with the same engine settings.
MODELS="$OUTPUT/models.yaml"
cat >"$MODELS" <<YAML
default_entry: gpu-check-vllm
entries:
  gpu-check-vllm:
    display_name: $MODEL (vLLM in-process)
    organisation: GPU check
    backend: vllm
    model: $WEIGHTS
    vllm: &engine {max_model_len: 4096, gpu_memory_utilization: $GPU_MEMORY_UTILIZATION}
  gpu-check-vllm-server:
    display_name: $MODEL (vLLM server)
    organisation: GPU check
    backend: openai_compat
    model: $WEIGHTS
    concurrency: 64
    vllm: *engine
    server: {kind: vllm, startup_timeout_s: 1200}
YAML

data=()
if [ -n "${DATA_DIR:-}" ]; then data=(--data-dir "$DATA_DIR"); fi
for entry in gpu-check-vllm gpu-check-vllm-server; do
  "$VENV/bin/harness" run -t mmlu_pro_0shot -m "$entry" --models "$MODELS" --limit "$LIMIT" \
    --max-tokens "$MAX_TOKENS" -o "$OUTPUT/runs" ${data[@]+"${data[@]}"}
done

"$VENV/bin/python" - "$OUTPUT/runs" <<'PY'
import sys
from pathlib import Path

from harness.store import RunDir, latest_records

runs = {}
for run_json in sorted(Path(sys.argv[1]).glob("mmlu_pro_0shot/*/*/run.json")):
    run = RunDir(run_json.parent)
    runs[run_json.parent.parent.name] = (run.read_result(), latest_records(run.read_records()))
for entry, (result, _) in runs.items():
    timings, usage = result.timings, result.usage
    print(
        f"{entry:24} {result.status:9} {result.headline} {result.metrics[result.headline].value:.3f}  "
        f"start-up {timings.model_load_s:6.1f} s  generation {timings.model_s:6.1f} s  "
        f"{usage.output_tokens / timings.model_s:8.0f} output tok/s  "
        f"{(usage.input_tokens + usage.output_tokens) / timings.model_s:8.0f} total tok/s"
    )
(_, local), (_, served) = runs["gpu-check-vllm"], runs["gpu-check-vllm-server"]
same = sum(local[key].completion.text == served[key].completion.text for key in local if key in served)
# GPU kernels are not batch-invariant: a different batch can flip a near-tie late in a long answer.
print(f"greedy answers identical in both modes: {same}/{len(local)}")
if any(result.status != "complete" for result, _ in runs.values()):
    sys.exit("gpu-check: a run did not complete")
PY
echo "runs and models file: $OUTPUT"
