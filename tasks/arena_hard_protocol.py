"""Arena-Hard's judging protocol: the judge prompts, verdict parsing, battle outcomes, answer style.

Written after lmarena/arena-hard-auto at two commits:
- v2.0: 196f6b826783b3da7310e361a805fa36f0be83f3 (2025-06-20; `gen_judgment.py`, `utils/judge_utils.py`,
  `utils/add_markdown_info.py`, `show_result.py`, `config/arena-hard-v2.0.yaml`);
- v0.1 as its own code: 3071ef95d913bb5cd632641db336a3b6c7fe4bdd (2025-03-19, the last commit before
  v2.0 rewrote the scripts; `gen_judgment.py`, `config/judge_config.yaml`, `show_result.py`,
  `utils_math.py`).
The tests pin the prompts byte for byte and the verdicts as upstream's own code produces them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from harness.types import Message

UPSTREAM_V2_COMMIT = "196f6b826783b3da7310e361a805fa36f0be83f3"
UPSTREAM_V01_COMMIT = "3071ef95d913bb5cd632641db336a3b6c7fe4bdd"

# The judge's system prompt, paragraph by paragraph; creative writing leaves out the judge's own answer.
_TASK = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI "
    "assistants to the user prompt displayed below. You will be given assistant A's answer and "
    "assistant B's answer. Your job is to evaluate which assistant's answer is better."
)
_OWN_ANSWER = (
    "Begin your evaluation by generating your own answer to the prompt. You must provide your answers "
    "before judging any answers."
)
_COMPARE = (
    "When evaluating the assistants' answers, compare both assistants' answers{against}. You must "
    "identify and correct any mistakes or inaccurate information."
)
_CRITERIA = (
    "Then consider if the assistant's answers are helpful, relevant, and concise. Helpful means the "
    "answer correctly responds to the prompt or follows the instructions. Note when user prompt has any "
    "ambiguity or more than one interpretation, it is more helpful and appropriate to ask for "
    "clarifications or more information from the user than providing an answer based on assumptions. "
    "Relevant means all parts of the response closely connect or are appropriate to what is being "
    "asked. Concise means the response is clear and not verbose or excessive."
)
_CREATIVITY = (
    "Then consider the creativity and novelty of the assistant's answers when needed. Finally, identify "
    "any missing important information in the assistants' answers that would be beneficial to include "
    "when responding to the user prompt."
)
_VERDICTS = (
    "After providing your explanation, you must output only one of the following choices as your final "
    "verdict with a label:\n\n"
    "1. Assistant A is significantly better: [[A>>B]]\n"
    "2. Assistant A is slightly better: [[A>B]]\n"
    "3. Tie, relatively the same: [[A=B]]\n"
    "4. Assistant B is slightly better: [[B>A]]\n"
    "5. Assistant B is significantly better: [[B>>A]]\n\n"
    'Example output: "My final verdict is tie: [[A=B]]".'
)
SYSTEM_PROMPT = "\n\n".join(
    [_TASK, _OWN_ANSWER, _COMPARE.format(against=" with your answer"), _CRITERIA, _CREATIVITY, _VERDICTS]
)
CREATIVE_SYSTEM_PROMPT = "\n\n".join([_TASK, _COMPARE.format(against=""), _CRITERIA, _CREATIVITY, _VERDICTS])
CREATIVE_CATEGORY = "creative_writing"

_USER_PROMPT = (
    "<|User Prompt|>\n{question}\n\n"
    "<|The Start of Assistant A's Answer|>\n{answer_a}\n<|The End of Assistant A's Answer|>\n\n"
    "<|The Start of Assistant B's Answer|>\n{answer_b}\n<|The End of Assistant B's Answer|>"
)
# v0.1's one extra turn when the judge gave no verdict label.
FOLLOW_UP = "continue your judgment and finish by outputting a final verdict label"

DOUBLE_BRACKETS = re.compile(r"\[\[([AB<>=]+)\]\]")
SINGLE_BRACKETS = re.compile(r"\[([AB<>=]+)\]")

# The score of assistant A for each verdict v2.0 knows ("significantly" counts three times).
STRONG_WEIGHT = 3
_A_SCORES: dict[str, tuple[float, int]] = {
    "A>B": (1.0, 1),
    "A>>B": (1.0, STRONG_WEIGHT),
    "A=B": (0.5, 1),
    "A<<B": (0.0, STRONG_WEIGHT),
    "A<B": (0.0, 1),
    "B>A": (0.0, 1),
    "B>>A": (0.0, STRONG_WEIGHT),
    "B=A": (0.5, 1),
    "B<<A": (1.0, STRONG_WEIGHT),
    "B<A": (1.0, 1),
}
# v0.1 turns only the five labels of its prompt into battles.
V01_LABELS = frozenset({"A>B", "A>>B", "A=B", "B>A", "B>>A"})


def system_prompt(category: str | None) -> str:
    return CREATIVE_SYSTEM_PROMPT if category == CREATIVE_CATEGORY else SYSTEM_PROMPT


def judge_messages(question: str, answer_a: str, answer_b: str, category: str | None) -> list[Message]:
    """The judge's conversation for one game: assistant A's and B's answers to `question`."""
    user = _USER_PROMPT.format(question=question, answer_a=answer_a, answer_b=answer_b)
    return [Message(role="system", content=system_prompt(category)), Message(role="user", content=user)]


