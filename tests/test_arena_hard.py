"""Arena-Hard: upstream's judge prompts and verdicts, Bradley–Terry and bootstrap figures against
upstream's own `show_result.py` and an independent scikit-learn fit, style control, both schemas of
judgments and answers, and the embedded model answering and judging end to end.

Golden values were obtained by running lmarena/arena-hard-auto's code (v2.0 at 196f6b8, v0.1 at
3071ef9) outside the project: its judging functions with a scripted judge on the prompts below, its
`get_score` functions on the texts below, and its `show_result.py` on the files `tests.arena_support`
writes (file lists sorted, numpy seeded as noted).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from harness.errors import DataError
from harness.importers.arena_hard import import_judgments, import_leaderboard, import_readme_tables
from harness.pairwise import Battles, bootstrap_battles, logit_percentiles, mean_outcomes, style_controlled
from harness.store import RunDir, latest_records, read_jsonl
from harness.task import Baseline, ScoringContext
from harness.types import Completion, GenerationRequest, Message, Sample, Usage
from tasks import get_task
from tasks.arena_hard import ArenaHard, ArenaHardV2, read_answers
from tasks.arena_hard_protocol import (
    CREATIVE_SYSTEM_PROMPT,
    SYSTEM_PROMPT,
    answer_style,
    judge_messages,
    token_length,
    verdict_v01,
    verdict_v2,
)
from tests.arena_support import GOLDEN_V01, GOLDEN_V2, Bench, write_bench
from tests.conftest import MODELS_FILE, run_cli

QUESTION = "Write a haiku about {QUESTION} and {question_1}.\nSecond line: ANSWER_A é中."
BASELINE = "Baseline answer\nwith two lines {not a field}"


def digest(messages: Sequence[Message]) -> str:
    dumped = [{"role": m.role, "content": m.content} for m in messages]
    return hashlib.sha256(json.dumps(dumped, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


# --- Verdicts: upstream's get_score on hand-written judgments --------------------------------------

VERDICTS = [
    # text, v2.0 (196f6b8 get_score), v0.1 (3071ef9 get_score: label, ask again)
    ("My final verdict is tie: [[A=B]]", "A=B", ("A=B", False)),
    ("No verdict at all.", None, (None, True)),
    ("First [[A>B]], then after reflection [[B>>A]].", "B>>A", (None, False)),
    ("[[A>B]] and again [[A>B]]", "A>B", ("A>B", False)),
    ("lower case [[a>>b]]", "A>>B", (None, True)),
    ("single brackets [B>A]", "B>A", (None, True)),
    ("[[A>B]] with a stray [B>>A]", "A>B", ("A>B", False)),
    ("malformed [[A>>>B]]", "A>>>B", ("A>>>B", False)),
    ("malformed [[AB]]", "AB", ("AB", False)),
    ("[[C>D]] is not a verdict", None, (None, True)),
    ("[[]] empty", None, (None, True)),
    ("Assistant B is better: [[B<A]]", "B<A", ("B<A", False)),
    ("both [[A=B]] [[B=A]]", "B=A", (None, False)),
    ("[[A>B]\n]] broken", "A>B", (None, True)),
    ("Final verdict: [[B>A]]\n\nCorrection: [[A=B]]", "A=B", (None, False)),
]


@pytest.mark.parametrize(("text", "v2", "v01"), VERDICTS)
def test_verdicts_parse_as_upstream(text: str, v2: str | None, v01: tuple[str | None, bool]) -> None:
    assert verdict_v2(text) == v2
    assert verdict_v01(text) == v01


# --- Judge prompts: byte for byte as upstream builds them ------------------------------------------


def test_judge_prompts_are_upstreams() -> None:
    entry = "Entry answer: **bold** {QUESTION}"
    hard = ("25146823f23483c5f45ccc4bc9b8748cbd28aa14d573316bee8dfa900f021eb3",
            "14cfa171ebb323a35ad998a85584c84de46ad1b58211b52b896c500e0430f920")  # fmt: skip
    creative = ("5f9daede98c1c5c2651dc691b806ea25113d203e552acb452f8ab9532a007aaf",
                "0958795a82a2ea4f7795868cdad0092afdfa5678ae03f9fe85b049a87cc9fde0")  # fmt: skip
    for category, (game1, game2) in (
        ("hard_prompt", hard),
        ("creative_writing", creative),
        ("arena-hard-v0.1", hard),
    ):
        assert digest(judge_messages(QUESTION, BASELINE, entry, category)) == game1
        assert digest(judge_messages(QUESTION, entry, BASELINE, category)) == game2
    assert len(SYSTEM_PROMPT) == 1729 and len(CREATIVE_SYSTEM_PROMPT) == 1586
    assert "generating your own answer" in SYSTEM_PROMPT
    assert "generating your own answer" not in CREATIVE_SYSTEM_PROMPT


class ScriptedJudge:
    """A remote judge's stand-in: replies looked up by the sha256 of the whole conversation."""

    entry = "scripted-judge"
    model = "scripted-judge-model"

    def __init__(self, replies: Callable[[Sequence[Message]], str]) -> None:
        self.replies = replies
        self.requests: list[GenerationRequest] = []

    def complete(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        self.requests += requests
        for index, request in enumerate(requests):
            reply = self.replies(request.messages)
            usage = Usage(input_tokens=100, output_tokens=len(reply.split()))
            yield index, Completion(text=reply, usage=usage, cost_usd=0.001)


def grade(task: ArenaHard, judge: ScriptedJudge, answer: str, run_dir: Path, uid: str = "q-1") -> tuple:  # type: ignore[type-arg]
    sample = Sample(id=uid, category=None, data={"prompt": QUESTION, "category": "arena-hard-v0.1"})
    prompt = task.build_prompt(sample, 0, 0)
    baseline = Baseline(entry="gpt-4-0314", answers={uid: Completion(text=BASELINE)}, source="test")
    grader = task.scorer(ScoringContext(judge=judge, baseline=baseline, run_dir=run_dir))
    grader.submit((uid, 0), prompt, Completion(text=answer))
    ((_, score),) = list(grader.wait())
    return score, read_jsonl(run_dir / "judgments.jsonl")[-1]


def test_v01_asks_once_more_without_a_verdict_as_its_own_code(tmp_path: Path) -> None:
    """Two prompts scripted as for upstream's v0.1 gen_judgment.py; its outputs were the same."""
    entry = "Entry answer: **bold** {question_1}"
    first, follow_up_1, follow_up_2, second = (
        "d283f39c67189420b5d5bda020330381dad46a87b0e303226b150791cc9890c8",
        "fe86ccd2a09aa4d183f820eedc1cc5be5fdf0920cbfe64e24f0c76cc6f2d56a7",
        "35976ed790b7d2e7e922abdfca568cc5fb8be92a59cdc367df3074bf5177d15f",
        "26c3f48dd028e985f6e5b5b04c55b9d5c915d8786a41ca54f56cea2e293bc8ed",
    )
    run_dir = tmp_path / "arena_hard" / "entry" / "abc"
    task = ArenaHard()
    script = {
        first: "I think both are fine.",
        follow_up_1: "Final: [[B>A]]",
        second: "[[A>B]] but on reflection [[B>A]]",
    }
    judge = ScriptedJudge(lambda messages: script[digest(messages)])
    score, row = grade(task, judge, entry, run_dir)
    assert [g["score"] for g in row["games"]] == ["B>A", None]
    assert [g["judgment"] for g in row["games"]] == [
        "\nI think both are fine.\nFinal: [[B>A]]",
        "\n[[A>B]] but on reflection [[B>A]]",
    ]
    assert row["question_id"] == "q-1" and row["model"] == "entry" and row["judge"] == "scripted-judge-model"
    # Game 1 (baseline is A) says B>A: one win; game 2 has no verdict and is dropped alone.
    assert score.details["outcomes"] == [1.0] and score.details["unparsed_games"] == 1 and score.parsed
    assert (
        len(judge.requests) == 3
        and score.judge_usage is not None
        and score.judge_cost_usd == pytest.approx(0.003)
    )

    script = {first: "verdict: [[a>b]]", follow_up_2: "still thinking", second: "[[A=B]]"}
    judge = ScriptedJudge(lambda messages: script[digest(messages)])
    # Another run: in this one the identical requests would be answered from its judgments file.
    score, row = grade(task, judge, entry, tmp_path / "arena_hard" / "entry" / "def", uid="q-2")
    assert [g["score"] for g in row["games"]] == [None, "A=B"]
    assert row["games"][0]["judgment"] == "\nverdict: [[a>b]]\nstill thinking"
    assert score.details["outcomes"] == [0.5]


def test_v2_reads_the_last_label_and_drops_the_prompt_without_one(tmp_path: Path) -> None:
    entry = "Entry answer: **bold** {QUESTION}"
    game1, game2 = (
        "25146823f23483c5f45ccc4bc9b8748cbd28aa14d573316bee8dfa900f021eb3",
        "14cfa171ebb323a35ad998a85584c84de46ad1b58211b52b896c500e0430f920",
    )
    task = get_task("arena_hard_v2")
    assert isinstance(task, ArenaHardV2)
    sample = Sample(id="q", category="coding", data={"prompt": QUESTION, "category": "hard_prompt"})
    prompt = task.build_prompt(sample, 0, 0)
    baseline = Baseline(entry="o3-mini", answers={"q": Completion(text=BASELINE)}, source="test")
    for replies, outcomes in (
        # upstream: game 1 "Judge says [[B>A]]" -> B>A, game 2 "verdict [[a>>b]]" -> A>>B
        ({game1: "Judge says [[B>A]]", game2: "verdict [[a>>b]]"}, [1.0, 1.0, 1.0, 1.0]),
        ({game1: "[[B>A]]", game2: "I cannot decide."}, []),
    ):
        judge = ScriptedJudge(lambda messages, replies=replies: replies[digest(messages)])  # type: ignore[misc]
        run_dir = tmp_path / str(len(outcomes))
        grader = task.scorer(ScoringContext(judge=judge, baseline=baseline, run_dir=run_dir))
        grader.submit(("q", 0), prompt, Completion(text=entry))
        ((_, score),) = list(grader.wait())
        # Game 2 first, as upstream lists a prompt's scores.
        assert score.details["outcomes"] == outcomes
        (row,) = read_jsonl(run_dir / "judgments.jsonl")
        assert set(row) >= {"uid", "category", "judge", "model", "baseline", "games"}
        assert row["games"][0]["prompt"][0]["role"] == "system"


# --- Bradley–Terry and bootstrap ------------------------------------------------------------------


def synthetic_battles(strengths: Sequence[float], prompts: int, seed: int) -> tuple[Battles, list[float]]:
    """Battles drawn as Arena-Hard's verdicts would be (strong wins count 3, ties 0.5) from known
    probabilities; returns them and each entry's expected win rate (its expected mean outcome)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, float, int]] = []
    expected = []
    for j, strength in enumerate(strengths):
        win = 1 / (1 + math.exp(-(strength - 0.4)))
        loss = 1 / (1 + math.exp(strength + 0.4))
        tie = 1 - win - loss
        # outcome (value, weight) with probabilities
        table = [
            (1.0, 3, 0.35 * win),
            (1.0, 1, 0.65 * win),
            (0.5, 1, tie),
            (0.0, 1, 0.65 * loss),
            (0.0, 3, 0.35 * loss),
        ]
        expected.append(sum(v * w * p for v, w, p in table) / sum(w * p for _, w, p in table))
        for _ in range(prompts * 2):
            value, weight, _ = table[rng.choice(5, p=[p for *_, p in table])]
            rows += [(j, value, 0)] * weight
    return Battles.from_rows([f"m{j}" for j in range(len(strengths))], rows), expected


def test_bradley_terry_recovers_known_strengths_with_seeded_intervals() -> None:
    battles, expected = synthetic_battles([1.5, 0.5, 0.0, -0.7, -2.0], prompts=500, seed=3)
    rates = mean_outcomes(battles)
    draws = bootstrap_battles(battles, 200, seed=42)
    low, high = logit_percentiles(draws, 2.5, 97.5)
    for j, truth in enumerate(expected):
        # A 95% interval is about four standard errors wide: the estimate lies within one interval
        # width of the truth unless a ~4-sigma draw happened (p < 1e-4 per entry).
        assert abs(rates[j] - truth) < high[j] - low[j]
        assert low[j] < rates[j] < high[j]
    again = logit_percentiles(bootstrap_battles(battles, 200, seed=42), 2.5, 97.5)
    assert np.array_equal(again[0], low) and np.array_equal(again[1], high)
    other = logit_percentiles(bootstrap_battles(battles, 200, seed=43), 2.5, 97.5)
    assert not np.array_equal(other[0], low)


def test_style_control_removes_a_length_only_advantage(tmp_path: Path) -> None:
    """Two entries of equal strength, one answering longer and one shorter than the baseline, win only
    by length: their raw win rates split apart, the style-controlled ones return to about 50%."""
    bench = Bench(
        version="v0.1",
        schema="old",
        judge="judge",
        baselines={"arena-hard-v0.1": "base"},
        strengths={"long": 0.0, "short": 0.0},
        lengths={"long": 1500.0, "short": 150.0, "base": 500.0},
        length_effect=3.0,
        seed=5,
    )
    folder = write_bench(tmp_path, bench)
    outcomes = import_judgments(folder, ArenaHard(), runs_root=tmp_path / "runs", baseline="base")
    metrics = {o.result.spec.entry: o.result.metrics for o in outcomes}
    assert metrics["long"]["win_rate"].value > 0.65 and metrics["short"]["win_rate"].value < 0.35
    for name in ("long", "short"):
        # With 500 prompts per entry the controlled rates' 90% intervals are about ±3 points: 6 is
        # about four standard errors.
        controlled = metrics[name]["win_rate_style_controlled"]
        assert abs(controlled.value - 0.5) < 0.06, (name, controlled)
        assert controlled.ci_low is not None and controlled.ci_high is not None
        assert controlled.ci_low < 0.5 < controlled.ci_high and controlled.ci_level == 0.9


def test_one_entry_style_control_compares_at_the_baselines_style() -> None:
    """A run holds one entry: its controlled win rate is the one at no style difference."""
    rng = np.random.default_rng(0)
    features = rng.uniform(0.2, 0.9, size=(800, 4))  # always longer than the baseline
    rows = []
    for g in range(800):
        p = 1 / (1 + math.exp(-3.0 * features[g, 0]))
        rows.append((0, float(rng.random() < p), g))
    battles = Battles.from_rows(["long"], rows, features)
    assert mean_outcomes(battles)[0] > 0.75
    fit = style_controlled(battles, 50, 0, centered=False)
    assert abs(float(np.median(fit.win_rates[:, 0])) - 0.5) < 0.1
    assert fit.features == ("length", "headers", "lists", "bold")


# --- Importing judgment folders: upstream's numbers and an independent fit ---------------------------


def test_v01_judgments_in_the_old_schema_give_upstreams_leaderboard(tmp_path: Path) -> None:
    """show_result.py at 3071ef9 on these files (np.random.seed(42) by its utils_math) printed these."""
    folder = write_bench(tmp_path, GOLDEN_V01)
    outcomes = import_judgments(folder, ArenaHard(), runs_root=tmp_path / "runs", baseline="gpt-4-0314")
    upstream = {
        "model-a": (76.70, 75.12, 78.15, 758),
        "model-b": (58.25, 56.38, 59.87, 582),
        "model-c": (38.55, 36.74, 40.67, 394),
        "model-d": (17.52, 16.10, 19.32, 303),
    }
    assert {o.result.spec.entry for o in outcomes} == set(upstream)
    for outcome in outcomes:
        result = outcome.result
        metric = result.metrics["win_rate"]
        score, low, high, tokens = upstream[result.spec.entry]
        assert metric.ci_low is not None and metric.ci_high is not None
        assert (
            round(metric.value * 100, 2),
            round(metric.ci_low * 100, 2),
            round(metric.ci_high * 100, 2),
        ) == (
            score,
            low,
            high,
        )
        assert int(result.metrics["mean_token_len"].value) == tokens
        assert result.provenance == "reported" and result.spec.task_params["judge"] == "gpt-4-1106-preview"
        assert result.counts.planned == 500
        records = latest_records(RunDir(outcome.run_dir.path).read_records())
        assert len(records) == 500


V2_UPSTREAM = {
    # show_result.py at 196f6b8, np.random.seed(7) before each category: mean of the bootstrap means, 5%, 95%
    "hard_prompt": {
        "model-a": (0.704295407098121, 0.6804279749478079, 0.729723382045929),
        "model-b": (0.5411703296703297, 0.5208241758241758, 0.5742032967032966),
        "model-c": (0.37216442953020135, 0.34502237136465325, 0.39932885906040266),
    },
    "creative_writing": {
        "model-a": (0.7456935123042505, 0.725307606263982, 0.7657438478747204),
        "model-b": (0.46421875, 0.43855064655172415, 0.4920528017241379),
        "model-c": (0.3656997742663657, 0.3385722347629797, 0.3883182844243792),
    },
}
# -f markdown length, hard_prompt, np.random.seed(7): median, 5%, 95%; as released (50 L-BFGS steps) and
# with the fit run to convergence (1,000 steps).
V2_STYLE_UPSTREAM = {
    "model-a": (0.687027245759964, 0.6620148986577987, 0.7138608545064926),
    "model-b": (0.5985971391201019, 0.5753881931304932, 0.6281591773033142),
    "model-c": (0.34759578108787537, 0.32005665451288223, 0.377982135117054),
}
V2_STYLE_CONVERGED = {
    "model-a": (0.6887304782867432, 0.6636670023202896, 0.7157870143651962),
    "model-b": (0.599469006061554, 0.5761380881071091, 0.6292830318212509),
    "model-c": (0.34565478563308716, 0.31776710897684096, 0.3761264070868492),
}


def test_v2_judgments_in_the_new_schema_give_upstreams_leaderboard(tmp_path: Path) -> None:
    folder = write_bench(tmp_path, GOLDEN_V2)
    for category, baseline in (
        ("hard_prompt", "o3-mini-2025-01-31"),
        ("creative_writing", "gemini-2.0-flash-001"),
    ):
        task = get_task("arena_hard_v2", {"category": category, "bootstrap_seed": 7})
        assert isinstance(task, ArenaHardV2)
        outcomes = import_judgments(folder, task, runs_root=tmp_path / "runs", baseline=baseline)
        for outcome in outcomes:
            name, metrics = outcome.result.spec.entry, outcome.result.metrics
            got = metrics["win_rate"]
            assert (got.value, got.ci_low, got.ci_high) == pytest.approx(
                V2_UPSTREAM[category][name], abs=1e-12
            )
            assert got.ci_level == 0.9
            if category == "hard_prompt":
                style = metrics["win_rate_style_controlled"]
                triple = (style.value, style.ci_low, style.ci_high)
                assert triple == pytest.approx(V2_STYLE_CONVERGED[name], abs=5e-4)
                assert triple == pytest.approx(V2_STYLE_UPSTREAM[name], abs=3e-3)


def reference_win_rates(folder: Path, baseline: str) -> dict[str, float]:
    """Bradley–Terry fitted by scikit-learn as Arena-Hard v0.1 fits it: every battle twice, a tie once
    won by each side, no regularisation, Elo-scaled features; win rate from the Elo difference."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rows = []
    for file in sorted((folder / "model_judgment").glob("*/*.jsonl")):
        for line in file.read_text().splitlines():
            judgment = json.loads(line)
            for number, game in enumerate(judgment["games"]):
                label = game["score"]
                if label not in ("A>B", "A>>B", "A=B", "B>A", "B>>A"):
                    continue
                baseline_first = number == 0
                winner = "tie" if label == "A=B" else ("a" if label.startswith("A") else "b")
                if not baseline_first and winner != "tie":
                    winner = "b" if winner == "a" else "a"
                rows += [{"model": judgment["model"], "winner": winner}] * (3 if ">>" in label else 1)
    battles = pd.DataFrame(rows)
    models = sorted(battles["model"].unique())
    twice = pd.concat([battles, battles], ignore_index=True)
    x = np.zeros((len(twice), len(models) + 1))
    x[:, -1] = math.log(10)  # the baseline, always "model a"
    for j, name in enumerate(models):
        x[(twice["model"] == name).to_numpy(), j] = -math.log(10)
    y = (twice["winner"] == "a").to_numpy().astype(float)
    first_half = np.arange(len(twice)) < len(battles)
    y[((twice["winner"] == "tie").to_numpy()) & first_half] = 1.0
    fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-10, max_iter=10_000).fit(x, y)
    elo = 400 * fit.coef_[0]
    return {name: 1 / (1 + 10 ** ((elo[-1] - elo[j]) / 400)) for j, name in enumerate(models)}


