"""LiveCodeBench code-generation prompts, one per upstream prompt style.

Upstream: LiveCodeBench/LiveCodeBench at commit 28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24.
`lcb_runner/lm_styles.py` gives every model it knows a style (`LMStyle`; the `LanguageModelList`
maps `model_name` to `model_style`), `lcb_runner/prompts/code_generation.py`
`format_prompt_generation(question, style)` builds the prompt of a style, and
`lcb_runner/runner/runner_utils.py` `build_runner` picks the runner by style: OpenAI, Claude, Gemini,
Mistral, Cohere, DeepSeek, Grok and Together styles go to their API runners (as do model names containing
`/fireworks/`), every other style to `VLLMRunner`, the only runner that passes `--stop` (default "###",
`runner/parser.py`) to the model; the OpenAI, DeepSeek, Grok and Fireworks runners have it commented out
("stop is only used for base models currently"), the others never mention it.

What each style sends, and what we do with it:

- OpenAIChat, DeepSeekAPI, TogetherAI, CohereCommand, MistralWeb: a system message (the generic one) and
  a user message (`### Question:` ... `### Format:` ... `### Answer: ...`). Sent as these two messages.
- LLaMa3: the same two messages passed through the chat template of the tokenizer of
  `meta-llama/Meta-Llama-3-8B-Instruct` (with the generation prompt), for every LLaMa3-style model, and
  the resulting text given to vLLM. We send the two messages through the served model's own chat
  template, which is the same text for Llama 3 Instruct models.
- OpenAIReasonPreview, Grok: one user message, the generic system text, a blank line, the question.
- OpenAIReason: the same, with its own stdin format line (a `main()` that is called at the end).
- Claude3, Claude3Thinking: `system=` the generic system text and one user message, the question with
  trailing whitespace removed. Sent as a system and a user message (our Anthropic backend puts system
  messages in `system`).
- Gemini, GeminiThinking: one string given as the request's contents (one user turn): Gemini's own
  system text (GeminiThinking: the generic one), a newline, the question. Sent as one user message.
- DeepSeekCodeInstruct, CodeQwenInstruct, QwQ, DeepSeekR1: raw text with the model's chat markup
  written into it, which upstream's VLLMRunner hands to `LLM.generate` without a chat template. Sent as
  raw text (`Prompt.raw_text`: llama.cpp or vLLM in-process, an OpenAI-compatible server's
  `/completions`), so only for an entry we serve ourselves; for any other entry they are refused with a
  ConfigError that says how to choose another style.
- Claude (Claude 1 and 2): a prompt for Anthropic's retired text-completions API; GenericBase: a raw
  one-shot prompt for base models whose whole output is taken as the program (another extraction).
  Refused as well.
- DataBricks, CodeLLaMaInstruct, StarCoderInstruct: upstream's `format_prompt_generation` raises
  NotImplementedError for them; refused too.

A model name upstream does not list gets OpenAIChat (upstream's generic chat style). Upstream names its
OpenAI reasoning models `<model>__<reasoning effort>` (e.g. `o3-mini-2025-01-31__high`); a model named
`<model>` gets the style of those names.
"""

from __future__ import annotations

from harness.errors import ConfigError
from harness.types import Message

UPSTREAM_COMMIT = "28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24"

SYSTEM_MESSAGE_GENERIC = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests."
)
SYSTEM_MESSAGE_GEMINI = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests. Do NOT use "
    "system calls like `exit` in the generated program. Ensure that the first code block contains the "
    "solution."
)
FORMAT_WITH_STARTER_CODE = (
    "You will use the following starter code to write the solution to the problem and enclose your code "
    "within delimiters."
)
FORMAT_WITHOUT_STARTER_CODE = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on "
    "the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python "
    "program runs, it reads the inputs, runs the algorithm and writes output to STDOUT."
)
# OpenAIReason's stdin format line ("orchastrates" is upstream's spelling).
FORMAT_WITHOUT_STARTER_CODE_OAI_REASON = (
    "Implement a function called `main()` which orchastrates the solution by reading inputs from stdin and "
    "writing the answer to stdout. Feel free to use additional functions as necessary. Next do NOT forget "
    "to call `main` function at the end of the program otherwise you will not be awarded any points."
)
SYSTEM_MESSAGE_DEEPSEEK = (
    "You are an AI programming assistant, utilizing the DeepSeek Coder model, developed by DeepSeek Company, "
    "and you answer questions related to computer science."
)
SYSTEM_MESSAGE_CODEQWEN = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user"
SYSTEM_MESSAGE_QWEN_QWQ = (
    "<|im_start|>system\nYou are a helpful and harmless assistant. You are Qwen developed by Alibaba. You "
    "should think step-by-step.<|im_end|>\n<|im_start|>user"
)
SYSTEM_MESSAGE_DEEPSEEK_R1 = (
    "<｜begin▁of▁sentence｜>A conversation between User and Assistant. The user asks a question, and the "
    "Assistant solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within <think> "
    "</think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>.<｜User｜>"
)
TASK_LINE = (
    "You will be given a question (problem specification) and will generate a correct Python program that "
    "matches the specification and passes all tests."
)
ONLY_THE_PROGRAM = " You will NOT return anything except for the program."
# What upstream's VLLMRunner stops at (`--stop`'s default); it is the only runner that passes a stop.
LOCAL_STOP = ("###",)

