"""Notebook helpers: runs and samples as pandas DataFrames, and paired comparisons between entries.

    from harness.analysis import runs_df, samples_df, paired_test
    runs = runs_df("results")                      # one row per run
    samples = samples_df("results", task="mmlu_pro")  # one row per (run, sample, epoch)
    paired_test(samples, "qwen1.5-72b-chat", "qwen1.5-7b-chat")

`paired_test` compares two entries on the samples both answered: each sample's score is first averaged
over its epochs, the difference of means gets a percentile-bootstrap CI over samples, and the p-value
comes from a paired permutation test (randomly swapping the two entries' scores on each sample), which
assumes nothing about the score distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.errors import ConfigError, StoreError
from harness.record_cache import build_caches, latest_views, record_table
from harness.run_views import read_run_view, readable_run_views
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_mean
from harness.store import RecentResults, RunDir, iter_runs, run_files_key

RUN_COLUMNS = [
    "task",
    "task_version",
    "entry",
    "model",
    "backend",
    "source",
    "spec_hash",
    "status",
    "headline",
    "score",
    "ci_low",
    "ci_high",
    "n",
    "samples_planned",
    "epochs",
    "limit",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "model_s",
    "total_s",
    "finished_at",
    "path",
]

SAMPLE_COLUMNS = [
    "task",
    "task_version",
    "entry",
    "spec_hash",
    "sample_id",
    "epoch",
    "category",
    "score",
    "parsed",
    "extracted",
    "target",
    "error",
    "finish_reason",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "latency_s",
]


def runs_df(
    root: Path | str = "results", *, task: str | None = None, entry: str | None = None
) -> pd.DataFrame:
    """One row per run: identity, headline score with CI, every metric (by name), usage, cost, timing."""
    runs = list(iter_runs(Path(root)))
    if task is not None or entry is not None:
        runs = [d for d in runs if task in (None, d.task) and entry in (None, d.entry)]
    return _recent_runs.get((Path(root).as_posix(), run_files_key(runs)), lambda: _runs_frame(runs)).copy()


# Frames of the run files last read, by those files' identities: reading them again after no change is
# a lookup (a copy, which the caller may change).
_recent_runs: RecentResults[pd.DataFrame] = RecentResults(4)


def _runs_frame(runs: list[RunDir]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for run_dir in runs:
        try:
            result = read_run_view(run_dir)
        except StoreError:
            continue
        spec = result.spec
        headline = result.metrics.get(result.headline)
        row: dict[str, Any] = {
            "task": spec.task,
            "task_version": spec.task_version,
            "entry": spec.entry,
            "model": spec.model,
            "backend": spec.backend,
            "source": result.provenance,
            "spec_hash": result.spec_hash,
            "status": result.status,
            "headline": result.headline,
            "score": headline.value if headline else None,
            "ci_low": headline.ci_low if headline else None,
            "ci_high": headline.ci_high if headline else None,
            "n": headline.n if headline else 0,
            "samples_planned": result.counts.planned // max(spec.epochs, 1),
            "epochs": spec.epochs,
            "limit": spec.limit,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "reasoning_tokens": result.usage.reasoning_tokens,
            "cost_usd": result.cost_usd,
            "model_s": result.timings.model_s,
            "total_s": result.timings.total_s,
            "finished_at": result.timings.finished_at,
            "path": str(run_dir.path),
        }
        for name, metric in result.metrics.items():
            row.setdefault(name, metric.value)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=RUN_COLUMNS)
    metric_columns = list(dict.fromkeys(name for row in rows for name in row if name not in RUN_COLUMNS))
    rows.sort(key=lambda row: (row["task"], row["entry"], row["spec_hash"]))
    # Column by column: several times faster than from the row dicts for the runs of a large store.
    return pd.DataFrame(
        {column: [row.get(column) for row in rows] for column in RUN_COLUMNS + metric_columns}
    )


def samples_df(
    root: Path | str = "results",
    *,
    task: str | None = None,
    entry: str | None = None,
    text: bool = False,
) -> pd.DataFrame:
    """One row per (run, sample, epoch), the latest record of each. `text=True` adds the completion,
    reasoning and last prompt message (large for full runs). The scalar fields come from each run's
    columnar cache (see `harness.record_cache`), built on the first read of a run (of many runs at once,
    on all cores)."""
    columns: dict[str, list[Any]] = {name: [] for name in SAMPLE_COLUMNS}
    texts: dict[str, list[Any]] = {"prompt": [], "completion": [], "reasoning": []}
    runs = list(readable_run_views(Path(root), task, entry))
    build_caches([run_dir for run_dir, _ in runs])
    for run_dir, result in runs:
        spec = result.spec
        table = record_table(run_dir)
        count = table.num_rows
        columns["task"] += [spec.task] * count
        columns["task_version"] += [spec.task_version] * count
        columns["entry"] += [spec.entry] * count
        columns["spec_hash"] += [result.spec_hash] * count
        for name in table.column_names:
            # Missing scores are NaN (not None), as a float column shows them.
            values = table[name].to_numpy(zero_copy_only=False) if name == "score" else table[name]
            columns[name] += values.tolist() if name == "score" else values.to_pylist()
        if text:
            for view in latest_views(run_dir):
                messages = view.prompt.messages
                texts["prompt"].append(messages[-1].content if messages else "")
                texts["completion"].append(view.completion.text)
                texts["reasoning"].append(view.completion.reasoning)
    if not columns["task"]:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    return pd.DataFrame({**columns, **(texts if text else {})})


@dataclass
class PairedTest:
    """`difference` = mean score of `a` minus that of `b` over the `n` samples both have."""

    task: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float

    def __str__(self) -> str:
        return (
            f"{self.task}: {self.a} {self.mean_a:.3f} vs {self.b} {self.mean_b:.3f} "
            f"on {self.n} shared samples; "
            f"difference {self.difference:+.3f} [{self.ci_low:+.3f}, {self.ci_high:+.3f}] "
            f"({self.confidence:.0%} CI), p = {self.p_value:.4g}"
        )


def _per_sample(samples: pd.DataFrame, entry: str) -> pd.Series:
    mine = samples[(samples["entry"] == entry) & samples["score"].notna()]
    if mine.empty:
        raise ConfigError(
            f"no scored samples for entry {entry!r}; entries present: {sorted(samples['entry'].unique())}"
        )
    runs = mine["spec_hash"].unique()
    if len(runs) > 1:
        raise ConfigError(
            f"entry {entry!r} has samples from {len(runs)} runs ({', '.join(sorted(runs))}); pass one run "
            "per entry (filter the DataFrame on spec_hash) so that different runs are never mixed."
        )
    return mine.groupby("sample_id")["score"].mean()


def paired_test(
    samples: pd.DataFrame,
    a: str,
    b: str,
    *,
    task: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedTest:
    """Compare entries `a` and `b` on the samples both answered (see the module docstring)."""
    if task is not None:
        samples = samples[samples["task"] == task]
    tasks = samples[samples["entry"].isin([a, b])]["task"].unique()
    if len(tasks) != 1:
        raise ConfigError(
            f"the samples of {a!r} and {b!r} span tasks {sorted(tasks)}; pass task= to compare on one task."
        )
    versions = samples[samples["entry"].isin([a, b])]["task_version"].unique()
    if len(versions) > 1:
        raise ConfigError(f"{a!r} and {b!r} were scored with different task versions {sorted(versions)}.")
    scores_a, scores_b = _per_sample(samples, a), _per_sample(samples, b)
    shared = scores_a.index.intersection(scores_b.index)
    if len(shared) < 2:
        raise ConfigError(
            f"{a!r} and {b!r} share {len(shared)} scored samples; a paired test needs at least 2."
        )
    x = scores_a.loc[shared].to_numpy(dtype=float)
    y = scores_b.loc[shared].to_numpy(dtype=float)
    differences = x - y
    interval = bootstrap_mean(list(differences), confidence=confidence, n_resamples=n_resamples, seed=seed)
    assert interval.ci_low is not None and interval.ci_high is not None  # set for any non-empty sample

    def mean_difference(first: np.ndarray, second: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.mean(first, axis=axis) - np.mean(second, axis=axis))

    permutation = stats.permutation_test(
        (x, y),
        mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        batch=200,
        rng=np.random.default_rng(seed),
    )
    return PairedTest(
        task=str(tasks[0]),
        a=a,
        b=b,
        n=len(shared),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        difference=float(differences.mean()),
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        p_value=float(permutation.pvalue),
        confidence=confidence,
    )
