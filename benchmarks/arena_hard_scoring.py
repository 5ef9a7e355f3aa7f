"""Arena-Hard scoring speed: Bradley–Terry win rates with 100 bootstrap rounds, with and without style
control, for 25 entries x 500 prompts x 2 games, against a straightforward pandas + scikit-learn
reference that refits per round as upstream's scripts do, measured in the same run.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/arena_hard_scoring.py

Both sides get the same battles (synthetic verdicts drawn from known strengths, style features
correlated with them) and the same bootstrap draws; the figures they produce are compared as well.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from harness.pairwise import Battles, bootstrap_battles, logit_percentiles, mean_outcomes, style_controlled


def synthetic(entries: int, prompts: int, seed: int) -> tuple[Battles, np.ndarray]:
    """Battle rows (strong verdicts three times, ties as 0.5) and per-prompt style features."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, float, int]] = []
    features = rng.normal(0.0, 0.3, size=(entries * prompts, 4))
    for j in range(entries):
        strength = rng.uniform(-2.0, 2.0)
        for p in range(prompts):
            group = j * prompts + p
            advantage = strength + 1.5 * features[group, 0]
            for _ in range(2):
                win = 1 / (1 + math.exp(-(advantage - 0.4)))
                loss = 1 / (1 + math.exp(advantage + 0.4))
                u = rng.random()
                value = 0.0 if u < loss else 0.5 if u < 1 - win else 1.0
                weight = 3 if value != 0.5 and rng.random() < 0.35 else 1
                rows += [(j, value, group)] * weight
    return Battles.from_rows([f"entry-{j:02d}" for j in range(entries)], rows, features), features


def reference_plain(battles: Battles, rounds: int, seed: int) -> np.ndarray:
    """Per round: resample the battle rows with pandas, refit Bradley–Terry with scikit-learn (every
    battle twice, a tie once won by each side, Elo-scaled one-hot features), win rates vs baseline."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"entry": battles.entry, "outcome": battles.outcome})
    m = len(battles.entries)
    state = np.random.RandomState(seed)
    rates = np.empty((rounds, m))
    for r in range(rounds):
        sample = frame.sample(frac=1.0, replace=True, random_state=state)
        twice = pd.concat([sample, sample], ignore_index=True)
        x = np.zeros((len(twice), m + 1))
        x[:, m] = math.log(10)  # the baseline
        x[np.arange(len(twice)), twice["entry"].to_numpy()] = -math.log(10)
        outcome = twice["outcome"].to_numpy()
        first = np.arange(len(twice)) < len(sample)
        baseline_won = (outcome == 0.0) | ((outcome == 0.5) & first)
        fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-8).fit(x, baseline_won)
        coef = fit.coef_[0]
        rates[r] = 1 / (1 + 10 ** ((coef[m] - coef[:m]) * 400 / 400))
    return rates


def reference_style(battles: Battles, rounds: int, seed: int) -> np.ndarray:
    """Per round: the resampled rows, z-scored style features and one-hot entries, refitted with
    scikit-learn; win rates at the centred style."""
    from sklearn.linear_model import LogisticRegression

    assert battles.features is not None and battles.group is not None
    m = len(battles.entries)
    per_row = battles.features[battles.group]
    scaled = (per_row - per_row.mean(axis=0)) / per_row.std(axis=0, ddof=1)
    draws = np.random.RandomState(seed).randint(0, battles.size, size=(rounds, battles.size))
    rates = np.empty((rounds, m))
    for r in range(rounds):
        rows = draws[r]
        onehot = np.zeros((len(rows), m))
        onehot[np.arange(len(rows)), battles.entry[rows]] = 1.0
        x = np.hstack([onehot, scaled[rows]])
        outcome = battles.outcome[rows]
        # A tie is half a win: the row once as a win and once as a loss, every other row twice.
        x2 = np.vstack([x, x])
        y2 = np.concatenate([outcome >= 0.5, outcome > 0.5])
        fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-8, max_iter=1000).fit(x2, y2)
        rates[r] = 1 / (1 + np.exp(-fit.coef_[0][:m]))
    return rates


def timed(function: Any, *args: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds (CPU: all threads of this process; robust on a shared machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - started, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=25)
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--reference-rounds",
        type=int,
        default=None,
        help="Rounds of the reference to time (default: --rounds); its time is scaled to --rounds, "
        "since every round is one refit of the same size.",
    )
    args = parser.parse_args()
    reference_rounds = args.reference_rounds or args.rounds
    battles, _ = synthetic(args.entries, args.prompts, 0)
    print(
        f"{args.entries} entries x {args.prompts} prompts x 2 games: {battles.size:,} battle rows, "
        f"{args.rounds} rounds"
    )

    def ours_plain() -> np.ndarray:
        rates = bootstrap_battles(battles, args.rounds, args.seed)
        logit_percentiles(rates, 2.5, 97.5)
        mean_outcomes(battles)
        return rates

    def ours_style() -> np.ndarray:
        return style_controlled(battles, args.rounds, args.seed).win_rates

    rows = []
    for label, ours, reference in (
        ("without style control", ours_plain, lambda: reference_plain(battles, reference_rounds, args.seed)),
        ("with style control", ours_style, lambda: reference_style(battles, reference_rounds, args.seed)),
    ):
        ours(), style_controlled(battles, 2, args.seed)  # warm up imports and caches
        ours_s, ours_cpu, ours_rates = timed(ours)
        reference_s, reference_cpu, reference_rates = timed(reference)
        reference_s *= args.rounds / reference_rounds
        reference_cpu *= args.rounds / reference_rounds
        # Same draws: the first rounds of both sides fit the same resamples.
        shared = min(len(ours_rates), len(reference_rates))
        gap = float(np.nanmax(np.abs(ours_rates[:shared] - reference_rates[:shared])))
        rows.append((label, ours_s, ours_cpu, reference_s, reference_cpu, gap))
    scaled = f" (timed over {reference_rounds} rounds, scaled)" if reference_rounds != args.rounds else ""
    print(f"reference: pandas + scikit-learn, one refit per round{scaled}")
    print(f"{'':24} {'ours s (cpu)':>15} {'reference s (cpu)':>19} {'ratio':>7} {'max |rate diff|':>16}")
    for label, ours_s, ours_cpu, reference_s, reference_cpu, gap in rows:
        print(
            f"{label:24} {ours_s:7.3f} ({ours_cpu:5.3f}) {reference_s:9.2f} ({reference_cpu:7.2f}) "
            f"{reference_s / ours_s:6.0f}x {gap:16.2e}"
        )
    total = sum(r[1] for r in rows)
    print(f"ours in total: {total:.3f} s wall (target: under 2 s and at least 10x the reference)")


if __name__ == "__main__":
    main()