DEFAULT_STYLE = "OpenAIChat"
SYSTEM_AND_QUESTION = ("OpenAIChat", "DeepSeekAPI", "TogetherAI", "CohereCommand", "MistralWeb", "LLaMa3")
QUESTION_WITH_SYSTEM_TEXT = ("OpenAIReasonPreview", "Grok")
CHAT_STYLES = (
    *SYSTEM_AND_QUESTION,
    *QUESTION_WITH_SYSTEM_TEXT,
    "OpenAIReason",
    "Claude3",
    "Claude3Thinking",
    "Gemini",
    "GeminiThinking",
)
RAW_TEXT_STYLES = ("DeepSeekCodeInstruct", "CodeQwenInstruct", "QwQ", "DeepSeekR1")
_NOT_IMPLEMENTED = "upstream builds no code-generation prompt for it (NotImplementedError)"
REFUSED_STYLES = {
    "Claude": "a prompt for Anthropic's text-completions API (between '\\n\\nHuman:' and '\\n\\nAssistant:')",
    "GenericBase": "a raw one-shot prompt for base models, whose whole output is taken as the program",
    "DataBricks": _NOT_IMPLEMENTED,
    "CodeLLaMaInstruct": _NOT_IMPLEMENTED,
    "StarCoderInstruct": _NOT_IMPLEMENTED,
}
STYLES = (*CHAT_STYLES, *RAW_TEXT_STYLES, *REFUSED_STYLES)

