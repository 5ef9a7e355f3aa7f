"""Separate a model's visible reasoning (`<think>...</think>`) from its final answer."""

from __future__ import annotations

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Return `(reasoning, answer)`.

    Handles the three shapes seen in practice: a full `<think>...</think>` block; only the closing tag
    (chat templates such as DeepSeek-R1's put the opening tag in the prompt); and an opening tag that is
    never closed (generation cut off while thinking), where there is no answer at all.
    """
    close = text.rfind(CLOSE_TAG)
    if close != -1:
        before, answer = text[:close], text[close + len(CLOSE_TAG) :]
        open_at = before.find(OPEN_TAG)
        reasoning = before[open_at + len(OPEN_TAG) :] if open_at != -1 else before
        return reasoning.strip(), answer.lstrip()
    open_at = text.find(OPEN_TAG)
    if open_at != -1:
        return text[open_at + len(OPEN_TAG) :].strip(), text[:open_at].rstrip()
    return None, text
