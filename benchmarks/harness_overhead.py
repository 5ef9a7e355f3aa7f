"""Harness overhead on the embedded model: a full `execute` against bare llama.cpp calls, same prompts.

    python benchmarks/harness_overhead.py --task mmlu_pro --limit 14 --max-tokens 32

Both sides load the same GGUF model and send the same rendered messages with the same decoding
parameters, in the same order; the baseline simply loops over `create_chat_completion`. Reported:
seconds per sample for each, the ratio harness/baseline, and the harness's own time outside the model
(data loading, prompt building, scoring, writing records) as a fraction of its total.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from harness.backends import make_client
from harness.config import get_entry, load_models
from harness.runner import RunOptions, execute, plan_run
from harness.runner.plan import request_for
from tasks import get_task

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mmlu_pro")
    parser.add_argument("--limit", type=int, default=14)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()

    entry = get_entry(load_models(REPO / "leaderboards" / "models.yaml"), "smollm2")
    with tempfile.TemporaryDirectory() as output:
        options = RunOptions(
            runs_root=Path(output),
            data_dir=args.data_dir,
            limit=args.limit,
            epochs=1,
            generation={"max_tokens": args.max_tokens},
        )
        started = time.perf_counter()
        plan = plan_run(get_task(args.task), entry, options)
        outcome = execute(plan, options)
        harness_s = time.perf_counter() - started
        timings = outcome.result.timings

        ordered = sorted(plan.items, key=lambda item: item.prompt.prefix_key or "")
        requests = [request_for(item, plan) for item in ordered]
        started = time.perf_counter()
        client = make_client(entry)
        for _ in client.generate(requests):
            pass
        client.close()
        baseline_s = time.perf_counter() - started

    n = len(plan.items)
    report = {
        "task": args.task,
        "samples": n,
        "max_tokens": args.max_tokens,
        "harness_s_per_sample": harness_s / n,
        "baseline_s_per_sample": baseline_s / n,
        "harness_over_baseline": harness_s / baseline_s,
        "model_s": timings.model_s,
        "overhead_fraction": (harness_s - timings.model_s) / harness_s,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