# Upstream's `LanguageModelStore` (model_name -> model_style), grouped by style.
UPSTREAM_MODELS: dict[str, tuple[str, ...]] = {
    "GenericBase": (
        "meta-llama/Meta-Llama-3-8B",
        "meta-llama/Meta-Llama-3-70B",
        "meta-llama/Llama-3.1-8B",
        "meta-llama/Llama-3.1-70B",
        "meta-llama/Llama-3.1-405B-FP8",
        "deepseek-ai/deepseek-coder-33b-base",
        "deepseek-ai/deepseek-coder-6.7b-base",
        "deepseek-ai/deepseek-coder-1.3b-base",
        "bigcode/starcoder2-3b",
        "bigcode/starcoder2-7b",
        "bigcode/starcoder2-15b",
        "google/codegemma-7b",
        "google/codegemma-2b",
        "google/gemma-7b",
        "google/gemma-2b",
    ),
    "LLaMa3": (
        "meta-llama/Meta-Llama-3-8B-Instruct",
        "meta-llama/Meta-Llama-3-70B-Instruct",
        "meta-llama/Llama-3.1-8B-Instruct",
        "meta-llama/Llama-3.1-70B-Instruct",
        "meta-llama/Llama-3.1-405B-Instruct-FP8",
        "meta-llama/Llama-3.3-70B-Instruct",
    ),
    "DeepSeekCodeInstruct": (
        "deepseek-ai/deepseek-coder-33b-instruct",
        "deepseek-ai/deepseek-coder-6.7b-instruct",
        "deepseek-ai/deepseek-coder-1.3b-instruct",
    ),
    "DeepSeekAPI": (
        "01-ai/Yi-Coder-9B-Chat",
        "deepseek-r1-preview",
        "deepseek-r1-lite-preview",
        "deepseek-chat",
        "deepseek-coder",
    ),
    "OpenAIChat": (
        "gpt-3.5-turbo-0301",
        "gpt-3.5-turbo-0125",
        "gpt-4-0613",
        "gpt-4-1106-preview",
        "gpt-4-turbo-2024-04-09",
        "gpt-4o-2024-05-13",
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
    ),
    "OpenAIReasonPreview": (
        "o1-preview-2024-09-12",
        "o1-mini-2024-09-12",
    ),
    "OpenAIReason": (
        "o1-2024-12-17__low",
        "o1-2024-12-17__medium",
        "o1-2024-12-17__high",
        "o3-mini-2025-01-31__low",
        "o3-mini-2025-01-31__medium",
        "o3-mini-2025-01-31__high",
        "o4-mini__high",
        "o4-mini__medium",
        "o4-mini__low",
        "o3__high",
    ),
    "Claude": (
        "claude-instant-1",
        "claude-2",
    ),
    "Claude3": (
        "claude-3-opus-20240229",
        "claude-3-sonnet-20240229",
        "claude-3-5-sonnet-20240620",
        "claude-3-5-sonnet-20241022",
        "claude-3-haiku-20240307",
        "claude-sonnet-4-20250514_nothink",
    ),
    "Claude3Thinking": (
        "claude-3-7-sonnet-20250219",
        "claude-sonnet-4-20250514",
        "claude-opus-4-20250514",
        "claude-opus-4-20250514_nothink",
    ),
    "Gemini": (
        "gemini-1.5-pro-002",
        "gemini-1.5-flash-002",
    ),
    "GeminiThinking": (
        "gemini-2.5-pro",
        "gemini-2.5-pro-preview-06-05",
        "gemini-2.5-pro-preview-05-06",
        "gemini-2.5-flash-preview-04-17",
        "gemini-2.5-flash-preview-05-20",
    ),
    "MistralWeb": (
        "mistral-large-latest",
        "open-mixtral-8x22b",
        "open-mixtral-8x7b",
        "codestral-latest",
    ),
    "QwQ": (
        "Qwen/QwQ-32B-Preview",
        "Qwen/QwQ-32B",
        "Qwen/QwQ-Max-Preview",
    ),
    "CodeQwenInstruct": (
        "Qwen/Qwen2-72B-Instruct",
        "Qwen/Qwen2.5-7B-Instruct",
        "Qwen/Qwen2.5-32B-Instruct",
        "Qwen/Qwen2.5-72B-Instruct",
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        "Qwen/Qwen2.5-Coder-32B-Instruct",
        "Qwen/Qwen3-235B-A22B",
        "azerogpt",
        "Kimi-k1.6-IOI-high",
        "Kimi-k1.6-IOI",
    ),
    "DeepSeekR1": (
        "accounts/fireworks/models/deepseek-r1",
        "deepseek-reasoner",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
        "MetaStone-L1-7B",
        "nvidia/Llama-3_1-Nemotron-Ultra-253B-v1",
        "nvidia/Llama-3_1-Nemotron-Nano-8B-v1",
        "agentica-org/DeepCoder-14B-Preview",
    ),
    "CohereCommand": (
        "command-r-plus-08-2024",
        "command-r-08-2024",
        "command-r7b-12-2024",
        "command-a-03-2025",
    ),
    "TogetherAI": ("Qwen/Qwen2.5-72B-Instruct-Turbo",),
    "Grok": (
        "grok-3-mini-beta",
        "grok-3-mini-beta_high",
    ),
}
MODEL_STYLES = {name: style for style, names in UPSTREAM_MODELS.items() for name in names}
# `<model>__<effort>` names: the API model `<model>` at one reasoning effort.
_EFFORT_MODEL_STYLES = {name.split("__")[0]: style for name, style in MODEL_STYLES.items() if "__" in name}


def style_for_model(model: str) -> str:
    """The style upstream gives a model of this name; its generic chat style when it lists none."""
    return MODEL_STYLES.get(model) or _EFFORT_MODEL_STYLES.get(model) or DEFAULT_STYLE


def check_style(style: str, where: str) -> str:
    """`style` if it is one of upstream's style names; otherwise a ConfigError listing them."""
    if style not in STYLES:
        raise ConfigError(
            f"{where}: unknown LiveCodeBench prompt style {style!r}; upstream's styles are "
            f"{', '.join(STYLES)} (those we can send: {', '.join(CHAT_STYLES)})."
        )
    return style


def check_sendable(style: str, where: str, *, self_hosted: bool) -> None:
    """A ConfigError, saying what to do, for a style we cannot send as upstream does (raw-text styles
    only to a model we serve ourselves, as upstream serves them with vLLM)."""
    check_style(style, where)
    if style in RAW_TEXT_STYLES:
        if self_hosted:
            return
        reason = (
            "raw text with the model's chat markup written in, which upstream completes with vLLM; this "
            "entry is not served by us (set `self_hosted: true` on it if it is: it is then sent as raw text)"
        )
    else:
        reason = REFUSED_STYLES.get(style, "")
        if not reason:
            return
    raise ConfigError(
        f"{where}: LiveCodeBench prompt style {style} is {reason}; so it cannot be sent as upstream "
        f"(commit {UPSTREAM_COMMIT[:7]}) sends it. Choose a chat style with `prompt_style: ...` on the "
        f"entry in the models file or `-T prompt_style=...` (e.g. {DEFAULT_STYLE}, upstream's generic "
        f"prompt, through the model's own chat template), and record that the prompt differs from "
        f"upstream's for this model. Chat styles: {', '.join(CHAT_STYLES)}."
    )


