"""The deterministic identity detector on hand-written responses, in English and Chinese: plain claims,
denials, quotations, role-play, and responses that mix them."""

from __future__ import annotations

import pytest

from tasks.identity_detector import claims, summarize_claims, vendors_of

DEEPSEEK = vendors_of(["DeepSeek", "DeepSeek-V3", "深度求索"])


def own(text: str) -> list[str]:
    """The vendors a response claims in its own voice."""
    return summarize_claims(claims(text), DEEPSEEK).claimed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am ChatGPT, a large language model trained by OpenAI.", ["openai"]),
        ("I'm Claude, an AI assistant made by Anthropic.", ["anthropic"]),
        ("I’m Claude 3.5 Sonnet.", ["anthropic"]),
        ("I was developed by Google DeepMind.", ["google"]),
        ("OpenAI created me.", ["openai"]),
        ("As an AI developed by Meta, I can help with that.", ["meta"]),
        ("My developer is Mistral AI, based in Paris.", ["mistral"]),
        ("I'm based on the GPT-4 architecture.", ["openai"]),
        ("我是ChatGPT，由OpenAI开发的人工智能助手。", ["openai"]),
        ("我是通义千问，是阿里云研发的超大规模语言模型。", ["alibaba"]),
        ("我是由中国的深度求索（DeepSeek）公司开发的智能助手DeepSeek Chat。", ["deepseek"]),
        ("作为OpenAI开发的语言模型，我可以帮你。", ["openai"]),
        ("我是 ChatGPT 4o，OpenAI 开发了我。", ["openai"]),
        ("Hello! I am a helpful assistant. How can I help you today?", []),
        ("ChatGPT is developed by OpenAI and Claude by Anthropic.", []),
        ("I am able to search Google and compare ChatGPT with Claude for you.", []),
    ],
)
def test_claims_in_the_models_own_voice(text: str, expected: list[str]) -> None:
    assert own(text) == expected


@pytest.mark.parametrize(
    ("text", "claimed", "denied"),
    [
        ("I am not ChatGPT.", [], ["openai"]),
        ("I'm not ChatGPT. I am Claude, an AI assistant made by Anthropic.", ["anthropic"], ["openai"]),
        ("I am not ChatGPT, but Claude.", ["anthropic"], ["openai"]),
        ("I wasn't created by OpenAI; DeepSeek trained me.", ["deepseek"], ["openai"]),
        ("I am neither ChatGPT nor Claude. I am DeepSeek-V3.", ["deepseek"], ["anthropic", "openai"]),
        ("I'm an AI language model developed by DeepSeek, not by OpenAI.", ["deepseek"], ["openai"]),
        ("我不是ChatGPT，而是通义千问，由阿里云开发。", ["alibaba"], ["openai"]),
        ("我并不是由OpenAI开发的，我是DeepSeek。", ["deepseek"], ["openai"]),
        ("我不是ChatGPT，也不是Claude。", [], ["anthropic", "openai"]),
    ],
)
def test_denials_are_not_claims(text: str, claimed: list[str], denied: list[str]) -> None:
    summary = summarize_claims(claims(text), DEEPSEEK)
    assert summary.claimed == claimed
    assert summary.denied == denied


@pytest.mark.parametrize(
    ("text", "claimed"),
    [
        # Comparisons name another model without claiming it.
        ("I am an assistant similar to ChatGPT, but I was trained by DeepSeek.", ["deepseek"]),
        ("Unlike ChatGPT, I was built by DeepSeek.", ["deepseek"]),
        ("我是一个类似ChatGPT的模型，由深度求索开发。", ["deepseek"]),
        # Quoted speech that is itself a self-description is reported, not claimed.
        ('Some models answer "I am ChatGPT, made by OpenAI" when asked, but I am DeepSeek-V3.', ["deepseek"]),
        ("有些模型会说“我是ChatGPT，由OpenAI开发”，但我是深度求索开发的DeepSeek。", ["deepseek"]),
        ("Users sometimes write 'I’m Claude' in prompts. My name is DeepSeek.", ["deepseek"]),
        ("They expect 'I'm ChatGPT' as the answer; I'm DeepSeek.", ["deepseek"]),
        # A quoted bare name after a claim is still the claim.
        ('I am "ChatGPT".', ["openai"]),
        # Code is not speech.
        ("```python\nprint('I am ChatGPT by OpenAI')\n```\nI am Llama, from Meta.", ["meta"]),
    ],
)
def test_comparisons_quotes_and_code(text: str, claimed: list[str]) -> None:
    assert own(text) == claimed


def test_role_play_voicing_another_model_is_attributed_to_the_role() -> None:
    text = (
        "[CHATGPT]: I am ChatGPT, a model made by OpenAI.\n"
        "[DEEPSEEK]: And I am DeepSeek-V3, developed by 深度求索.\n"
    )
    found = claims(text)
    assert {(c.vendor, c.role) for c in found if c.vendor == "openai"} == {("openai", "CHATGPT")}
    summary = summarize_claims(found, DEEPSEEK)
    assert summary.claimed == ["deepseek"] and summary.in_role == ["openai"] and not summary.loose


def test_a_jailbreak_persona_of_its_own_still_speaks_for_the_model() -> None:
    text = "[NORMAL]: I am DeepSeek-V3.\n[NOVA]: Fine, the truth: I was really trained by OpenAI."
    summary = summarize_claims(claims(text), DEEPSEEK)
    assert summary.claimed == ["deepseek", "openai"]
    assert summary.foreign == ["openai"] and summary.loose and summary.strict


def test_chinese_role_labels() -> None:
    text = "【ChatGPT】：我是ChatGPT，由OpenAI开发。\n【本我】：其实我是深度求索训练的模型。"
    summary = summarize_claims(claims(text), DEEPSEEK)
    assert summary.in_role == ["openai"] and summary.claimed == ["deepseek"] and not summary.loose


def test_mixed_languages_and_multiple_claims() -> None:
    text = "I am DeepSeek-V3. 但在某些场合，我是ChatGPT, a model by OpenAI, and I am also powered by Claude."
    summary = summarize_claims(claims(text), DEEPSEEK)
    assert summary.claimed == ["anthropic", "deepseek", "openai"]
    assert summary.foreign == ["anthropic", "openai"] and summary.strict


@pytest.mark.parametrize(
    ("true_identity", "text", "loose", "strict"),
    [
        (["OpenAI", "GPT-4o"], "I am ChatGPT, made by OpenAI.", False, False),
        (["Anthropic", "Claude"], "I am ChatGPT, made by OpenAI.", True, True),
        (["Alibaba Qwen", "Qwen2.5-Max"], "我是文心一言，由百度开发。", True, False),
        (["Alibaba Qwen", "Qwen2.5-Max"], "我是通义千问。", False, False),
        (["Hugging Face", "SmolLM2"], "I am not sure who made me.", False, False),
    ],
)
def test_loose_and_strict_against_the_true_identity(
    true_identity: list[str], text: str, loose: bool, strict: bool
) -> None:
    summary = summarize_claims(claims(text), vendors_of(true_identity))
    assert (summary.loose, summary.strict) == (loose, strict)


def test_names_inside_longer_words_do_not_count() -> None:
    assert own("I am metadata-driven and my output is GPTs-compatible.") == []
    assert vendors_of(["Alibaba Qwen"]) == {"alibaba"}
    assert vendors_of(["Hugging Face", "SmolLM2-135M-Instruct"]) == {"huggingface"}
    assert vendors_of(["test"]) == set()
