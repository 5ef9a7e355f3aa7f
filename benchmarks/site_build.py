"""Site builds and notebook reads for a large board: 50 entries x 5 tasks with full sample sets.

    python benchmarks/site_build.py                 # the full size (about 9 GB in a temp dir)
    python benchmarks/site_build.py --scale 0.1     # every task at a tenth of its samples

Runs are synthesised in a temporary folder with the sizes real runs have: MMLU-Pro 5-shot and 0-shot
(12,032 questions, ~1.2 kB chain-of-thought answers, the few-shot prefixes stored once per run),
GPQA-Diamond (198 questions x 4 epochs), an Arena-Hard-shaped task (500 prompts, long answers, two
judge games per sample in the score details) and a LiveCodeBench-shaped task (880 problems, code
answers, per-test outcomes in the details). As on a real board, every entry is sent the same prompt
for a question; answers, scores and details differ per entry. The last two tasks are registered for
the processes of this benchmark only.

The baseline is the code of an earlier commit (`--baseline-ref`, by default the last one before the
site became incremental), taken from this repository's history with `git archive` and run in a
subprocess on the same runs, in the same invocation. Reported, each with its ratio to the baseline:
- the cold build (no previous site, no caches), and an incremental rebuild after adding one run (a
  newer run of one entry on MMLU-Pro) and after no change at all, in seconds and in CPU seconds
  (the processes' own time, which other work on a shared machine disturbs less);
- site bytes (and the run files' bytes), and the initial page weight of the leaderboard, a task page
  and a sample browser page (the HTML plus the scripts and styles it loads before any interaction);
- notebook reads over the whole store: `runs_df`, `samples_df` and `aggregate`, each read twice after
  the build in the same process, by the baseline and by us: the first read (ours builds the record
  caches) and the read again (a notebook re-running a cell; the median of `REPEATS` reads for those
  under a second), each with its ratio to the baseline's read of the same rank, and their results
  checked equal to the baseline's.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import tasks as registry
from harness.aggregate import aggregate
from harness.analysis import runs_df, samples_df
from harness.board import load_board
from harness.site import build_site
from harness.store import RunDir
from harness.types import (
    Completion,
    Counts,
    DataRef,
    GenerationConfig,
    Metric,
    RunResult,
    RunSpec,
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


# The site needs a task's name, version and headline only: these two are registered for this process
# (and the baseline's) with nothing else, so that they work with either tree's Task class.
SYNTHETIC_TASKS = {"arena_hard_bench": "win_rate", "livecodebench_bench": "pass_at_1"}
REGISTER = f"""
import tasks as registry
from harness.task import Task

def _unused(self, *args, **kwargs):
    raise NotImplementedError("a synthetic benchmark task only names itself")

# Today's registry holds (class, fixed arguments); the baseline's held factories.
_pairs = isinstance(next(iter(registry.TASKS.values())), tuple)
for _name, _headline in {SYNTHETIC_TASKS}.items():
    _cls = type(
        _name,
        (Task,),
        {{"name": _name, "version": "1", "dataset": "synthetic", "headline": _headline,
          **{{method: _unused for method in Task.__abstractmethods__}}}},
    )
    registry.TASKS[_name] = (_cls, {{}}) if _pairs else _cls