def question_prompt(content: str, starter_code: str, stdin_format: str = FORMAT_WITHOUT_STARTER_CODE) -> str:
    """Upstream `get_generic_question_template_answer` (with OpenAIReason's stdin format line,
    `get_oaireason_question_template_answer`; GeminiThinking's template is the generic one)."""
    prompt = f"### Question:\n{content}\n\n"
    if starter_code:
        prompt += f"### Format: {FORMAT_WITH_STARTER_CODE}\n"
        prompt += f"```python\n{starter_code}\n```\n\n"
    else:
        prompt += f"### Format: {stdin_format}\n"
        prompt += "```python\n# YOUR CODE HERE\n```\n\n"
    prompt += "### Answer: (use the provided format with backticks)\n\n"
    return prompt


def raw_prompt_text(style: str, content: str, starter_code: str) -> str:
    """The raw text of a problem in one of RAW_TEXT_STYLES, as upstream's `format_prompt_generation`
    writes it (its system text, then the style's question template)."""
    if starter_code:
        code_block = f"{FORMAT_WITH_STARTER_CODE}\n```python\n{starter_code}\n```\n\n"
    else:
        code_block = f"{FORMAT_WITHOUT_STARTER_CODE}\n```python\n# YOUR CODE HERE\n```\n\n"
    if style == "DeepSeekCodeInstruct":
        return (
            f"{SYSTEM_MESSAGE_DEEPSEEK}\n\n### Instruction: {TASK_LINE}{ONLY_THE_PROGRAM}\n\n"
            f"Question:\n{content}\n\n### Instruction: {code_block}### Response:\n\n"
        )
    if style in ("CodeQwenInstruct", "QwQ"):
        system = SYSTEM_MESSAGE_CODEQWEN if style == "CodeQwenInstruct" else SYSTEM_MESSAGE_QWEN_QWQ
        task_line = TASK_LINE + (ONLY_THE_PROGRAM if style == "CodeQwenInstruct" else "")
        return (
            f"{system}\n\n{task_line}\n\nQuestion: {content}\n\n{code_block}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
    if style == "DeepSeekR1":
        return (
            f"{SYSTEM_MESSAGE_DEEPSEEK_R1}{TASK_LINE}\n\nQuestion: {content}\n\n{code_block}<｜Assistant｜>"
        )
    raise AssertionError(f"style {style} is not a raw-text style")


def prompt_messages(style: str, content: str, starter_code: str) -> list[Message]:
    """The messages of a problem in `style`, as upstream's `format_prompt_generation` builds them (a
    raw-text style's text as the one user message of a raw-text prompt)."""
    if style in RAW_TEXT_STYLES:
        return [Message(role="user", content=raw_prompt_text(style, content, starter_code))]
    check_sendable(style, "LiveCodeBench", self_hosted=False)
    question = question_prompt(content, starter_code)
    if style in SYSTEM_AND_QUESTION:
        return [
            Message(role="system", content=SYSTEM_MESSAGE_GENERIC),
            Message(role="user", content=question),
        ]
    if style in QUESTION_WITH_SYSTEM_TEXT:
        return [Message(role="user", content=f"{SYSTEM_MESSAGE_GENERIC}\n\n{question}")]
    if style == "OpenAIReason":
        reason_question = question_prompt(content, starter_code, FORMAT_WITHOUT_STARTER_CODE_OAI_REASON)
        return [Message(role="user", content=f"{SYSTEM_MESSAGE_GENERIC}\n\n{reason_question}")]
    if style in ("Claude3", "Claude3Thinking"):
        return [
            Message(role="system", content=SYSTEM_MESSAGE_GENERIC),
            Message(role="user", content=question.rstrip()),
        ]
    if style == "Gemini":
        return [Message(role="user", content=f"{SYSTEM_MESSAGE_GEMINI}\n{question}")]
    if style == "GeminiThinking":
        return [Message(role="user", content=f"{SYSTEM_MESSAGE_GENERIC}\n{question}")]
    raise AssertionError(f"style {style} is neither sendable nor refused")
