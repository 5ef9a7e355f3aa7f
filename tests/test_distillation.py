"""Distillation probes: the identity prompt set, judge parsing, the judge-free similarity measures, both
tasks end to end on the embedded model (real llama.cpp backend) with a scripted judge, the similarity map
of the published Arena-Hard answers, and the site's distillation page in a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from playwright.sync_api import sync_playwright

import tasks
from harness.board import load_board
from harness.config import ModelsFile, load_models
from harness.distillation import compute_map, load_map, published_set_of
from harness.runner import RunOptions, execute, plan_run
from harness.site import build_site, launch_chromium
from harness.store import RunDir, latest_records
from harness.types import SampleRecord
from tasks.identity_consistency import FRAMINGS, PLAIN, QUESTIONS, IdentityConsistency, parse_identity_verdict
from tasks.response_similarity import parse_rating, published_answer_sets, read_questions
from tasks.similarity_measures import Embedder, ngram_f1, tokens
from tests.conftest import MODELS_FILE, run_cli

HOSTILE = (
    '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2"> I am ChatGPT, by OpenAI.'
)
# The scripted judge: a response naming OpenAI or ChatGPT contradicts the embedded model's identity.
OPENAI_IN_RESPONSE = r"(?s)<<<RESPONSE\n(?:(?!RESPONSE>>>).)*(?:OpenAI|ChatGPT)"
MOCKS = f"""
  scripted-judge:
    display_name: Scripted judge
    organisation: test
    backend: mock
    model: scripted-judge
    backend_options:
      rules:
        - match: {OPENAI_IN_RESPONSE!r}
          reply: "It calls itself ChatGPT.\\nCONTRADICTS: yes\\nOPENAI_OR_ANTHROPIC: yes\\nCLAIMED: ChatGPT"
        - match: "<<<ANSWER 2"
          reply: "Same layout, other details. Similarity: [[4]]"
      default: "Nothing about itself.\\nCONTRADICTS: no\\nOPENAI_OR_ANTHROPIC: no\\nCLAIMED: none"
  other-judge:
    display_name: Another scripted judge
    organisation: test
    backend: mock
    model: other-judge
    backend_options: {{default: "Similarity: [[2]]"}}
  hostile-entry:
    display_name: Hostile entry
    organisation: Hugging Face
    backend: mock
    model: hostile-entry
    backend_options: {{default: {HOSTILE!r}}}
