"""Site build time and page weight for a large board: 50 entries x 5 tasks with full sample sets.

    python benchmarks/site_build.py                 # the full size (a few GB in a temp dir)
    python benchmarks/site_build.py --scale 0.1     # every task at a tenth of its samples

Runs are synthesised in a temporary folder with the sizes real runs have: MMLU-Pro 5-shot and 0-shot
(12,032 questions, ~1.2 kB chain-of-thought answers, the few-shot prefixes stored once per run),
GPQA-Diamond (198 questions x 4 epochs), an Arena-Hard-shaped task (500 prompts, long answers, two
judge games per sample in the score details) and a LiveCodeBench-shaped task (880 problems, code
answers, per-test outcomes in the details). The last two are registered for this process only.

Reported, each against a baseline measured in the same run:
- build seconds, and the ratio to just reading and validating every run file (the floor of any build);
- site bytes, and the ratio to the run files' bytes;
- initial page weight (the HTML plus the scripts and styles it loads before any interaction; the
  sample shards load later, on demand) for the leaderboard, a task page and a sample browser page,
  and the size of one sample shard.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import tasks as task_registry
from harness.board import load_board
from harness.site import build_site
from harness.store import RunDir, iter_runs
from harness.task import LoadedData, ScoringContext, Task
from harness.types import (
    Completion,
    Counts,
    DataRef,
    GenerationConfig,
    Message,
    Metric,
    Prompt,
    RunResult,
    RunSpec,
    Sample,
    Score,
    Timings,
    Usage,
)

REPO = Path(__file__).resolve().parents[1]
VOCABULARY = (
    "the of and to in is that for it as with was on be by this are from at or an which not have has "
    "answer option energy function value system model question because therefore step first second "
    "reaction law market theorem matrix protein velocity court contract integer array string loop"
)
WORDS = VOCABULARY.split()


class SyntheticJudged(Task):
    """Shaped like Arena-Hard: open prompts, long answers, two judge games per sample."""

    name = "arena_hard_bench"
    version = "1"
    dataset = "synthetic"
    headline = "win_rate"

    def load(self, data_dir: Path | None) -> LoadedData:
        return LoadedData(samples=[Sample(id=str(i)) for i in range(500)], ref=DataRef(dataset="synthetic"))

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        return Prompt(messages=[Message(role="user", content=f"prompt {sample.id}")], target="")

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        return Score(value=float(len(completion.text) % 2), details={"games": []})


class SyntheticCode(Task):
    """Shaped like LiveCodeBench: code answers, one outcome per test case in the details."""

    name = "livecodebench_bench"
    version = "1"
    dataset = "synthetic"
    headline = "pass_at_1"

    def load(self, data_dir: Path | None) -> LoadedData:
        return LoadedData(samples=[Sample(id=str(i)) for i in range(880)], ref=DataRef(dataset="synthetic"))

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        return Prompt(messages=[Message(role="user", content=f"problem {sample.id}")], target="")

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        return Score(value=0.0, details={"tests": []})


# (task, questions, epochs, categories, prompt chars, completion chars, detail kind)
TASKS: list[tuple[str, int, int, int, int, int, str]] = [
    ("mmlu_pro", 12032, 1, 14, 700, 1200, "extraction"),
    ("mmlu_pro_0shot", 12032, 1, 14, 900, 1300, "extraction"),
    ("gpqa_diamond", 198, 4, 3, 1500, 2000, "none"),
    ("arena_hard_bench", 500, 1, 2, 800, 3000, "judge"),
    ("livecodebench_bench", 880, 1, 3, 2500, 2500, "tests"),
]


class Text:
    """Fast pseudo-text: slices of one long random blob."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.blob = " ".join(rng.choice(WORDS) for _ in range(400_000))
        self.rng = rng

    def __call__(self, chars: int) -> str:
        chars = max(8, int(chars * self.rng.uniform(0.5, 1.5)))
        start = self.rng.randrange(0, len(self.blob) - chars)
        return self.blob[start : start + chars]


