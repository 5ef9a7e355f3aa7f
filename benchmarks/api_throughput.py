"""API client throughput: the harness's openai_compat backend against lm-eval's local-chat-completions.

    python benchmarks/api_throughput.py                      # 1,000 requests at concurrency 1, 16, 64
    python benchmarks/api_throughput.py --requests 200 --concurrency 16 64 --clients harness

A local OpenAI-compatible server (aiohttp, in this process) answers every chat completion after
exactly `--latency` seconds. Each client runs as its own process, launched the way a user launches
it, and sends the same requests: the first `--requests` MMLU-Pro 0-shot prompts (category-stratified,
as `--limit` selects them), as one user message each, `max_tokens` 16, greedy.

- `harness`: `harness run -t mmlu_pro_0shot --limit N --no-cache` with an openai_compat entry on the
  default aiohttp transport; the full path: data loading, prompts, scoring, every record appended.
- `harness-sdk`: the same with `backend_options: {transport: openai-sdk}` (the official AsyncOpenAI).
- `lm-eval`: `lm_eval --model local-chat-completions --apply_chat_template` on a local task file
  holding the same prompts (lm-eval 0.4.13, `pip install -e '.[bench]'`), offline.

Measured at the server: the generation phase runs from the first request's arrival to the last
response; efficiency = ideal (requests x latency / concurrency) / that time (with fixed latencies the
wave structure caps it at 0.992 for C=16 and 0.977 for C=64 with 1,000 requests). CPU per request is
the client process's user+system CPU time over the generation phase (from /proc) divided by the
requests. Start-up is the time from launching the process to the first request arriving. Reported
as figures and as ratios harness / lm-eval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ANSWER = {
    "object": "chat.completion",
    "model": "bench-model",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "The answer is (A)."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 120, "completion_tokens": 8, "total_tokens": 128},
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return float("nan")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Phase:
    """What the server saw of one client run."""

    pid: int = 0
    launched: float = 0.0
    first_request: float | None = None
    last_response: float = 0.0
    cpu_at_first: float = 0.0
    cpu_at_last: float = 0.0
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)


class FixedLatencyServer:
    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.phase = Phase()
        self.body = json.dumps(ANSWER).encode()

    async def chat(self, request: web.Request) -> web.Response:
        phase = self.phase
        now = time.monotonic()
        if phase.first_request is None:
            phase.first_request = now
            phase.cpu_at_first = cpu_seconds(phase.pid)
        phase.requests += 1
        phase.in_flight += 1
        phase.max_in_flight = max(phase.max_in_flight, phase.in_flight)
        body = await request.json()
        if len(phase.bodies) < 3:
            phase.bodies.append(body)
        await asyncio.sleep(self.latency_s)
        phase.in_flight -= 1
        phase.last_response = time.monotonic()
        phase.cpu_at_last = cpu_seconds(phase.pid)
        return web.Response(body=self.body, content_type="application/json")

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "bench-model", "object": "model"}]})


def write_inputs(work: Path, requests: int, port: int, data_dir: Path, max_tokens: int) -> None:
    """The harness's models file, and the same prompts as an lm-eval task."""
    from harness.config import load_models
    from harness.runner import RunOptions, plan_run
    from harness.runner.plan import request_for
    from tasks import get_task

    entry = {
        "display_name": "Benchmark server",
        "organisation": "benchmark",
        "backend": "openai_compat",
        "model": "bench-model",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "request_timeout_s": 60,
        "max_retries": 0,
    }
    models = {
        "default_entry": "bench",
        "entries": {"bench": entry, "bench-sdk": {**entry, "backend_options": {"transport": "openai-sdk"}}},
    }
    (work / "models.yaml").write_text(json.dumps(models))
    bench = load_models(work / "models.yaml").entries["bench"]
    options = RunOptions(
        runs_root=work, data_dir=data_dir, limit=requests, generation={"max_tokens": max_tokens}
    )
    plan = plan_run(get_task("mmlu_pro_0shot"), bench, options)
    with open(work / "prompts.jsonl", "w", encoding="utf-8") as handle:
        for item in plan.items:
            content = request_for(item, plan).messages[-1].content
            handle.write(json.dumps({"text": content, "target": item.prompt.target}) + "\n")
    (work / "tasks").mkdir(exist_ok=True)
    (work / "tasks" / "bench_prompts.yaml").write_text(
        "\n".join(
            [
                "task: bench_prompts",
                "dataset_path: json",
                "dataset_kwargs:",
                "  data_files:",
                f"    test: {work / 'prompts.jsonl'}",
                "test_split: test",
                "output_type: generate_until",
                'doc_to_text: "{{text}}"',
                'doc_to_target: "{{target}}"',
                "generation_kwargs:",
                "  until: []",
                f"  max_gen_toks: {max_tokens}",
                "  do_sample: false",
                "  temperature: 0",
                "metric_list:",
                "  - metric: exact_match",
                "",
            ]
        )
    )