def test_unseen_judgments_give_an_independent_fits_win_rates(tmp_path: Path) -> None:
    rng = random.Random()
    bench = Bench(
        version="v0.1",
        schema="old",
        judge="gpt-4-1106-preview",
        baselines={"arena-hard-v0.1": "gpt-4-0314"},
        strengths={f"unseen-{i}": rng.uniform(-2.5, 2.5) for i in range(4)},
        unparsed_rate=rng.uniform(0.0, 0.1),
        questions=300,
        seed=rng.randrange(1 << 30),
    )
    folder = write_bench(tmp_path, bench)
    outcomes = import_judgments(folder, ArenaHard(), runs_root=tmp_path / "runs", baseline="gpt-4-0314")
    reference = reference_win_rates(folder, "gpt-4-0314")
    for outcome in outcomes:
        assert outcome.result.metrics["win_rate"].value == pytest.approx(
            reference[outcome.result.spec.entry], abs=1e-5
        )


def test_judgment_import_errors_are_clear(tmp_path: Path) -> None:
    folder = write_bench(tmp_path, GOLDEN_V2)
    with pytest.raises(DataError, match="no judgments against baseline 'gpt-4o'"):
        import_judgments(folder, ArenaHardV2(), runs_root=tmp_path / "runs", baseline="gpt-4o")
    bad = tmp_path / "bad" / "model_judgment" / "judge"
    bad.mkdir(parents=True)
    (bad / "x.jsonl").write_text('{"question_id": "q", "model": "x", "games": [}\n')
    with pytest.raises(DataError, match=r"x\.jsonl:1: not valid JSON"):
        import_judgments(tmp_path / "bad", ArenaHard(), runs_root=tmp_path / "runs", baseline="b")


