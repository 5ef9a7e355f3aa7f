"""MMLU-Pro: the official prompt, the official extraction, and re-scoring of published outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.importers import import_run
from harness.runner import RunOptions
from harness.task import LoadedData, ScoringContext, select_subset
from harness.types import Completion, Prompt, Sample
from tasks import get_task
from tasks.mmlu_pro import MMLUPro, extract_answer, format_exemplar

EXEMPLAR = {
    "question": "What is 1 + 1?",
    "options": ["1", "2", "3"],
    "cot_content": "A: Let's think step by step. One plus one is two. The answer is (B).",
}


def test_exemplar_format_matches_upstream() -> None:
    assert format_exemplar(EXEMPLAR) == (
        "Question:\nWhat is 1 + 1?\nOptions:\nA. 1\nB. 2\nC. 3\n"
        "Answer: Let's think step by step. One plus one is two. The answer is (B).\n\n"
    )


@pytest.fixture(scope="module")
def loaded(shared_data: Path) -> tuple[MMLUPro, LoadedData]:
    task = MMLUPro(shots=5)
    return task, task.load(shared_data)


@pytest.fixture(scope="module")
def five_shot(loaded: tuple[MMLUPro, LoadedData]) -> MMLUPro:
    return loaded[0]


@pytest.fixture(scope="module")
def samples(loaded: tuple[MMLUPro, LoadedData]) -> list[Sample]:
    return loaded[1].samples


def test_five_shot_prompt_is_the_official_one(
    loaded: tuple[MMLUPro, LoadedData], five_shot: MMLUPro, samples: list[Sample]
) -> None:
    sample = next(s for s in samples if s.category == "law")
    prompt = five_shot.build_prompt(sample, 0, 0)
    (message,) = prompt.render(loaded[1].prefixes)
    assert message.role == "user"
    text = message.content
    assert text.startswith(
        "The following are multiple choice questions (with answers) about law. Think step by step and then "
        'finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n\n\nQuestion:\n'
    )
    # Five exemplars from the validation split, each closing with its worked answer.
    assert text.count("Question:\n") == 6
    assert text.count("Answer: Let's think step by step.") == 6
    assert text.endswith("Answer: Let's think step by step.")
    options = sample.data["options"]
    letters = "ABCDEFGHIJ"[: len(options)]
    expected_tail = "Options:\n" + "".join(
        f"{letter}. {o}\n" for letter, o in zip(letters, options, strict=True)
    )
    assert text.endswith(expected_tail + "Answer: Let's think step by step.")
    # The shared prefix is stored once per run, not in every record.
    assert prompt.prefix_key == "law"
    assert prompt.messages[0].content.count("Question:\n") == 1


def test_questions_with_fewer_options_and_na_options(five_shot: MMLUPro, samples: list[Sample]) -> None:
    counts = {len(s.data["options"]) for s in samples}
    assert min(counts) == 3 and max(counts) == 10
    assert not any("N/A" in s.data["options"] for s in samples)
    short = next(s for s in samples if len(s.data["options"]) == 4)
    content = five_shot.build_prompt(short, 0, 0).messages[0].content
    assert "D. " in content and "\nE. " not in content


def test_answer_index_disagreement_is_scored_by_letter(five_shot: MMLUPro, samples: list[Sample]) -> None:
    sample = next(s for s in samples if s.id == "3983")
    prompt = five_shot.build_prompt(sample, 0, 0)
    assert prompt.target == "C"
    assert "disagrees with answer_index" in prompt.metadata["note"]


def test_zero_shot_variant_has_no_exemplars(shared_data: Path) -> None:
    task = get_task("mmlu_pro_0shot")
    loaded = task.load(shared_data)
    prompt = task.build_prompt(loaded.samples[0], 0, 0)
    assert prompt.prefix_key is None
    assert prompt.messages[0].content.count("Question:\n") == 1
    assert loaded.prefixes == {}


@pytest.mark.parametrize(
    ("text", "letter", "step"),
    [
        ("Reasoning... The answer is (C).", "C", 1),
        ("so the answer is D", "D", 1),
        ("the answer is (B) and not the answer is (C)", "B", 1),  # first match, as upstream
        ("Final Answer: E", "E", 2),
        # `.*` is greedy but stops at newlines: the last `Answer:` of the first line that has one.
        ("answer: F, no, Answer: G\nAnswer: H", "G", 2),
        ("I believe it must be J, not H.", "H", 3),  # last standalone letter
        ("I think so.", "I", 3),  # upstream's fallback takes the pronoun too
        ("The answer is (K).", None, None),  # K is not an option letter; no standalone A-J either
        ("no letter here at all", None, None),
        ("ABC is not a letter", None, None),
        ("", None, None),
    ],
)
def test_official_extraction(text: str, letter: str | None, step: int | None) -> None:
    assert extract_answer(text) == (letter, step)


def test_score_counts_unparsed_as_wrong_and_reports_chance_fallback() -> None:
    task = MMLUPro()
    prompt = Prompt(messages=[], target="B", choices=["x", "y", "z", "w"])
    assert task.score(prompt, Completion(text="the answer is (B)"), ScoringContext()).value == 1.0
    unparsed = task.score(prompt, Completion(text="no idea"), ScoringContext())
    assert (unparsed.value, unparsed.parsed, unparsed.extracted) == (0.0, False, None)


def test_subset_is_stratified_and_deterministic(samples: list[Sample]) -> None:
    chosen = select_subset(samples, 28, seed=0)
    categories = [s.category for s in chosen]
    assert len(chosen) == 28 and all(categories.count(c) == 2 for c in set(categories))
    assert len(set(categories)) == 14
    assert [s.id for s in select_subset(list(reversed(samples)), 28, seed=0)] == [s.id for s in chosen]
    assert [s.id for s in select_subset(samples, 28, seed=1)] != [s.id for s in chosen]


# (entries scored, correct, unparsed) computed independently from the raw published files with the upstream
# regexes, against this dataset copy's answer letters.
PUBLISHED = {
    "model_outputs_DeepSeek-Coder-V2_5shots.zip": (10351, 6643, 63),
    "model_outputs_Meta-Llama-3_1-70B-Instruct_5shots.zip": (12032, 7557, 188),
    "model_outputs_Qwen1.5-110B_5shots.zip": (12032, 5993, 389),
    "model_outputs_Qwen1.5-72B-Chat_5shots.zip": (12032, 5923, 984),
    "model_outputs_Qwen1.5-7B-Chat_5shots.zip": (12032, 3664, 616),
    "model_outputs_gemini-1.5-pro-002_5shots.zip": (12020, 8443, 8),
    "gpt4o_2024-05": (12032, 8935, 79),
    "deepseek_2024-05": (11997, 7183, 270),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_import_of_published_outputs(name: str, shared_data: Path, tmp_path: Path) -> None:
    n, correct, unparsed = PUBLISHED[name]
    outcome = import_run(
        MMLUPro(),
        shared_data / "mmlu-pro" / "eval_results" / name,
        "published",
        RunOptions(runs_root=tmp_path, data_dir=shared_data),
    )
    result = outcome.result
    assert result.status == "complete" and result.imported is not None and result.provenance == "imported"
    assert (
        result.spec.backend == "import" and result.spec.imported_from_sha256 == result.imported.source_sha256
    )
    assert result.metrics["accuracy"].n == n
    assert result.metrics["accuracy"].value == pytest.approx(correct / n, abs=1e-12)
    assert result.metrics["unparsed_rate"].value == pytest.approx(unparsed / n, abs=1e-12)
    low, high = result.metrics["accuracy"].ci_low, result.metrics["accuracy"].ci_high
    assert low is not None and high is not None and low < correct / n < high
    assert sum(m["accuracy"].n for m in result.categories.values()) == n
    if name.startswith("model_outputs_DeepSeek-Coder"):
        assert result.imported.skipped_malformed == 43  # the non-dict entries in that list


def test_import_rejects_a_summary_file(shared_data: Path, tmp_path: Path) -> None:
    from harness.errors import DataError

    summary = shared_data / "mmlu-pro" / "eval_results" / "gpt4o_2024-05" / "law_summary.json"
    with pytest.raises(DataError, match="expected a JSON list"):
        import_run(MMLUPro(), summary, "published", RunOptions(runs_root=tmp_path, data_dir=shared_data))