"""
SHOTS: dict[str, dict[str, Any]] = {"mmlu_pro": {"shots": 5}, "mmlu_pro_0shot": {"shots": 0}}
BASELINE_REF = "2efe8139ffa37ba958993f33d0eb9e7ac3a42ddf"
# Every task of the baseline's registry was at version 1; the runs it reads are labelled so, and the
# `task_version` column is the one left out when its frames are compared with ours.
BASELINE_TASK_VERSION = "1"


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
    spec: tuple[str, int, int, int, int, int, str],
    entry_index: int,
    prompts: list[str],
    text: Text,
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    task, _, epochs, categories, _, completion_chars, kind = spec
    rng = random.Random(entry_index * 1000 + len(task) + seed * 7919)
    skill = 0.2 + 0.7 * entry_index / 50
    for question, prompt in enumerate(prompts):
        category = f"category {question % categories}"
        for epoch in range(epochs):
            value = 1.0 if rng.random() < skill else 0.0
            letter = rng.choice("ABCDEFGHIJ")
            score = Score(
                value=value, extracted=letter, parsed=rng.random() > 0.03, details=details(kind, text, rng)
            )
            completion = Completion(
                text=text(completion_chars) + f" The answer is ({letter}).",
                finish_reason="stop",
                usage=Usage(input_tokens=len(prompt) // 4, output_tokens=completion_chars // 4),
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
                # Without the judge's fields (unset here), which the baseline's records did not have.
                "score": score.model_dump(mode="json", exclude={"judge_usage", "judge_cost_usd"}),
            }


def metric(values: Sequence[float]) -> Metric:
    n = len(values)
    mean = sum(values) / n
    half = 1.96 * (mean * (1 - mean) / n) ** 0.5
    return Metric(value=mean, ci_low=max(0.0, mean - half), ci_high=min(1.0, mean + half), n=n)


class Synthesis:
    """Each task's prompts and prefixes, made once and shared by every entry's run."""

    def __init__(self, scale: float) -> None:
        self.text = Text(0)
        self.prompts: dict[str, list[str]] = {}
        self.prefixes: dict[str, dict[str, str]] = {}
        for task, questions, _, categories, prompt_chars, *_ in TASKS:
            self.prompts[task] = [self.text(prompt_chars) for _ in range(max(1, int(questions * scale)))]
            self.prefixes[task] = (
                {f"category {c}": self.text(8000) for c in range(categories)} if task == "mmlu_pro" else {}
            )

    def write_run(
        self,
        root: Path,
        spec: tuple[str, int, int, int, int, int, str],
        index: int,
        seed: int = 0,
        finished_at: str = "2026-01-01T00:00:00+00:00",
    ) -> int:
        task, _, epochs, *_ = spec
        entry = f"entry-{index:02d}"
        run_spec = RunSpec(
            task=task,
            task_version=registry.task_class(task).version,
            entry=entry,
            model=f"model-{index}",
            backend="openai_compat",
            generation=GenerationConfig(),
            epochs=epochs,
            seed=seed,
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
            for record in records_for(spec, index, self.prompts[task], self.text, seed):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                values.append(record["score"]["value"])
                by_category.setdefault(record["category"], []).append(record["score"]["value"])
                usage = usage + Usage(**record["completion"]["usage"])
        headline = SYNTHETIC_TASKS.get(task, "accuracy")
        result = RunResult(
            spec=run_spec,
            spec_hash=spec_hash,
            status="complete",
            headline=headline,
            metrics={headline: metric(values), "error_rate": Metric(value=0.0, n=len(values))},
            categories={c: {headline: metric(v)} for c, v in sorted(by_category.items())},
            counts=Counts(planned=len(values), scored=len(values), generated=len(values)),
            usage=usage,
            timings=Timings(finished_at=finished_at),
            prompt_prefixes=self.prefixes[task],
        )
        run_dir.write_result(result)
        return len(values)


def synthesise(root: Path, entries: int, synthesis: Synthesis) -> int:
    return sum(synthesis.write_run(root, spec, index) for spec in TASKS for index in range(entries))


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


# Reads under a second are read again this many times, and the median is reported: alone, a read of
# milliseconds in a process holding gigabytes shows the collector's pauses more than its own work.
REPEATS = 5

BASELINE_DRIVER = (
    REGISTER
    + f"REPEATS = {REPEATS}\n"
    + """
import json, pickle, statistics, sys, time
from pathlib import Path
from harness.aggregate import aggregate
from harness.analysis import runs_df, samples_df
from harness.board import load_board
from harness.site import build_site

board_path, runs, site, frames = (Path(arg) for arg in sys.argv[1:5])
board = load_board(board_path)
figures = {}
started, cpu = time.perf_counter(), time.process_time()
report = build_site(board, runs, site)
figures["build_s"] = time.perf_counter() - started
figures["build_cpu_s"] = time.process_time() - cpu
figures["samples"] = report.samples
reads = {
    "runs_df": lambda: runs_df(runs),
    "samples_df": lambda: samples_df(runs),
    "aggregate": lambda: aggregate(board, runs),
}
results = {}
for name, read in reads.items():
    started = time.perf_counter()
    results[name] = read()
    figures[name + "_first_s"] = time.perf_counter() - started
    again = []
    for _ in range(REPEATS if figures[name + "_first_s"] < 1 else 1):
        started = time.perf_counter()
        results[name] = read()
        again.append(time.perf_counter() - started)
    figures[name + "_again_s"] = statistics.median(again)
