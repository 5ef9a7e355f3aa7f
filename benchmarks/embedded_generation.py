"""Embedded model throughput: continuous batching against one request at a time, on the first run's work.

    python benchmarks/embedded_generation.py                      # 6 samples of each task, 4 and 8 slots
    python benchmarks/embedded_generation.py --limit 14 --parallel 2 4 8 16 --max-tokens 512

The requests are those the README's main command sends the embedded SmolLM2 model: the board's tasks
(MMLU-Pro 5-shot, GPQA-Diamond, LiveCodeBench in the board's window) planned with the same options,
read from the local benchmark data. The baseline is the same client with `parallel: 1`, which sends
each request through llama-cpp-python's `create_chat_completion` one after the other (the code path
before batching), measured in the same invocation. Reported for each setting: seconds, output tokens
per second, the speed-up, and how many completions are identical to the baseline's (text, finish
reason and token counts; at temperature 0 they should all be), one JSON line per setting as it ends.
CPU seconds are reported beside seconds: on a machine other work shares, they are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness.backends.llamacpp import LlamaCppClient
from harness.board import load_board
from harness.config import ModelEntry
from harness.errors import DataError
from harness.runner import RunOptions, plan_run
from harness.runner.plan import request_for
from harness.types import Completion, GenerationRequest

REPO = Path(__file__).resolve().parents[1]
BOARD = REPO / "leaderboards" / "qwen2.5-max-launch.yaml"


def first_run_requests(
    data_dir: Path, entry: ModelEntry, limit: int, max_tokens: int
) -> list[GenerationRequest]:
    board = load_board(BOARD)
    # Planning reads the data only; nothing is written under output_dir.
    options = RunOptions(
        runs_root=Path("results"),
        data_dir=data_dir,
        limit=limit,
        epochs=1,
        generation={"max_tokens": max_tokens},
    )
    requests = []
    for board_task in board.tasks:
        # Each column with its own task options, as `board populate` runs it.
        task = board.task_objects[board_task.id]
        try:
            plan = plan_run(task, entry, options)
        except DataError as exc:  # as `board populate` does: a task without local data is skipped
            print(f"skipped {board_task.id}: {exc}", file=sys.stderr)
            continue
        requests += [request_for(item, plan) for item in plan.items]
    return requests


def run(
    entry: ModelEntry, parallel: int, requests: list[GenerationRequest]
) -> tuple[float, float, list[Completion]]:
    """Seconds, CPU seconds (all of llama.cpp's threads: what a busy machine disturbs least) and the
    completions in request order."""
    options = {**entry.backend_options, "parallel": parallel}
    client = LlamaCppClient.from_entry(entry.model_copy(update={"backend_options": options}))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        results = dict(client.generate(requests))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    finally:
        client.close()
    return seconds, cpu_seconds, [results[i] for i in range(len(requests))]


def same(a: Completion, b: Completion) -> bool:
    return (
        a.text == b.text and a.finish_reason == b.finish_reason and a.usage == b.usage and a.error == b.error
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=6, help="samples per task")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 8])
    args = parser.parse_args()

    board = load_board(BOARD)
    entry = board.models.entries["smollm2"]
    requests = first_run_requests(args.data_dir, entry, args.limit, args.max_tokens)
    baseline_s, baseline_cpu_s, baseline = run(entry, 1, requests)
    tokens = sum(c.usage.output_tokens for c in baseline)
    figures: dict[str, Any] = {
        "requests": len(requests),
        "max_tokens": args.max_tokens,
        "output_tokens": tokens,
        "cores": os.cpu_count(),
        "sequential_s": round(baseline_s, 1),
        "sequential_cpu_s": round(baseline_cpu_s, 1),
        "sequential_tokens_per_s": round(tokens / baseline_s, 1),
    }
    print(json.dumps(figures), flush=True)
    for parallel in args.parallel:
        seconds, cpu_seconds, completions = run(entry, parallel, requests)
        out = sum(c.usage.output_tokens for c in completions)
        result = {
            "parallel": parallel,
            "seconds": round(seconds, 1),
            "cpu_s": round(cpu_seconds, 1),
            "tokens_per_s": round(out / seconds, 1),
            "speedup": round(baseline_s / seconds, 2),
            "cpu_ratio": round(baseline_cpu_s / cpu_seconds, 2),
            "identical": sum(same(a, b) for a, b in zip(baseline, completions, strict=True)),
        }
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
