"""GPQA-Diamond against openai/simple-evals' own code (tests/data/golden/gpqa/README.md): whole prompts,
permutations per repeat, request parameters per sampler kind, extraction verdicts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from harness.task import ScoringContext
from harness.types import Completion, Sample
from tasks.gpqa import GPQADiamond, GPQAOptions, SamplerKind

GOLDEN = Path(__file__).parent / "data" / "golden" / "gpqa"
RESPONSES: list[str] = json.loads((GOLDEN / "responses.json").read_text())


def read_jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (GOLDEN / name).read_text().splitlines()]


def sent_messages(task: GPQADiamond, sample: Sample, epoch: int) -> list[dict[str, str]]:
    """The message list a run sends: the prompt with the run's system message in front."""
    prompt = task.build_prompt(sample, epoch, 0)
    system = task.generation_defaults().system_prompt
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    return ([{"role": "system", "content": system}] if system is not None else []) + messages


def digest(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode()).hexdigest()


@pytest.fixture(scope="module")
def diamond(shared_data: Path) -> dict[str, Sample]:
    return {s.id: s for s in GPQADiamond().load(shared_data).samples}


def test_every_prompt_and_permutation_of_the_default_run(diamond: dict[str, Sample]) -> None:
    golden = read_jsonl("chat_diamond.jsonl")
    task = GPQADiamond(GPQAOptions(sampler="chat"))
    assert task.default_epochs == max(row["repeat"] for row in golden) + 1 == 10
    assert len(golden) == 198 * 10
    ours = [(row["id"], row["repeat"]) for row in golden]
    assert sorted(ours) == sorted((sid, e) for sid in diamond for e in range(10))
    for row in golden:
        sample = diamond[row["id"]]
        prompt = task.build_prompt(sample, row["repeat"], 0)
        answers = [sample.data["correct"], *sample.data["incorrect"]]
        assert prompt.choices == [answers[i] for i in row["permutation"]], row["id"]
        assert digest(sent_messages(task, sample, row["repeat"])) == row["sha256"], row["id"]
        score = task.score(prompt, Completion(text=RESPONSES[row["response"]]), ScoringContext())
        assert (score.extracted, score.value) == (row["extracted"], row["score"]), row


def synthetic_sample() -> Sample:
    return Sample(
        id="synthetic-1",
        data={
            "row": 0,
            "rows": 1,
            "question": "Which gas do plants take in for photosynthesis?\n\nPick one.",
            "correct": "Carbon dioxide",
            "incorrect": ["Oxygen", "Nitrogen", "Argon (Ar)"],
        },
    )


@pytest.mark.parametrize("kind", ["chat", "reasoning", "claude"])
def test_whole_prompts_and_request_per_sampler_kind(kind: SamplerKind) -> None:
    task = GPQADiamond(GPQAOptions(sampler=kind))
    for row in read_jsonl(f"{kind}_synthetic.jsonl"):
        messages = sent_messages(task, synthetic_sample(), row["repeat"])
        assert messages == row["messages"]
        assert json.dumps(messages, ensure_ascii=False) == json.dumps(row["messages"], ensure_ascii=False)
    request = json.loads((GOLDEN / "requests.json").read_text())[kind]["request"]
    config = task.generation_defaults()
    if kind == "reasoning":
        # Upstream sends no sampling parameters and no token limit (see the module's differences).
        assert set(request) == {"model", "reasoning_effort"}
    else:
        assert (config.temperature, config.max_tokens) == (request["temperature"], request["max_tokens"])