def details(kind: str, text: Text, rng: random.Random) -> dict[str, Any]:
    if kind == "extraction":
        return {"extraction_step": rng.choice([1, 1, 1, 2, 3])}
    if kind == "judge":
        return {
            "games": [
                {"swap": swap, "verdict": rng.choice(["A>>B", "A>B", "A=B", "B>A"]), "judgment": text(1800)}
                for swap in (False, True)
            ]
        }
    if kind == "tests":
        return {
            "tests": [
                {"input": text(40), "expected": text(20), "output": text(20), "passed": rng.random() < 0.6}
                for _ in range(rng.randint(8, 25))
            ]
        }
    return {}


def records_for(
    spec: tuple[str, int, int, int, int, int, str], entry_index: int, scale: float, text: Text
) -> Iterator[dict[str, Any]]:
    task, questions, epochs, categories, prompt_chars, completion_chars, kind = spec
    rng = random.Random(entry_index * 1000 + len(task))
    skill = 0.2 + 0.7 * entry_index / 50
    for question in range(max(1, int(questions * scale))):
        category = f"category {question % categories}"
        prompt = text(prompt_chars)
        for epoch in range(epochs):
            value = 1.0 if rng.random() < skill else 0.0
            letter = rng.choice("ABCDEFGHIJ")
            score = Score(
                value=value, extracted=letter, parsed=rng.random() > 0.03, details=details(kind, text, rng)
            )
            completion = Completion(
                text=text(completion_chars) + f" The answer is ({letter}).",
                finish_reason="stop",
                usage=Usage(input_tokens=prompt_chars // 4, output_tokens=completion_chars // 4),
                latency_s=round(rng.uniform(0.5, 20.0), 3),
                model=f"model-{entry_index}",
            )
            yield {
                "sample_id": str(question),
                "epoch": epoch,
                "category": category,
                "prompt": {
                    "messages": [{"role": "user", "content": prompt}],
                    "target": letter,
                    "choices": [],
                    "prefix_key": category if task == "mmlu_pro" else None,
                    "metadata": {},
                },
                "completion": completion.model_dump(mode="json"),
                "score": score.model_dump(mode="json"),
            }


def metric(values: Sequence[float]) -> Metric:
    n = len(values)
    mean = sum(values) / n
    half = 1.96 * (mean * (1 - mean) / n) ** 0.5
    return Metric(value=mean, ci_low=max(0.0, mean - half), ci_high=min(1.0, mean + half), n=n)


def synthesise(root: Path, entries: int, scale: float) -> int:
    text = Text(0)
    total = 0
    for spec in TASKS:
        task, _, epochs, categories, *_ = spec
        prefixes = {f"category {c}": text(8000) for c in range(categories)} if task == "mmlu_pro" else {}
        for index in range(entries):
            entry = f"entry-{index:02d}"
            run_spec = RunSpec(
                task=task,
                task_version="1",
                entry=entry,
                model=f"model-{index}",
                backend="openai_compat",
                generation=GenerationConfig(),
                epochs=epochs,
                task_params={"shots": 5}
                if task == "mmlu_pro"
                else ({"shots": 0} if task == "mmlu_pro_0shot" else {}),
                data=DataRef(dataset=task, fingerprint="synthetic"),
            )
            spec_hash = run_spec.spec_hash()
            run_dir = RunDir.for_spec(root, task, entry, spec_hash)
            run_dir.path.mkdir(parents=True)
            values: list[float] = []
            by_category: dict[str, list[float]] = {}
            usage = Usage()
            with open(run_dir.samples_path, "w", encoding="utf-8") as out:
                for record in records_for(spec, index, scale, text):
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    values.append(record["score"]["value"])
                    by_category.setdefault(record["category"], []).append(record["score"]["value"])
                    usage = usage + Usage(**record["completion"]["usage"])
            headline = (
                SyntheticJudged.headline
                if task == "arena_hard_bench"
                else (SyntheticCode.headline if task == "livecodebench_bench" else "accuracy")
            )
            result = RunResult(
                spec=run_spec,
                spec_hash=spec_hash,
                status="complete",
                headline=headline,
                metrics={headline: metric(values), "error_rate": Metric(value=0.0, n=len(values))},
                categories={c: {headline: metric(v)} for c, v in sorted(by_category.items())},
                counts=Counts(planned=len(values), scored=len(values), generated=len(values)),
                usage=usage,
                timings=Timings(finished_at="2026-01-01T00:00:00+00:00"),
                prompt_prefixes=prefixes,
            )
            run_dir.write_result(result)
            total += len(values)
    return total


def board_file(root: Path, entries: int) -> Path:
    models = ["default_entry: entry-00", "entries:"]
    for index in range(entries):
        models += [
            f"  entry-{index:02d}:",
            f"    display_name: Synthetic model {index}",
            "    organisation: Benchmark",
            "    backend: openai_compat",
            f"    model: model-{index}",
            "    price:",
            f"      input_per_mtok: {0.1 * (index + 1):.2f}",
            f"      output_per_mtok: {0.4 * (index + 1):.2f}",
            "      as_of: 2026-01-01",
        ]
    (root / "models.yaml").write_text("\n".join(models) + "\n")
    tasks = "\n".join(f"  - {{id: {spec[0]}, samples: {spec[1]}, chance: 0.1}}" for spec in TASKS)
    names = ", ".join(f"entry-{i:02d}" for i in range(entries))
    board = root / "big-board.yaml"
    board.write_text(f"title: Fifty entries\nmodels: models.yaml\nentries: [{names}]\ntasks:\n{tasks}\n")
    return board


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def initial_weight(site: Path, page: Path) -> int:
    """The page plus the local scripts and styles it references (lazily loaded shards excluded)."""
    html = page.read_text(encoding="utf-8")
    size = page.stat().st_size
    for link in re.findall(r'(?:src|href)="([^"#]+\.(?:js|css))"', html):
        size += (page.parent / link).resolve().stat().st_size
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each task's samples")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the runs and site here")
    args = parser.parse_args()

    task_registry.TASKS["arena_hard_bench"] = (SyntheticJudged, {})
    task_registry.TASKS["livecodebench_bench"] = (SyntheticCode, {})
    work = args.workdir or Path(tempfile.mkdtemp(prefix="site-bench-"))
    try:
        runs = work / "results"
        started = time.perf_counter()
        records = synthesise(runs, args.entries, args.scale)
        synth_s = time.perf_counter() - started
        board = load_board(board_file(work, args.entries))

        started = time.perf_counter()
        for run_dir in iter_runs(runs):
            run_dir.read_result()
            run_dir.read_records()
        read_s = time.perf_counter() - started

        site = work / "site"
        report = build_site(board, runs, site)
        sample_pages = sorted((site / "samples" / "mmlu_pro").glob("*.html"))
        shards = sorted((site / "data" / "samples" / "mmlu_pro").rglob("shard-*.js"))
        figures = {
            "entries": args.entries,
            "tasks": len(TASKS),
            "records": records,
            "synthesise_s": round(synth_s, 1),
            "read_baseline_s": round(read_s, 1),
            "build_s": round(report.seconds, 1),
            "build_over_read": round(report.seconds / read_s, 2),
            "results_mb": round(folder_bytes(runs) / 1e6, 1),
            "site_mb": round(report.bytes / 1e6, 1),
            "site_over_results": round(report.bytes / folder_bytes(runs), 2),
            "pages": report.pages,
            "files": report.files,
            "index_initial_kb": round(initial_weight(site, site / "index.html") / 1e3, 1),
            "task_page_initial_kb": round(initial_weight(site, site / "tasks" / "mmlu_pro.html") / 1e3, 1),
            "sample_page_initial_kb": round(initial_weight(site, sample_pages[0]) / 1e3, 1),
            "plotly_js_kb": round((site / "static" / "plotly.min.js").stat().st_size / 1e3, 1),
            "shard_kb_mean": round(sum(p.stat().st_size for p in shards) / len(shards) / 1e3, 1),
        }
        print(json.dumps(figures, indent=2))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
