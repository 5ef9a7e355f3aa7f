"""LiveCodeBench prompts against upstream's own output (tests/data/golden/livecodebench/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.task import OptionsError, validate_options
from harness.types import Sample
from tasks.livecodebench import LiveCodeBench, LiveCodeBenchOptions, parse_row
from tasks.livecodebench_prompts import CHAT_STYLES, RAW_TEXT_STYLES, REFUSED_STYLES, STYLES, style_for_model
from tests.conftest import SHARED_DATA, run_cli
from tests.lcb_problems import DATA_FILE
from tests.lcb_support import FIXTURE_ROW

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "livecodebench"
ROWS: list[dict[str, Any]] = json.loads((GOLDEN / "prompts.json").read_text())


def samples() -> dict[str, Sample]:
    lines = [*DATA_FILE.read_text().splitlines(), (SHARED_DATA / FIXTURE_ROW).read_text().splitlines()[0]]
    parsed = [parse_row(json.loads(line), "golden")[0] for line in lines if line.strip()]
    return {sample.id: sample for sample in parsed}


def entry(**fields: Any) -> ModelEntry:
    base: dict[str, Any] = {"id": "m", "display_name": "M", "organisation": "O", "backend": "openai_compat"}
    return ModelEntry.model_validate({"model": "some-model", **base, **fields})


def upstream_messages(row: dict[str, Any]) -> list[dict[str, str]]:
    """Upstream's prompt as the chat messages our backends send for it."""
    prompt = row["prompt"]
    if row["shape"] == "messages":
        return list(prompt)
    if row["shape"] == "system_and_messages":  # Claude3: `system=` and `messages=`
        return [{"role": "system", "content": prompt["system"]}, *prompt["messages"]]
    if row["shape"] == "text":  # Gemini: the string is the request's one user turn
        return [{"role": "user", "content": prompt}]
    # LLaMa3: the messages given to Meta-Llama-3-8B-Instruct's chat template, with the generation prompt.
    assert row["shape"] == "chat_template" and prompt["add_generation_prompt"] is True
    assert prompt["chat_template_of"] == "meta-llama/Meta-Llama-3-8B-Instruct"
    return list(prompt["messages"])


def test_golden_covers_every_upstream_style_and_both_kinds_of_problem() -> None:
    assert sorted({row["style"] for row in ROWS}) == sorted(STYLES)
    by_id = samples()
    kinds = {by_id[row["question_id"]].data["testtype"] for row in ROWS}
    assert kinds == {"stdin", "functional"} and len({row["question_id"] for row in ROWS}) == 3


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["style"] in CHAT_STYLES], ids=lambda r: f"{r['style']}-{r['question_id']}"
)
def test_chat_styles_match_upstream_byte_for_byte(row: dict[str, Any]) -> None:
    sample = samples()[row["question_id"]]
    task = LiveCodeBench(LiveCodeBenchOptions(prompt_style=row["style"]))
    ours = [m.model_dump() for m in task.build_prompt(sample, 0, 0).messages]
    assert json.dumps(ours, ensure_ascii=False) == json.dumps(upstream_messages(row), ensure_ascii=False)
    # The stop upstream passes: "###" from VLLMRunner (our self-hosted entries), none from API runners.
    served = entry(prompt_style=row["style"], self_hosted=row["runner"] == "VLLMRunner")
    assert task.for_entry(served).generation_defaults().stop == row["stop"]