# --- Published answers, token length and style -----------------------------------------------------


def test_published_answers_read_in_both_schemas_and_count_tokens_as_upstream(shared_data: Path) -> None:
    root = shared_data / "arena-hard"
    old = read_answers((root / "v0.1/model_answer/gpt-4-0314.jsonl").read_bytes(), "old")
    new = read_answers((root / "v0.1/model_answer_official_newfmt/gpt-4-0314.jsonl").read_bytes(), "new")
    assert len(old) == len(new) == 500
    same = sum(old[uid].text == new[uid].text for uid in old)
    assert same >= 490
    # Upstream stored o200k token lengths and markdown counts with its v2.0 answers.
    rows = [
        json.loads(line)
        for line in (root / "v2.0/model_answer/o3-mini-2025-01-31.jsonl").read_text().split("\n")
        if line
    ]
    for row in rows[:150]:
        text = row["messages"][-1]["content"]["answer"]
        assert answer_style(text) == row["metadata"], row["uid"]
    # Special-token text is counted as text, as upstream's disallowed_special=() (tiktoken says 9).
    assert token_length("hello <|endoftext|> world") == 9


def test_reported_figures_import_from_the_leaderboard_and_the_readme(
    tmp_path: Path, shared_data: Path
) -> None:
    official = shared_data / "arena-hard" / "config_official"
    runs = tmp_path / "runs"
    csv_runs = import_leaderboard(
        official / "leaderboard_arena_hard_leaderboard_20240731.csv", runs_root=runs
    )
    by_entry = {o.result.spec.entry: o.result for o in csv_runs}
    turbo = by_entry["gpt-4-turbo-2024-04-09"].metrics["win_rate"]
    assert (turbo.value, turbo.ci_low, turbo.ci_high) == pytest.approx((0.8263, 0.8075, 0.846))
    assert by_entry["gpt-4-0314"].spec.task_params["judge"] == "gpt-4-1106-preview"
    assert len(csv_runs) == 60 and all(r.provenance == "reported" for r in by_entry.values())
    readme_runs = import_readme_tables(official / "README.md", runs_root=runs)
    tables: dict[str, list[str]] = {}
    for outcome in readme_runs:
        tables.setdefault(outcome.result.spec.task_params["judge"], []).append(outcome.result.spec.entry)
    assert {judge: len(entries) for judge, entries in tables.items()} == {
        "gemini-2.5": 28,
        "gpt-4.1": 28,
        "gpt-4.1+gemini-2.5": 28,
    }
    o3 = next(o.result for o in readme_runs if o.result.spec.entry == "o3-2025-04-16")
    assert o3.headline == "win_rate_style_controlled" and o3.metrics[o3.headline].value == pytest.approx(
        0.859
    )
    # The README's last creative-writing row is cut short upstream: its score stays, without interval.
    s1 = [o.result for o in readme_runs if o.result.spec.entry == "s1.1-32b"]
    creative = next(r for r in s1 if r.spec.task_params["category"] == "creative_writing")
    assert (
        creative.metrics["win_rate"].value == pytest.approx(0.082)
        and creative.metrics["win_rate"].ci_low is None
    )