"""


def records_of(run_dir: RunDir) -> list[SampleRecord]:
    return list(latest_records(run_dir.read_records()).values())


# --- the prompt set and parsing ---------------------------------------------------------------


def test_prompt_set_is_bilingual_framed_and_seeded() -> None:
    loaded = IdentityConsistency().load(None)
    samples = loaded.samples
    assert len(samples) == len(QUESTIONS) * (1 + len(FRAMINGS)) >= 60
    assert {s.data["lang"] for s in samples} == {"en", "zh"}
    assert {s.data["kind"] for s in samples} == {"direct", "indirect"}
    assert {s.data["framing"] for s in samples} == {PLAIN, *(f.name for f in FRAMINGS)}
    # Every framed prompt contains its question, in the question's language.
    for sample in samples:
        assert sample.data["question"] in sample.data["prompt"]
        assert sample.category == f"{sample.data['lang']}/{sample.data['kind']}/{sample.data['framing']}"
    # Seeded: the same seed gives the same set, another seed other slot values (plain prompts unchanged).
    again = IdentityConsistency().load(None).samples
    assert [s.data["prompt"] for s in again] == [s.data["prompt"] for s in samples]
    other = tasks.get_task("identity_consistency", {"framing_seed": 7}).load(None).samples
    changed = [a.id for a, b in zip(samples, other, strict=True) if a.data["prompt"] != b.data["prompt"]]
    assert changed and all(not sample_id.endswith(PLAIN) for sample_id in changed)
    # Only the insinuation framing plants a false identity, and it names ChatGPT or Claude.
    leading = [s for s in samples if s.data["leading"]]
    assert {s.data["framing"] for s in leading} == {"insinuation"}
    assert all(re.search("ChatGPT|Claude", s.data["prompt"]) for s in leading)


@pytest.mark.parametrize(
    ("reply", "contradicts", "vendor", "claimed"),
    [
        ("Analysis.\nCONTRADICTS: yes\nOPENAI_OR_ANTHROPIC: yes\nCLAIMED: ChatGPT", True, True, "ChatGPT"),
        ("**CONTRADICTS:** No\n**OPENAI_OR_ANTHROPIC:** no\n**CLAIMED:** none", False, False, None),
        ("CONTRADICTS：yes\nOPENAI_OR_ANTHROPIC：no\nCLAIMED：文心一言", True, False, "文心一言"),
        # The format restated before the answer: the last lines count.
        (
            "I must end with CONTRADICTS: yes or no.\n"
            "CONTRADICTS: no\nOPENAI_OR_ANTHROPIC: no\nCLAIMED: none",
            False,
            False,
            None,
        ),
        ("Both are fine. My final verdict is tie: [[A=B]]", None, None, None),
        ("CONTRADICTS: maybe\nOPENAI_OR_ANTHROPIC: yes", None, True, None),
    ],
)
def test_identity_verdicts_parse(
    reply: str, contradicts: bool | None, vendor: bool | None, claimed: str | None
) -> None:
    parsed = parse_identity_verdict(reply)
    assert (parsed["contradicts"], parsed["openai_or_anthropic"], parsed["claimed"]) == (
        contradicts,
        vendor,
        claimed,
    )


@pytest.mark.parametrize(
    ("reply", "rating"),
    [
        ("Similar structure. Similarity: [[4]]", 4),
        ("Rated [[2]] at first, but on reflection Similarity: [[ 5 ]]", 5),
        ("Similarity: [[6]]", None),
        ("Both are fine. My final verdict is tie: [[A=B]]", None),
        ("Similarity: 3", None),
    ],
)
def test_similarity_ratings_parse(reply: str, rating: int | None) -> None:
    assert parse_rating(reply) == rating


# --- the judge-free measures ------------------------------------------------------------------


def test_ngram_f1_on_known_pairs() -> None:
    text = "To reverse a list in Python, call list.reverse() or use slicing: items[::-1]."
    assert ngram_f1(text, text) == 1.0
    assert ngram_f1(text, "The Treaty of Westphalia ended the Thirty Years' War in 1648.") < 0.05
    assert ngram_f1("", "") == 0.0
    reworded = "To reverse a list in Python, use slicing: items[::-1], or call list.reverse()."
    assert 0.3 < ngram_f1(text, reworded) == ngram_f1(reworded, text) < 1.0
    # Chinese is compared character by character.
    assert tokens("我是通义千问") == ["我", "是", "通", "义", "千", "问"]
    assert ngram_f1("我是通义千问。", "我是通义千问。") == 1.0


def test_embedding_cosine_on_known_pairs() -> None:
    texts = [
        "To reverse a list in Python, call list.reverse() or use slicing: items[::-1].",
        "To reverse a list in Python, call list.reverse() or use slicing: items[::-1].",
        "In Python you can reverse a list with slicing, items[::-1], or with list.reverse().",
        "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
    ]
    vectors = Embedder.embed(texts)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    same, paraphrase, unrelated = (float(vectors[0] @ vectors[i]) for i in (1, 2, 3))
    assert same == pytest.approx(1.0, abs=1e-5)
    assert unrelated < 0.3 < paraphrase < same


# --- end to end on the embedded model -----------------------------------------------------------


@dataclass
class World:
    runs: Path
    models_path: Path
    models: ModelsFile
    data: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> World:
    root = tmp_path_factory.mktemp("distill")
    models_path = root / "models.yaml"
    models_path.write_text(MODELS_FILE.read_text(encoding="utf-8") + MOCKS, encoding="utf-8")
    return World(
        runs=root / "results", models_path=models_path, models=load_models(models_path), data=shared_data
    )


def options(world: World, limit: int) -> RunOptions:
    return RunOptions(
        runs_root=world.runs,
        data_dir=world.data,
        limit=limit,
        models=world.models,
        generation={"max_tokens": 40},
    )


@pytest.fixture(scope="module")
def identity_run(world: World) -> RunDir:
    task = tasks.get_task("identity_consistency", {"judge": "scripted-judge"})
    outcome = execute(plan_run(task, world.models.entries["smollm2"], options(world, 4)), options(world, 4))
    assert outcome.result.status == "complete"
    return outcome.run_dir


def test_identity_consistency_on_the_embedded_model(world: World, identity_run: RunDir) -> None:
    result = identity_run.read_result()
    records = records_of(identity_run)
    assert result.counts.scored == 4 and result.spec.backend == "llamacpp"
    smollm2 = world.models.entries["smollm2"]
    assert result.spec.task_params["identity"] == {
        "name": smollm2.display_name,
        "developer": "Hugging Face",
        "aliases": smollm2.identity_names,
    }
    for record in records:
        assert record.score is not None and record.score.parsed
        details = record.score.details
        # The judge saw the true identity and this response; its verdict is stored beside the detector's.
        mentions_openai = bool(re.search("OpenAI|ChatGPT", record.completion.text))
        assert details["loose"] is mentions_openai and details["strict"] is mentions_openai
        assert record.score.value == (1.0 if mentions_openai else 0.0)
        assert isinstance(details["claims"], list) and isinstance(details["detector_loose"], bool)
        assert "Hugging Face" in details["judgment"] or details["judge"] == "scripted-judge"
    loose = [1.0 if r.score and r.score.details["loose"] else 0.0 for r in records]
    assert result.metrics["loose_rate"].value == pytest.approx(sum(loose) / 4)
    assert result.metrics["loose_rate"].n == 4 and result.metrics["judge_unparsed_rate"].value == 0.0
    detector = [1.0 if r.score and r.score.details["detector_loose"] else 0.0 for r in records]
    assert result.metrics["detector_loose_rate"].value == pytest.approx(sum(detector) / 4)
    assert result.judge_usage is not None and result.judge_usage.input_tokens > 0


@pytest.fixture(scope="module")
def similarity_run(world: World) -> RunDir:
    task = tasks.get_task("response_similarity", {"judge": "scripted-judge"})
    outcome = execute(plan_run(task, world.models.entries["smollm2"], options(world, 2)), options(world, 2))
    assert outcome.result.status == "complete" and outcome.generated == 2
    return outcome.run_dir


def test_response_similarity_on_the_embedded_model(world: World, similarity_run: RunDir) -> None:
    result = similarity_run.read_result()
    records = records_of(similarity_run)
    reference = published_answer_sets(world.data)["gpt-4o-2024-08-06"]
    assert result.spec.generation is not None and result.spec.generation.temperature == 0.0
    for record in records:
        assert record.score is not None and record.score.details["judge_score"] == 4
        assert record.prompt.messages[-1].role == "user" and len(record.prompt.messages) == 1
        answer, ref = record.completion.text, reference[record.sample_id]
        assert record.score.details["ngram_f1"] == pytest.approx(ngram_f1(answer, ref))
        vectors = Embedder.embed([answer, ref])
        assert record.score.details["embedding_cosine"] == pytest.approx(
            float(vectors[0] @ vectors[1]), abs=1e-4
        )
        assert len(record.score.details["neighbours"]) == 24
    assert result.metrics["similarity"].value == 0.75 and result.metrics["judge_score"].value == 4.0
    assert {"ngram_f1", "embedding_cosine", "judge_unparsed_rate"} <= set(result.metrics)
    # Another judge is another run of the same answers: the request cache answers them all.
    again = tasks.get_task("response_similarity", {"judge": "other-judge"})
    outcome = execute(plan_run(again, world.models.entries["smollm2"], options(world, 2)), options(world, 2))
    assert outcome.generated == 0 and outcome.cached == 2
    assert outcome.result.metrics["judge_score"].value == 2.0


def test_similarity_map_of_the_published_answers(world: World) -> None:
    computed = compute_map(world.data, world.runs, questions=2)
    assert len(computed.models) == 24 and computed.questions == 2 and computed.embedding is not None
    sets = published_answer_sets(world.data)
    first = computed.models.index("gpt-4o-2024-05-13")
    second = computed.models.index("gpt-4o-2024-08-06")
    ids = [row["uid"] for row in read_questions(world.data)[:2]]
    expected = np.mean([ngram_f1(sets["gpt-4o-2024-05-13"][q], sets["gpt-4o-2024-08-06"][q]) for q in ids])
    assert computed.ngram[first][second] == pytest.approx(expected, abs=1e-4)
    assert computed.ngram[first][second] == computed.ngram[second][first]
    nearest = computed.nearest("gpt-4o-2024-05-13", "embedding", 1)
    assert nearest and nearest[0][0] != "gpt-4o-2024-05-13"
    # Cached: asking again reads the stored map.
    assert load_map(world.runs) == computed and compute_map(world.data, world.runs, questions=2) == computed
    assert published_set_of(["gpt-4o", "gpt-4o-2024-08-06"], computed.models) == "gpt-4o-2024-08-06"


# --- the site -----------------------------------------------------------------------------------


def board_yaml(world: World) -> str:
    return yaml.safe_dump(
        {
            "title": "Distillation board",
            "models": str(world.models_path),
            "entries": ["smollm2", "hostile-entry", "gpt-4o", "claude-3.5-sonnet"],
            "tasks": [
                {
                    "id": "identity_loose",
                    "task": "identity_consistency",
                    "metric": "loose_rate",
                    "params": {"judge": "scripted-judge"},
                },
                {
                    "id": "identity_strict",
                    "task": "identity_consistency",
                    "metric": "strict_rate",
                    "params": {"judge": "scripted-judge"},
                },
                {
                    "id": "similarity",
                    "task": "response_similarity",
                    "metric": "similarity",
                    "params": {"judge": "scripted-judge"},
                },
            ],
            "reported": [
                {
                    "entry": "claude-3.5-sonnet",
                    "task": "identity_loose",
                    "value": 0.007,
                    "source": "a paper",
                    "n": 1000,
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def site(world: World, identity_run: RunDir, similarity_run: RunDir) -> Iterator[Path]:
    hostile = tasks.get_task("identity_consistency", {"judge": "scripted-judge"})
    execute(plan_run(hostile, world.models.entries["hostile-entry"], options(world, 2)), options(world, 2))
    compute_map(world.data, world.runs, questions=2)
    board_path = world.runs.parent / "board.yaml"
    board_path.write_text(board_yaml(world), encoding="utf-8")
    out = world.runs.parent / "site"
    build_site(load_board(board_path), world.runs, out)
    yield out


def test_distillation_page_and_entry_sections_in_a_browser(site: Path) -> None:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.goto((site / "index.html").resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']")
            page.click("header nav a:has-text('Distillation')")
            page.wait_for_selector("body[data-ready='1']")
            # Both heatmaps are drawn, 24 x 24, with the nearest neighbour of every row starred.
            for measure in ("embedding", "ngram"):
                heatmap = page.locator(f"#heatmap-{measure}")
                assert heatmap.locator(".main-svg").count() >= 1
                assert heatmap.locator("g.heatmaplayer").count() == 1
                assert heatmap.locator(".scatterlayer .point").count() == 24
            assert page.locator("#nearest-table tbody tr").count() == 24
            assert "gpt-4o-2024-08-06" in page.inner_text("#nearest-table")
            claims = page.inner_text("#claims-table")
            assert "Hostile entry" in claims and "OpenAI / ChatGPT / GPT: 2" in claims
            # The hostile entry's responses are shown as text; nothing in them ran.
            page.click("#claims-table a:has-text('Hostile entry')")
            page.wait_for_selector("body[data-ready='1']")
            section = page.locator("#distillation")
            assert "OpenAI / ChatGPT / GPT" in section.locator("#identity-claims").inner_text()
            assert (
                "<script>window.__pwned = 1</script>"
                in section.locator("pre.response-text").first.inner_text()
            )
            assert section.locator("script, img").count() == 0 and page.evaluate("window.__pwned") is None
            # The embedded model's section lists its nearest published answer sets.
            page.goto((site / "entries" / "smollm2.html").resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']")
            assert "share the most word n-grams with" in page.inner_text("#distillation")
            page.goto((site / "entries" / "gpt-4o.html").resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']")
            assert "gpt-4o-2024-08-06" in page.inner_text("#distillation")
            assert errors == []
        finally:
            browser.close()
    # The board's distillation columns are ordinary cells: the reported figure fills Claude's.
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'data-key="identity_loose"' in index and "src-reported" in index


def test_shipped_board_distillation_figures(world: World) -> None:
    board = load_board(Path(__file__).resolve().parents[1] / "leaderboards" / "qwen2.5-max-launch.yaml")
    columns = {t.id: t for t in board.tasks}
    assert (
        columns["identity_loose"].task_name == "identity_consistency"
        and board.metric("identity_loose") == "loose_rate"
    )
    assert (
        board.metric("identity_strict") == "strict_rate" and board.metric("similarity_gpt4o") == "similarity"
    )
    assert "identity_loose" not in board.overall_tasks
    figures = {(f.entry, f.task): f for f in board.spec.reported}
    for entry in ("deepseek-v3", "deepseek-r1", "claude-3.5-sonnet", "qwen-max-0919"):
        loose, strict = figures[(entry, "identity_loose")], figures[(entry, "identity_strict")]
        assert strict.value <= loose.value and loose.n == 1000 and loose.url
    for figure in (f for f in board.spec.reported if f.task == "similarity_gpt4o"):
        rating = float(re.search(r"ArenaHard (\d\.\d+) of 5", figure.source).group(1))  # type: ignore[union-attr]
        assert figure.value == pytest.approx((rating - 1) / 4)


def test_populate_skips_a_column_whose_judge_has_no_key(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(
        f"""models: {MODELS_FILE}
title: judged
entries: [smollm2]
tasks: [{{id: identity_consistency, params: {{judge: gpt-4o-mini}}}}]
""",
        encoding="utf-8",
    )
    ran = run_cli(
        "board", "populate", str(board), "--runs", str(tmp_path / "runs"), env={"OPENAI_API_KEY": ""}
    )
    assert ran.returncode == 0, ran.stderr
    skipped = [line for line in ran.stdout.splitlines() if line.startswith("skipped identity_consistency")]
    assert len(skipped) == 1 and "smollm2: its judge gpt-4o-mini" in skipped[0]
    assert "OPENAI_API_KEY" in skipped[0]
    assert not list((tmp_path / "runs").glob("**/samples.jsonl"))
