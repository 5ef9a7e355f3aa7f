"""Pairwise battles against one baseline: Bradley–Terry win rates, bootstrap intervals, style control.

Every battle is a row: the entry it involves, and the entry's outcome against the baseline (1 win,
0.5 tie, 0 loss; a decisive verdict may count several times, as Arena-Hard's "significantly better"
counts three). Entries only ever meet the baseline, so the Bradley–Terry model with the baseline
anchored at 0 has one parameter per entry, and its maximum-likelihood win rate against the baseline is
the entry's mean outcome: the fit needs no iterations. With style features (the entry's answer length
and markdown density relative to the baseline's, z-scored) the features' coefficients are shared by
all entries and the fit is a logistic regression, solved here by Newton's method on the few
parameters it has: the entries' strengths form a diagonal block, so each step costs two passes over
the battles.

Bootstrap rounds draw from numpy's legacy `RandomState(seed)` in the order Arena-Hard's scripts draw
from numpy's global generator (pandas' `sample(replace=True)` and `np.random.randint` are the same
`randint` stream), so a seed gives the same resamples as theirs would with `np.random.seed(seed)`.
All rounds are fitted at once, as matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# The style features, in the order Arena-Hard lists them.
STYLE_FEATURES = ("length", "headers", "lists", "bold")
NEWTON_TOLERANCE = 1e-10
NEWTON_MAX_STEPS = 100
# Beyond this a strength is "won (or lost) every battle": the win rate is 1 (or 0) to float precision.
MAX_STRENGTH = 40.0


@dataclass(frozen=True)
class Battles:
    """Battle rows of several entries against one baseline.

    `entry[i]` indexes `entries`; `outcome[i]` is that entry's score in the battle. With style
    control, `group[i]` indexes the row of `features` (answer-level features relative to the
    baseline's, before z-scoring) that battle i was fought with."""

    entries: list[str]
    entry: IntArray
    outcome: FloatArray
    group: IntArray | None = None
    features: FloatArray | None = None

    @classmethod
    def from_rows(
        cls,
        entries: Sequence[str],
        rows: Sequence[tuple[int, float, int]],
        features: FloatArray | None = None,
    ) -> Battles:
        """From `(entry index, outcome, feature row)` triples."""
        table = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        return cls(
            entries=list(entries),
            entry=table[:, 0].astype(np.int64),
            outcome=table[:, 1],
            group=table[:, 2].astype(np.int64) if features is not None else None,
            features=features,
        )

    @property
    def size(self) -> int:
        return len(self.outcome)

    def counts(self) -> IntArray:
        return np.bincount(self.entry, minlength=len(self.entries)).astype(np.int64)


def mean_outcomes(battles: Battles) -> FloatArray:
    """Each entry's Bradley–Terry win rate against the baseline: its mean outcome (NaN: no battle)."""
    m = len(battles.entries)
    counts = np.bincount(battles.entry, minlength=m).astype(np.float64)
    totals = np.bincount(battles.entry, weights=battles.outcome, minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return totals / counts


def bootstrap_battles(battles: Battles, rounds: int, seed: int) -> FloatArray:
    """Win rates over `rounds` resamples of all battle rows together (rounds × entries).

    One draw of `randint(0, n, n)` per round: pandas' `DataFrame.sample(frac=1, replace=True)` on the
    battles, as Arena-Hard v0.1's `get_bootstrap_result` draws them."""
    n, m = battles.size, len(battles.entries)
    draws = np.random.RandomState(seed).randint(0, n, size=(rounds, n))
    slots = (np.arange(rounds)[:, None] * m + battles.entry[draws]).ravel()
    counts = np.bincount(slots, minlength=rounds * m).reshape(rounds, m).astype(np.float64)
    totals = np.bincount(slots, weights=battles.outcome[draws].ravel(), minlength=rounds * m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return totals.reshape(rounds, m) / counts


def bootstrap_entry_means(battles: Battles, rounds: int, seed: int) -> FloatArray:
    """Mean outcomes over `rounds` resamples of each entry's battles on its own (rounds × entries).

    Per round, entries in sorted-name order each draw `randint(0, n_entry, n_entry)`: pandas'
    `groupby("model").sample(frac=1, replace=True)`, as Arena-Hard v2.0's `print_leaderboard`."""
    m = len(battles.entries)
    order = sorted(range(m), key=lambda j: battles.entries[j])
    outcomes = [battles.outcome[battles.entry == j] for j in range(m)]
    state = np.random.RandomState(seed)
    means = np.full((rounds, m), np.nan)
    for r in range(rounds):
        for j in order:
            size = len(outcomes[j])
            if size:
                means[r, j] = outcomes[j][state.randint(0, size, size=size)].mean()
    return means


def logit_percentiles(rates: FloatArray, low: float, high: float) -> tuple[FloatArray, FloatArray]:
    """Percentiles of win rates taken on the Elo (logit) scale, as Arena-Hard v0.1 takes them of
    bootstrap Elo ratings, returned as win rates. `low`/`high` in percent."""
    with np.errstate(divide="ignore"):
        logits = np.log(rates) - np.log1p(-rates)
    lower, upper = np.percentile(logits, [low, high], axis=0)
    return expit(lower), expit(upper)


def relative_style(entry_counts: FloatArray, baseline_counts: FloatArray) -> FloatArray:
    """Arena-Hard v2.0's style features of answers against the baseline's answers to the same prompts.

    Counts are (answers × 4): tokens, headers, list items, bold spans. Length becomes
    (a - b) / (a + b); markdown counts become densities per token, d = count / (tokens + 1), compared
    as (d_a - d_b) / (d_a + d_b + 1)."""
    a, b = entry_counts.astype(np.float64), baseline_counts.astype(np.float64)
    features = np.zeros_like(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        length = (a[:, 0] - b[:, 0]) / (a[:, 0] + b[:, 0])
    # Two empty answers are the same length.
    features[:, 0] = np.nan_to_num(length, nan=0.0)
    density_a = a[:, 1:] / (a[:, :1] + 1)
    density_b = b[:, 1:] / (b[:, :1] + 1)
    features[:, 1:] = (density_a - density_b) / (density_a + density_b + 1)
    return features


@dataclass(frozen=True)
class StyleFit:
    """Bootstrap fits of the Bradley–Terry model with style features."""

    win_rates: FloatArray  # rounds × entries
    coefficients: FloatArray  # rounds × kept features
    features: tuple[str, ...]  # the features kept (those that vary)


def style_controlled(battles: Battles, rounds: int, seed: int, *, centered: bool = True) -> StyleFit:
    """Arena-Hard v2.0's style control: the Bradley–Terry model with z-scored style features, fitted
    on `rounds` resamples of all battle rows (`np.random.randint(0, n, (rounds, n))`).

    Centered (as upstream), a strength is the win rate at the pool's average style difference; not
    centered (features only scaled), at no style difference from the baseline, which is what one
    entry's battles alone can say. Features that do not vary are left out (scaling them is undefined)."""
    if battles.features is None or battles.group is None:
        raise ValueError("style control needs features")
    n, m = battles.size, len(battles.entries)
    per_row = battles.features[battles.group]
    spread = per_row.std(axis=0, ddof=1) if n > 1 else np.zeros(per_row.shape[1])
    kept = np.flatnonzero(spread > 0)
    shift = per_row[:, kept].mean(axis=0) if centered else 0.0
    scaled = (battles.features[:, kept] - shift) / spread[kept]
    draws = np.random.RandomState(seed).randint(0, n, size=(rounds, n))
    # Battles fought with the same features by the same entry differ only in outcome, and the
    # logistic loss is linear in the outcome: fold each resample into one weighted row per group.
    # Rows are laid out by entry, then group, so that sums over a group or an entry are slices.
    entry_of_group = np.zeros(len(battles.features), dtype=np.int64)
    entry_of_group[battles.group] = battles.entry
    group_order = np.argsort(entry_of_group, kind="stable")
    group_rank = np.empty_like(group_order)
    group_rank[group_order] = np.arange(len(group_order))
    row_order = np.argsort(group_rank[battles.group], kind="stable")
    row_rank = np.empty_like(row_order)
    row_rank[row_order] = np.arange(n)
    picked = np.bincount((np.arange(rounds)[:, None] * n + row_rank[draws]).ravel(), minlength=rounds * n)
    picked = picked.reshape(rounds, n).astype(np.float64)
    ranked_groups = group_rank[battles.group][row_order]
    used = np.flatnonzero(np.bincount(ranked_groups, minlength=len(group_order)))
    starts = np.searchsorted(ranked_groups, used)
    weights = np.add.reduceat(picked, starts, axis=1)
    wins = np.add.reduceat(picked * battles.outcome[row_order], starts, axis=1)
    groups_used = group_order[used]
    # Every round starts from the fit to all battles, a few Newton steps from each resample's own.
    entry_used, scaled_used = entry_of_group[groups_used], scaled[groups_used]
    whole = np.add.reduceat(np.ones((1, n)), starts, axis=1)
    whole_wins = np.add.reduceat(battles.outcome[row_order][None, :], starts, axis=1)
    start = fit_bradley_terry(entry_used, m, scaled_used, whole, whole_wins)
    strengths, coefficients = fit_bradley_terry(entry_used, m, scaled_used, weights, wins, start=start)
    present = np.bincount(battles.entry, minlength=m) > 0
    rates = expit(strengths)
    rates[:, ~present] = np.nan
    return StyleFit(rates, coefficients, tuple(STYLE_FEATURES[i] for i in kept))


def fit_bradley_terry(
    entry: IntArray,
    entries: int,
    features: FloatArray,
    weights: FloatArray,
    wins: FloatArray,
    *,
    start: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Maximum-likelihood strengths (baseline = 0) and feature coefficients, one fit per row of
    `weights`/`wins` (rounds × groups: the battles of a group and the outcomes they sum to).

    Each group belongs to one entry and has one feature vector. Newton's method with the entries'
    block of the Hessian diagonal (solved by its Schur complement), halving steps that do not lower
    the loss; strengths are bounded at ±MAX_STRENGTH for an entry that won or lost every battle."""
    rounds, groups = weights.shape
    k = features.shape[1]
    order = np.argsort(entry, kind="stable")
    entry, features, weights, wins = entry[order], features[order], weights[:, order], wins[:, order]
    present = np.flatnonzero(np.bincount(entry, minlength=entries))
    starts = np.searchsorted(entry, present)
    columns = [np.ascontiguousarray(features[:, c]) for c in range(k)]
    # The products of feature pairs per group, so the features' block of the Hessian is one matmul.
    pairs = (features[:, :, None] * features[:, None, :]).reshape(groups, k * k)
    theta = np.zeros((rounds, entries)) if start is None else np.repeat(start[0][:1], rounds, axis=0)
    gamma = np.zeros((rounds, k)) if start is None else np.repeat(start[1][:1], rounds, axis=0)
    z = theta[:, entry] + gamma @ features.T
    loss = _loss(z, weights, wins)
    active = np.arange(rounds)
    for _ in range(NEWTON_MAX_STEPS):
        if not len(active):
            break
        t, g, w, y, za = theta[active], gamma[active], weights[active], wins[active], z[active]
        p = expit(za)
        residual = w * p - y
        curvature = w * p * (1 - p)
        # Sums over each entry's groups (contiguous, entries in order) give its rows of the Hessian.
        grad_t = np.zeros_like(t)
        grad_t[:, present] = np.add.reduceat(residual, starts, axis=1)
        diag = np.full_like(t, 1e-12)
        diag[:, present] += np.add.reduceat(curvature, starts, axis=1)
        cross = np.zeros((len(t), entries, k))
        for c, column in enumerate(columns):
            cross[:, present, c] = np.add.reduceat(curvature * column, starts, axis=1)
        grad_g = residual @ features
        block = (curvature @ pairs).reshape(len(t), k, k)
        schur = block - np.einsum("rjc,rj,rjd->rcd", cross, 1 / diag, cross)
        rhs = grad_g - np.einsum("rjc,rj->rc", cross, grad_t / diag)
        step_g = np.linalg.solve(schur + 1e-12 * np.eye(k), rhs[..., None])[..., 0] if k else rhs
        step_t = (grad_t - np.einsum("rjc,rc->rj", cross, step_g)) / diag
        scale = np.ones(len(t))
        old_loss = loss[active]
        for _ in range(30):
            trial_t = np.clip(t - scale[:, None] * step_t, -MAX_STRENGTH, MAX_STRENGTH)
            trial_g = g - scale[:, None] * step_g
            trial_z = trial_t[:, entry] + trial_g @ features.T
            new_loss = _loss(trial_z, w, y)
            worse = new_loss > old_loss + 1e-12 * np.abs(old_loss)
            if not worse.any():
                break
            scale[worse] /= 2
        moved = np.maximum(
            np.abs(trial_t - t).max(axis=1, initial=0.0), np.abs(trial_g - g).max(axis=1, initial=0.0)
        )
        theta[active], gamma[active], z[active], loss[active] = trial_t, trial_g, trial_z, new_loss
        active = active[moved >= NEWTON_TOLERANCE]
    return theta, gamma


def _loss(z: FloatArray, weights: FloatArray, wins: FloatArray) -> FloatArray:
    """Binary cross-entropy (fractional outcomes) summed per round: Σ w·log(1+e^z) - y·z."""
    return np.asarray((weights * np.logaddexp(0.0, z) - wins * z).sum(axis=1))