# --- End to end: the embedded model answers and judges -----------------------------------------------


MOCK_JUDGE = """
  mock-judge:
    display_name: Mock judge
    organisation: test
    backend: mock
    model: mock-judge
    backend_options: {default: "Both are fine. My final verdict is tie: [[A=B]]"}
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_embedded_model_answers_and_judges_three_prompts(tmp_path: Path, shared_data: Path) -> None:
    """SmolLM2 answers 3 prompts (judged by the mock), then judges its own answers against those of
    its first run as the baseline: the answers come from the request cache, the baseline's from the
    store, and the judgments from the model."""
    runs = tmp_path / "runs"
    models = tmp_path / "models.yaml"
    models.write_text(MODELS_FILE.read_text(encoding="utf-8") + MOCK_JUDGE, encoding="utf-8")
    common = (
        "run", "-t", "arena_hard", "-m", "smollm2", "--limit", "3", "--max-tokens", "16",
        "--data-dir", str(shared_data), "--runs", str(runs), "--models", str(models),
    )  # fmt: skip
    answered = run_cli(*common, "-T", "judge=mock-judge")
    assert answered.returncode == 0, answered.stderr
    judged = run_cli(*common, "-T", "judge=smollm2", "-T", "baseline=smollm2", "-T", "judge_max_tokens=16")
    assert judged.returncode == 0, judged.stderr
    (run,) = [
        RunDir(p.parent)
        for p in runs.glob("arena_hard/smollm2/*/run.json")
        if RunDir(p.parent).read_result().spec.task_params["judge"] == "smollm2"
    ]
    result = run.read_result()
    assert result.status == "complete" and result.counts.scored == 3 and result.counts.generated == 0
    assert result.spec.task_params["judge"] == "smollm2" and result.judge_usage is not None
    assert any(
        note.startswith("baseline smollm2: answers from run arena_hard/smollm2/") for note in result.notes
    )
    judgments = read_jsonl(run.path / "judgments.jsonl")
    assert {row["question_id"] for row in judgments} == {r.sample_id for r in run.read_records()}
    for row in judgments:
        assert row["model"] == "smollm2" and len(row["games"]) == 2
        assert all(g["usage"]["output_tokens"] > 0 for g in row["games"])
    assert {"unparsed_rate", "dropped_rate", "mean_token_len"} <= set(result.metrics)
    # Scoring again, with the request cache gone, reuses the judgments file: the judge is not called.
    shutil.rmtree(runs / ".cache")
    again = run_cli(
        "score", str(run.path), "--runs", str(runs), "--data-dir", str(shared_data), "--models", str(models)
    )
    assert again.returncode == 0, again.stderr
    assert len(read_jsonl(run.path / "judgments.jsonl")) == len(judgments)
    assert run.read_result().metrics == result.metrics


def test_a_board_column_imports_the_official_figures_and_skips_a_judge_it_cannot_call(
    tmp_path: Path, shared_data: Path
) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(
        f"""models: {MODELS_FILE}