def client_command(
    client: str, work: Path, port: int, concurrency: int, requests: int, max_tokens: int, data_dir: Path
) -> list[str]:
    if client in ("harness", "harness-sdk"):
        entry = "bench" if client == "harness" else "bench-sdk"
        return [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "-t",
            "mmlu_pro_0shot",
            "--limit",
            str(requests),
            "-m",
            entry,
            "--models",
            str(work / "models.yaml"),
            "--max-tokens",
            str(max_tokens),
            "--no-cache",
            "--data-dir",
            str(data_dir),
            "-o",
            str(work / f"results-{client}-{concurrency}-{time.monotonic_ns()}"),
        ]
    model_args = (
        f"model=bench-model,base_url=http://127.0.0.1:{port}/v1/chat/completions,"
        f"num_concurrent={concurrency},max_retries=1,tokenized_requests=False"
    )
    return [
        sys.executable,
        "-m",
        "lm_eval",
        "--model",
        "local-chat-completions",
        "--model_args",
        model_args,
        "--tasks",
        "bench_prompts",
        "--include_path",
        str(work / "tasks"),
        "--apply_chat_template",
        "--limit",
        str(requests),
    ]


async def run_client(
    server: FixedLatencyServer, client: str, work: Path, port: int, concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    command = client_command(client, work, port, concurrency, args.requests, args.max_tokens, args.data_dir)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if client.startswith("harness"):
        # The harness needs no extra configuration for concurrency but the entry's own setting.
        models = json.loads((work / "models.yaml").read_text())
        for entry in models["entries"].values():
            entry["concurrency"] = concurrency
        (work / "models.yaml").write_text(json.dumps(models))
    server.phase = Phase(launched=time.monotonic())
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=work, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    server.phase.pid = process.pid
    output, _ = await process.communicate()
    phase = server.phase
    if process.returncode != 0 or phase.first_request is None:
        tail = output.decode(errors="replace")[-3000:]
        raise RuntimeError(f"{client} at concurrency {concurrency} failed ({process.returncode}):\n{tail}")
    wall = phase.last_response - phase.first_request
    ideal = phase.requests * server.latency_s / concurrency
    return {
        "client": client,
        "concurrency": concurrency,
        "requests": phase.requests,
        "max_in_flight": phase.max_in_flight,
        "startup_s": phase.first_request - phase.launched,
        "generation_s": wall,
        "efficiency": ideal / wall,
        "cpu_ms_per_request": 1000 * (phase.cpu_at_last - phase.cpu_at_first) / phase.requests,
        "sample_body": phase.bodies[0] if phase.bodies else None,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    server = FixedLatencyServer(args.latency)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.chat)
    app.router.add_get("/v1/models", server.models)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = int(runner.addresses[0][1])
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="api-throughput-") as tmp:
        work = Path(tmp)
        write_inputs(work, args.requests, port, args.data_dir, args.max_tokens)
        for concurrency in args.concurrency:
            for client in args.clients:
                runs = [
                    await run_client(server, client, work, port, concurrency, args)
                    for _ in range(args.repeats)
                ]
                best = max(runs, key=lambda r: r["efficiency"])
                best["efficiency_runs"] = [round(r["efficiency"], 3) for r in runs]
                best["cpu_ms_runs"] = [round(r["cpu_ms_per_request"], 3) for r in runs]
                best["startup_s_median"] = statistics.median(r["startup_s"] for r in runs)
                results.append(best)
                print(
                    f"{client:12s} C={concurrency:<3d} efficiency {best['efficiency']:.3f} "
                    f"(runs {best['efficiency_runs']}) cpu {best['cpu_ms_per_request']:.3f} ms/request "
                    f"startup {best['startup_s']:.2f}s",
                    file=sys.stderr,
                    flush=True,
                )
    await runner.cleanup()
    return {
        "settings": vars(args) | {"data_dir": str(args.data_dir)},
        "results": results,
        "ratios": ratios(results),
    }


def ratios(results: list[dict[str, Any]]) -> dict[str, Any]:
    by = {(r["client"], r["concurrency"]): r for r in results}
    out: dict[str, Any] = {}
    for (client, concurrency), result in by.items():
        baseline = by.get(("lm-eval", concurrency))
        if client == "lm-eval" or baseline is None:
            continue
        out[f"{client}/lm-eval C={concurrency}"] = {
            "efficiency": round(result["efficiency"] / baseline["efficiency"], 3),
            "cpu_per_request": round(result["cpu_ms_per_request"] / baseline["cpu_ms_per_request"], 3),
            "startup": round(result["startup_s"] / baseline["startup_s"], 3),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--clients", nargs="+", default=["harness", "harness-sdk", "lm-eval"])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--json", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