def verdict_v2(judgment: str) -> str | None:
    """v2.0: the last `[[label]]`, else the last `[label]`, in the upper-cased judgment."""
    upper = judgment.upper()
    for pattern in (DOUBLE_BRACKETS, SINGLE_BRACKETS):
        found = [match for match in pattern.findall(upper) if match]
        if found:
            return str(found[-1]).strip("\n")
    return None


def verdict_v01(judgment: str) -> tuple[str | None, bool]:
    """v0.1: `(label, ask again)`. One distinct `[[label]]` (case as written) is the verdict; none asks
    the judge to finish; several different ones are no verdict, without asking again."""
    found = [match for match in DOUBLE_BRACKETS.findall(judgment) if match]
    distinct = set(found)
    if not distinct:
        return None, True
    if len(distinct) == 1:
        return str(found[0]).strip("\n"), False
    return None, False


def entry_outcomes(game: int, label: str | None, *, v01: bool) -> list[float] | None:
    """The entry's battle outcomes from one game's verdict (None: the verdict counts for nothing).

    In game 1 the baseline is assistant A, in game 2 the entry is."""
    if label is None or label not in _A_SCORES or (v01 and label not in V01_LABELS):
        return None
    a_score, weight = _A_SCORES[label]
    return [a_score if game == 2 else 1.0 - a_score] * weight


# --- Answer style (upstream's add_markdown_info.py): counted after removing fenced code ---------------

_CODE = re.compile("```([^`]*)```")
_HEADERS = [re.compile(rf"^#{{{level}}}\s", re.MULTILINE) for level in range(1, 7)]
_ORDERED = re.compile(r"^\s*\d+\.\s", re.MULTILINE)
_UNORDERED = re.compile(r"^\s*[-*+]\s", re.MULTILINE)
_BOLD_STARS = re.compile(r"\*\*[^*\n]+\*\*")
_BOLD_UNDERSCORES = re.compile(r"__[^_\n]+__")


@cache
def _encoder() -> Any:
    # bpe-openai ships OpenAI's o200k_base ranks (the file tiktoken downloads, same sha256) and counts
    # as tiktoken does; tiktoken itself would download the file at run time.
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


def token_length(text: str) -> int:
    """Tokens of `text` in the gpt-4o encoding (o200k_base), special-token text counted as text."""
    return len(_encoder().encode(text, disallowed_special=()))


def answer_style(text: str) -> dict[str, Any]:
    """Upstream's answer metadata: token length and markdown element counts outside fenced code.

    As upstream, the text between each pair of fences is removed and the fences themselves stay."""
    stripped = text
    for block in _CODE.findall(text):
        stripped = stripped.replace(block, "")
    return {
        "token_len": token_length(text),
        "header_count": {f"h{i + 1}": len(p.findall(stripped)) for i, p in enumerate(_HEADERS)},
        "list_count": {
            "ordered": len(_ORDERED.findall(stripped)),
            "unordered": len(_UNORDERED.findall(stripped)),
        },
        "bold_count": {
            "**": len(_BOLD_STARS.findall(stripped)),
            "__": len(_BOLD_UNDERSCORES.findall(stripped)),
        },
    }


def style_counts(style: Mapping[str, Any]) -> list[float]:
    """Tokens, headers, list items and bold spans of an answer's metadata, as the style features use
    them (each group summed)."""
    values = []
    for key in ("token_len", "header_count", "list_count", "bold_count"):
        value = style.get(key, 0)
        values.append(float(sum(value.values()) if isinstance(value, Mapping) else value))
    return values


def joined_labels(labels: Sequence[str | None]) -> str:
    return ",".join(label or "-" for label in labels)
