"""Synthetic Arena-Hard judgments and answers, drawn from known strengths with a seeded generator.

The files are laid out as Arena-Hard's own scripts read them (`<bench>/model_judgment/<judge>/<model>
.jsonl`, `<bench>/model_answer/<model>.jsonl`), in either official schema, so the same files can be
scored by our importer and by upstream's `show_result.py`; the golden figures in the tests were
obtained by running upstream's code on files written by `write_bench` with the seeds given there.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

# A verdict for the answer in position B, from the worst to the best.
LABELS_FOR_B = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
MIRROR = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}


@dataclass
class Bench:
    """What to draw: each model's strength (log-odds against the baseline) and style."""

    version: str  # "v0.1" or "v2.0"
    schema: str  # "old" (question_id, games[{user_prompt, judgment, score}]) or "new" (uid, ...)
    judge: str
    baselines: dict[str, str]  # category -> baseline model
    strengths: dict[str, float]
    # Mean answer length per model (tokens); with `length_effect`, longer answers win more often.
    lengths: dict[str, float] = field(default_factory=dict)
    length_effect: float = 0.0
    unparsed_rate: float = 0.02
    questions: int = 500
    seed: int = 0

    @property
    def name(self) -> str:
        return f"arena-hard-{self.version}"


def _question_ids(bench: Bench, rng: random.Random) -> list[tuple[str, str]]:
    categories = sorted(bench.baselines)
    return [(f"{rng.getrandbits(64):016x}", categories[i % len(categories)]) for i in range(bench.questions)]


def _metadata(rng: random.Random, mean_length: float) -> dict[str, object]:
    tokens = max(1, int(rng.expovariate(1 / mean_length)))
    return {
        "token_len": tokens,
        "header_count": {f"h{i}": rng.randint(0, 2) if i <= 3 else 0 for i in range(1, 7)},
        "list_count": {"ordered": rng.randint(0, 6), "unordered": rng.randint(0, 8)},
        "bold_count": {"**": rng.randint(0, 5), "__": 0},
    }


def _draw(rng: random.Random, advantage: float) -> str:
    """A verdict for the model in position B given its log-odds advantage over A."""
    win = 1 / (1 + math.exp(-(advantage - 0.4)))
    loss = 1 / (1 + math.exp(advantage + 0.4))
    u = rng.random()
    if u < loss:
        return "A>>B" if rng.random() < 0.35 else "A>B"
    if u < loss + (1 - win - loss):
        return "A=B"
    return "B>>A" if rng.random() < 0.35 else "B>A"


def write_bench(root: Path, bench: Bench) -> Path:
    """Write judgments (and answers with style metadata) under `root/<bench name>`; returns it."""
    rng = random.Random(bench.seed)
    folder = root / bench.name
    questions = _question_ids(bench, rng)
    answers: dict[str, dict[str, dict[str, object]]] = {}
    for model in sorted({*bench.strengths, *bench.baselines.values()}):
        answers[model] = {uid: _metadata(rng, bench.lengths.get(model, 500.0)) for uid, _ in questions}
    judgment_dir = folder / "model_judgment" / bench.judge
    judgment_dir.mkdir(parents=True, exist_ok=True)
    for model, strength in sorted(bench.strengths.items()):
        lines = []
        for uid, category in questions:
            baseline = bench.baselines[category]
            own, base = answers[model][uid]["token_len"], answers[baseline][uid]["token_len"]
            assert isinstance(own, int) and isinstance(base, int)
            advantage = strength + bench.length_effect * (own - base) / (own + base)
            game1 = _draw(rng, advantage)  # baseline is A
            game2 = MIRROR[_draw(rng, advantage)]  # model is A
            games: list[dict[str, object]] = []
            for number, label in enumerate((game1, game2), start=1):
                score = None if rng.random() < bench.unparsed_rate else label
                text = f"Game {number}. My final verdict is [[{score}]]" if score else "No verdict."
                if bench.schema == "old":
                    games.append({"user_prompt": f"<|User Prompt|>\n{uid}", "judgment": text, "score": score})
                else:
                    prompt = [{"role": "user", "content": uid}]
                    games.append({"score": score, "judgment": {"answer": text}, "prompt": prompt})
            if bench.schema == "old":
                row: dict[str, object] = {
                    "question_id": uid,
                    "model": model,
                    "judge": bench.judge,
                    "games": games,
                }
            else:
                row = {
                    "uid": uid,
                    "category": category,
                    "judge": bench.judge,
                    "model": model,
                    "baseline": baseline,
                    "games": games,
                }
            lines.append(json.dumps(row))
        (judgment_dir / f"{model}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    answer_dir = folder / "model_answer"
    answer_dir.mkdir(parents=True, exist_ok=True)
    for model, by_uid in answers.items():
        rows = []
        for uid, category in questions:
            meta = by_uid[uid]
            if bench.schema == "old":
                rows.append(
                    {
                        "question_id": uid,
                        "model_id": model,
                        "choices": [{"index": 0, "turns": [{"content": f"answer of {model}"}]}],
                        "conv_metadata": meta,
                    }
                )
            else:
                rows.append(
                    {
                        "uid": uid,
                        "model": model,
                        "messages": [
                            {"role": "user", "content": uid},
                            {"role": "assistant", "content": {"answer": f"answer of {model}"}},
                        ],
                        "metadata": meta,
                        "category": category,
                    }
                )
        (answer_dir / f"{model}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


# The benches the golden figures were computed on (upstream's code, run on files these write).
GOLDEN_V01 = Bench(
    version="v0.1",
    schema="old",
    judge="gpt-4-1106-preview",
    baselines={"arena-hard-v0.1": "gpt-4-0314"},
    strengths={"model-a": 1.2, "model-b": 0.3, "model-c": -0.4, "model-d": -1.5},
    lengths={"model-a": 800.0, "model-b": 600.0, "model-c": 400.0, "model-d": 300.0, "gpt-4-0314": 450.0},
    seed=1,
)
GOLDEN_V2 = Bench(
    version="v2.0",
    schema="new",
    judge="gpt-4.1",
    baselines={"hard_prompt": "o3-mini-2025-01-31", "creative_writing": "gemini-2.0-flash-001"},
    strengths={"model-a": 0.9, "model-b": 0.1, "model-c": -0.8},
    lengths={"model-a": 1200.0, "model-b": 500.0, "model-c": 700.0, "o3-mini-2025-01-31": 600.0},
    length_effect=1.5,
    questions=600,
    seed=2,
)