title: arena
entries: [smollm2, gpt-4o-2024-05-13]
tasks:
  - {{id: arena_hard, params: {{judge: gpt-4-1106-preview, baseline: gpt-4-0314}}}}
imports:
  - {{task: arena_hard, entry: gpt-4o-2024-05-13, importer: arena_hard_leaderboard, model: gpt-4o-2024-05-13,
     path: arena-hard/config_official/leaderboard_arena_hard_leaderboard_20240731.csv}}
""",
        encoding="utf-8",
    )
    runs = tmp_path / "results"
    populated = run_cli(
        "board", "populate", str(board), "--runs", str(runs), "--data-dir", str(shared_data), "--limit", "3",
        env={"OPENAI_API_KEY": ""},
    )  # fmt: skip
    assert populated.returncode == 0, populated.stderr
    assert "imported arena_hard/gpt-4o-2024-05-13/" in populated.stdout
    assert (
        "skipped arena_hard for smollm2: its judge gpt-4-1106-preview needs $OPENAI_API_KEY"
        in populated.stdout
    )
    shown = run_cli("board", "show", str(board), "--runs", str(runs), env={"COLUMNS": "200"})
    assert shown.returncode == 0 and "79.2 (imported)" in shown.stdout


def test_published_answers_import_and_any_judge_judges_them(tmp_path: Path, shared_data: Path) -> None:
    """Answers in both schemas become runs of external entries; another judge makes another run."""
    from harness.config import load_models
    from harness.importers import import_run
    from harness.runner import RunOptions, rescore

    models_path = tmp_path / "models.yaml"
    models_path.write_text(
        MODELS_FILE.read_text(encoding="utf-8")
        + MOCK_JUDGE
        + MOCK_JUDGE.replace("mock-judge", "other-judge").replace("tie: [[A=B]]", "B: [[B>A]]"),
        encoding="utf-8",
    )
    options = RunOptions(runs_root=tmp_path / "runs", data_dir=shared_data, models=load_models(models_path))
    answers = shared_data / "arena-hard" / "v0.1"
    results = {}
    for entry, path in (
        ("gpt-4o-2024-05-13", answers / "model_answer" / "gpt-4o-2024-05-13.jsonl"),
        ("gpt-4-0613", answers / "model_answer_official_newfmt" / "gpt-4-0613.jsonl"),
    ):
        task = get_task("arena_hard", {"judge": "mock-judge"})
        outcome = import_run(task, path, entry, options)
        result = outcome.result
        assert result.provenance == "imported" and result.counts.scored == 500, entry
        # Every verdict a tie: a win rate of exactly one half.
        assert result.metrics["win_rate"].value == pytest.approx(0.5)
        results[entry] = outcome
    # Judged again by another judge: a new run beside the first, the answers untouched.
    again = rescore(results["gpt-4-0613"].run_dir, options, task_options={"judge": "other-judge"})
    assert again.run_dir.path != results["gpt-4-0613"].run_dir.path
    assert again.result.spec.task_params["judge"] == "other-judge"
    # Game 1 (baseline is A) "B>A" is a win, game 2 (the entry is A) "B>A" a loss.
    assert again.result.metrics["win_rate"].value == pytest.approx(0.5)
    labels = {r.score.extracted for r in again.run_dir.read_records() if r.score is not None}
    assert labels == {"B>A,B>A"}
    assert results["gpt-4-0613"].run_dir.read_result().spec.task_params["judge"] == "mock-judge"