@pytest.mark.parametrize(
    "row",
    [r for r in ROWS if r["style"] in RAW_TEXT_STYLES],
    ids=lambda r: f"{r['style']}-{r['question_id']}",
)
def test_raw_text_styles_match_upstream_byte_for_byte(row: dict[str, Any]) -> None:
    # Upstream's VLLMRunner completes this text as it is (no chat template), with its "###" stop.
    assert row["shape"] == "text" and row["runner"] == "VLLMRunner" and row["stop"] == ["###"]
    sample = samples()[row["question_id"]]
    served = LiveCodeBench(LiveCodeBenchOptions(prompt_style=row["style"])).for_entry(entry(backend="vllm"))
    prompt = served.build_prompt(sample, 0, 0)
    assert prompt.raw_text and [m.role for m in prompt.messages] == ["user"]
    assert prompt.messages[0].content == row["prompt"]
    assert served.generation_defaults().stop == row["stop"]
    # A hosted API takes chat messages only: such an entry must choose a chat style.
    with pytest.raises(ConfigError, match=rf"prompt style {row['style']} .*self_hosted: true.*prompt_style"):
        LiveCodeBench(LiveCodeBenchOptions(prompt_style=row["style"])).for_entry(entry())


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["style"] in REFUSED_STYLES], ids=lambda r: f"{r['style']}-{r['question_id']}"
)
def test_styles_we_cannot_send_are_refused(row: dict[str, Any]) -> None:
    # Upstream gives raw text (or nothing) for these, never chat messages.
    assert row["shape"] in ("text", "not_implemented")
    sample = samples()[row["question_id"]]
    with pytest.raises(ConfigError, match=rf"prompt style {row['style']} .*prompt_style"):
        LiveCodeBench(LiveCodeBenchOptions(prompt_style=row["style"])).build_prompt(sample, 0, 0)
    with pytest.raises(ConfigError, match="Choose a chat style"):
        LiveCodeBench().for_entry(entry(prompt_style=row["style"]))
    # Upstream serves them with vLLM and its "###" stop, as we would serve a self-hosted entry.
    local = LiveCodeBench().for_entry(entry(backend="vllm"))
    assert local.generation_defaults().stop == (row["stop"] or ["###"])


def test_model_names_get_upstreams_styles() -> None:
    upstream: dict[str, str] = json.loads((GOLDEN / "model_styles.json").read_text())
    assert len(upstream) > 100
    assert {name: style_for_model(name) for name in upstream} == upstream
    assert style_for_model("an-unlisted-chat-model") == "OpenAIChat"
    # Upstream names reasoning models `<model>__<effort>`; the API model is `<model>`.
    assert upstream["o3-mini-2025-01-31__high"] == style_for_model("o3-mini-2025-01-31") == "OpenAIReason"


def test_for_entry_resolves_the_style_into_the_runs_identity() -> None:
    default = LiveCodeBench().for_entry(entry(model="claude-3-5-sonnet-20241022", backend="anthropic"))
    assert default.params()["prompt_style"] == "Claude3" and default.params()["self_hosted"] is False
    assert default.generation_defaults().stop == []
    chosen = LiveCodeBench().for_entry(entry(model="claude-3-5-sonnet-20241022", prompt_style="OpenAIChat"))
    assert chosen.params()["prompt_style"] == "OpenAIChat"
    explicit = LiveCodeBench(LiveCodeBenchOptions(prompt_style="Grok", self_hosted=True))
    kept = explicit.for_entry(entry(prompt_style="OpenAIChat"))
    assert kept.params()["prompt_style"] == "Grok" and kept.generation_defaults().stop == ["###"]
    local = LiveCodeBench().for_entry(entry(backend="llamacpp", model="pkg:x/y.gguf"))
    assert local.params()["prompt_style"] == "OpenAIChat" and local.generation_defaults().stop == ["###"]


def test_unknown_and_unsendable_styles_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"unknown LiveCodeBench prompt style 'gpt'.*OpenAIChat, "):
        LiveCodeBench().for_entry(entry(prompt_style="gpt"))
    with pytest.raises(OptionsError, match=r"unknown prompt style 'gpt'.*Claude3"):
        validate_options("livecodebench", LiveCodeBenchOptions, {"prompt_style": "gpt"})
    with pytest.raises(ConfigError, match=r"model 'deepseek-reasoner', upstream's style DeepSeekR1"):
        LiveCodeBench().for_entry(entry(model="deepseek-reasoner"))


def test_harness_run_refuses_a_style_it_cannot_send_before_calling_the_model() -> None:
    refused = run_cli("run", "-t", "livecodebench", "-m", "deepseek-r1", "--data-dir", str(SHARED_DATA))
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 2, refused.stderr
    assert "upstream's style DeepSeekR1" in message and "prompt_style" in message