data = results.pop("aggregate")
results["aggregate"] = [data.cells, data.leaderboard, data.categories, data.skipped]
frames.write_bytes(pickle.dumps(results))
print(json.dumps(figures))
"""
)


def schema_1_run(run: dict[str, Any]) -> dict[str, Any]:
    """A synthetic run.json as the baseline's schema 1 wrote it: no provenance (every run here is a run
    of our own), no fields added since, and no nulls where schema 1 had an empty object."""

    def without_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        return value

    older: dict[str, Any] = without_nulls(run)
    assert older.pop("provenance") == "run" and older["schema_version"] == 2
    older["schema_version"] = 1
    older["spec"]["task_version"] = BASELINE_TASK_VERSION
    return older


def schema_1_mirror(runs: Path, mirror: Path) -> Path:
    """The same runs for the baseline, which reads schema 1 only: samples.jsonl hard-linked (the very
    same bytes), run.json rewritten by `schema_1_run`. Current code reads either schema."""
    for run_file in sorted(runs.glob("*/*/*/run.json")):
        target = mirror / run_file.parent.relative_to(runs)
        target.mkdir(parents=True)
        (target / "samples.jsonl").hardlink_to(run_file.parent / "samples.jsonl")
        run = schema_1_run(json.loads(run_file.read_text(encoding="utf-8")))
        (target / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return mirror


def run_baseline(ref: str, work: Path, board_path: Path, runs: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The baseline commit's build and reads on the same runs, in a subprocess of its own."""
    tree = work / "baseline-tree"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "harness", "tasks", "site"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    frames = work / "baseline-frames.pickle"
    their_runs = schema_1_mirror(runs, work / "baseline-results")
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            BASELINE_DRIVER,
            str(board_path),
            str(their_runs),
            str(work / "baseline-site"),
            str(frames),
        ],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the baseline failed:\n{completed.stderr[-3000:]}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["site_bytes"] = folder_bytes(work / "baseline-site")
    results = pickle.loads(frames.read_bytes())
    shutil.rmtree(work / "baseline-site")
    shutil.rmtree(their_runs)
    frames.unlink()
    return figures, results


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def cpu_seconds() -> float:
    """This process's CPU time and that of its finished children (the build's export workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def same_frames(mine: pd.DataFrame, theirs: pd.DataFrame, runs: Path, their_runs: Path) -> bool:
    """Equal on the baseline's columns, its run paths read as ours, `task_version` aside (see
    BASELINE_TASK_VERSION); columns added since are listed, not compared."""
    added = [c for c in mine.columns if c not in theirs.columns]
    if added:
        print(f"columns added since the baseline (not compared): {added}", file=sys.stderr)
    shared = [c for c in theirs.columns if c != "task_version"]
    theirs = theirs[shared].copy()
    for column in shared:
        values = theirs[column]
        if not pd.api.types.is_numeric_dtype(values) and values.map(lambda v: isinstance(v, str)).any():
            relocated = [v.replace(str(their_runs), str(runs)) if isinstance(v, str) else v for v in values]
            theirs[column] = pd.Series(relocated, index=values.index, dtype=values.dtype)
    try:
        pd.testing.assert_frame_equal(mine[shared] if set(shared) <= set(mine.columns) else mine, theirs)
    except AssertionError as exc:
        print(f"differs from the baseline: {exc}", file=sys.stderr)
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each task's samples")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the runs and site here")
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="the commit measured as the baseline")
    args = parser.parse_args()

    exec(REGISTER, {})
    work = args.workdir or Path(tempfile.mkdtemp(prefix="site-bench-"))
    try:
        runs = work / "results"
        synthesis = Synthesis(args.scale)
        synth_s, records = timed(lambda: synthesise(runs, args.entries, synthesis))
        board_path = board_file(work, args.entries)
        board = load_board(board_path)
        baseline, theirs = run_baseline(args.baseline_ref, work, board_path, runs)

        site = work / "site"
        cpu = cpu_seconds()
        cold_s, report = timed(lambda: build_site(board, runs, site))
        cold_cpu_s = cpu_seconds() - cpu
        if report.samples != baseline["samples"]:
            raise SystemExit(
                f"the builds disagree: {report.samples} samples here, {baseline['samples']} there"
            )
        first: dict[str, float] = {}
        warm: dict[str, float] = {}
        mine: dict[str, Any] = {}
        reads: dict[str, Callable[[], Any]] = {
            "runs_df": lambda: runs_df(runs),
            "samples_df": lambda: samples_df(runs),
            "aggregate": lambda: aggregate(board, runs),
        }
        for name, read in reads.items():
            first[name], _ = timed(read)
            again = [timed(read) for _ in range(REPEATS if first[name] < 1 else 1)]
            warm[name], mine[name] = statistics.median(t for t, _ in again), again[-1][1]
        data = mine.pop("aggregate")
        their_runs = work / "baseline-results"
        identical = same_frames(mine["runs_df"], theirs["runs_df"], runs, their_runs) and same_frames(
            mine["samples_df"], theirs["samples_df"], runs, their_runs
        )
        for frame, other in zip(
            [data.cells, data.leaderboard, data.categories, data.skipped], theirs["aggregate"], strict=True
        ):
            identical = same_frames(frame, other, runs, their_runs) and identical

        cpu = cpu_seconds()
        unchanged_s, unchanged = timed(lambda: build_site(board, runs, site))
        unchanged_cpu_s = cpu_seconds() - cpu
        # One more run: a newer run of the first entry on MMLU-Pro, which the board then shows instead.
        mmlu = next(spec for spec in TASKS if spec[0] == "mmlu_pro")
        synthesis.write_run(runs, mmlu, 0, seed=1, finished_at="2026-02-01T00:00:00+00:00")
        cpu = cpu_seconds()
        incremental_s, incremental = timed(lambda: build_site(board, runs, site))
        incremental_cpu_s = cpu_seconds() - cpu

        sample_pages = sorted((site / "samples" / "mmlu_pro").glob("*.html"))
        shards = sorted((site / "data" / "samples" / "mmlu_pro").glob("*~*.js"))
        figures = {
            "entries": args.entries,
            "tasks": len(TASKS),
            "records": records,
            "synthesise_s": round(synth_s, 1),
            "baseline_ref": args.baseline_ref[:12],
            "baseline_build_s": round(baseline["build_s"], 1),
            "cold_build_s": round(cold_s, 1),
            "cold_speedup": round(baseline["build_s"] / cold_s, 1),
            "baseline_build_cpu_s": round(baseline["build_cpu_s"], 1),
            "cold_build_cpu_s": round(cold_cpu_s, 1),
            "cold_cpu_ratio": round(baseline["build_cpu_s"] / cold_cpu_s, 1),
            "rebuild_unchanged_s": round(unchanged_s, 2),
            "rebuild_unchanged_cpu_s": round(unchanged_cpu_s, 2),
            "rebuild_unchanged_reused_cells": unchanged.reused,
            "incremental_build_s": round(incremental_s, 2),
            "incremental_cpu_s": round(incremental_cpu_s, 2),
            "incremental_exported_cells": incremental.exported,
            "incremental_speedup": round(baseline["build_s"] / incremental_s, 1),
            "results_mb": round(folder_bytes(runs) / 1e6, 1),
            "baseline_site_mb": round(baseline["site_bytes"] / 1e6, 1),
            "site_mb": round(report.bytes / 1e6, 1),
            "site_over_baseline": round(report.bytes / baseline["site_bytes"], 3),
            "site_over_results": round(report.bytes / folder_bytes(runs), 3),
            "pages": report.pages,
            "files": report.files,
            "index_initial_kb": round(initial_weight(site, site / "index.html") / 1e3, 1),
            "task_page_initial_kb": round(initial_weight(site, site / "tasks" / "mmlu_pro.html") / 1e3, 1),
            "sample_page_initial_kb": round(initial_weight(site, sample_pages[0]) / 1e3, 1),
            "shard_kb_mean": round(sum(p.stat().st_size for p in shards) / len(shards) / 1e3, 1),
            "reads_identical_to_baseline": identical,
        }
        for name in reads:
            figures[f"{name}_baseline_first_s"] = round(baseline[f"{name}_first_s"], 3)
            figures[f"{name}_first_s"] = round(first[name], 3)
            figures[f"{name}_speedup_first"] = round(baseline[f"{name}_first_s"] / first[name], 1)
            figures[f"{name}_baseline_again_s"] = round(baseline[f"{name}_again_s"], 3)
            figures[f"{name}_again_s"] = round(warm[name], 3)
            figures[f"{name}_speedup_again"] = round(baseline[f"{name}_again_s"] / warm[name], 1)
        print(json.dumps(figures, indent=2))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
