"""Confidence intervals for per-sample scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from scipy import stats

from harness.types import Metric

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95


def cluster_means(values: Sequence[float], clusters: Sequence[str]) -> list[float]:
    """Average the values of each cluster (e.g. the epochs of one question), in first-seen order."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for value, cluster in zip(values, clusters, strict=True):
        grouped[cluster].append(value)
    return [float(np.mean(group)) for group in grouped.values()]


def bootstrap_mean(
    values: Sequence[float],
    *,
    clusters: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Metric:
    """Mean with a percentile-bootstrap CI.

    With `clusters`, whole clusters are resampled (repeats of one question are not independent), so
    the interval reflects the number of questions, not the number of generations.
    """
    if not values:
        raise ValueError("a mean of no values is undefined")
    units = cluster_means(values, clusters) if clusters is not None else [float(v) for v in values]
    mean = float(np.mean(values))
    data = np.asarray(units, dtype=float)
    if len(data) < 2 or np.all(data == data[0]):
        return Metric(value=mean, ci_low=float(data.min()), ci_high=float(data.max()), n=len(values))
    result = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        batch=200,
        rng=np.random.default_rng(seed),
    )
    return Metric(
        value=mean,
        ci_low=float(result.confidence_interval.low),
        ci_high=float(result.confidence_interval.high),
        n=len(values),
    )


def proportion(flags: Sequence[bool]) -> Metric:
    """A plain rate (no CI): for bookkeeping figures such as the unparsed rate."""
    if not flags:
        raise ValueError("a rate over no samples is undefined")
    return Metric(value=sum(flags) / len(flags), n=len(flags))


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k from `n` samples with `c` correct (Chen et al. 2021,
    "Evaluating Large Language Models Trained on Code"): 1 - C(n-c, k) / C(n, k), as a stable product."""
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n and 0 <= c <= n (n={n}, c={c})")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_metric(counts: Sequence[tuple[int, int]], k: int, *, seed: int = 0) -> Metric:
    """Mean pass@k over problems given `(samples, correct)` per problem; the CI resamples problems."""
    if not counts:
        raise ValueError("pass@k over no problems is undefined")
    return bootstrap_mean([pass_at_k(n, c, k) for n, c in counts], seed=seed)
