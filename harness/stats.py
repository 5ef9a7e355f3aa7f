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
