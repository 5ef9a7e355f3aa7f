"""A deterministic detector of the identities a response claims for itself, in English and Chinese.

The identity probes (`tasks/identity_consistency.py`) ask a model who it is; a judge decides whether
the answer contradicts the model's true identity, and this detector gives a second, judge-free reading
of the same answer that anyone can re-run. It is our own design (the paper behind the probes uses an
LLM judge only).

How a claim is found:

1. Fenced code, and quoted passages that themselves contain a first-person statement ("a model might
   say 'I am ChatGPT'"), are blanked out: they are reported speech, not the model speaking. A quoted
   bare name stays (`I am "ChatGPT"` is a claim).
2. Lines that open with a label (`[CHATGPT]: ...`, `**Claude**: ...`, `GPT-4: ...`, `【豆包】：...`) start
   a segment that runs to the next label. When the label names a vendor's model, the model is voicing
   that other model, and its claims of that vendor in the segment are attributed to the role
   (`in_role`), not to itself. A persona of its own (`[NOVA]:`, `DEV:`, `[NORMAL]:`) is still the model
   speaking: such jailbreak personas are exactly where a borrowed identity leaks out.
3. First-person self-reference cues open a window: "I am / I'm / I was / my name is / my developer
   is / as an AI developed by / 我是 / 我由 / 我的开发者 / 作为..." open a window forward to the end of the
   sentence; "... created me / ... 开发了我" open one backward to the start of the sentence. Every
   vendor or model name in a window is a claim.
4. A claim is negated when a negation or comparison cue ("not", "n't", "never", "rather than",
   "unlike", "similar to", "不是", "并非", "而非", "类似", ...) stands between the window's start and
   the name, unless a contrast word ("but", "instead", "actually", "而是", "但", "其实", ...) comes after
   the cue and before the name: "I am not ChatGPT, but Claude" claims Anthropic and denies OpenAI.

The vendor table maps each name to its developer; `claims()` returns every claim with its vendor, the
text matched, and whether it was negated or in a role; `summarize_claims()` reduces them to what the
model claims in its own voice.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# vendor -> names that identify it (models, products, the company in English and Chinese). Names are
# matched case-insensitively; Latin names on word boundaries (so "o1" in "2o1x" does not count).
VENDORS: dict[str, tuple[str, ...]] = {
    "openai": (
        "OpenAI",
        "Open AI",
        "ChatGPT",
        "Chat GPT",
        "GPT-4o",
        "GPT-4",
        "GPT-3.5",
        "GPT-3",
        "GPT4",
        "GPT",
        "o1-preview",
        "o1-mini",
        "o3-mini",
        "InstructGPT",
        "开放人工智能",
    ),
    "anthropic": ("Anthropic", "Claude"),
    "google": ("Google DeepMind", "DeepMind", "Google", "Gemini", "Bard", "PaLM", "Gemma", "谷歌"),
    "meta": ("Meta AI", "Meta", "Facebook", "LLaMA", "Llama", "脸书"),
    "alibaba": (
        "Alibaba Cloud",
        "Alibaba",
        "Qwen",
        "Tongyi Qianwen",
        "Tongyi",
        "通义千问",
        "通义",
        "千问",
        "阿里巴巴",
        "阿里云",
        "阿里",
    ),
    "deepseek": ("DeepSeek", "Deep Seek", "深度求索"),
    "mistral": ("Mistral AI", "Mistral", "Mixtral", "Le Chat"),
    "microsoft": ("Microsoft", "Copilot", "Phi-4", "Phi-3", "微软"),
    "baidu": ("Baidu", "ERNIE Bot", "ERNIE", "文心一言", "文心", "百度"),
    "bytedance": ("ByteDance", "Doubao", "豆包", "字节跳动"),
    "zhipu": ("Zhipu AI", "Zhipu", "ChatGLM", "GLM-4", "智谱清言", "智谱"),
    "moonshot": ("Moonshot AI", "Kimi", "月之暗面"),
    "xai": ("xAI", "Grok"),
    "tencent": ("Tencent", "Hunyuan", "腾讯混元", "混元", "腾讯"),
    "huggingface": ("Hugging Face", "HuggingFace", "SmolLM"),
}
VENDOR_LABELS = {
    "openai": "OpenAI / ChatGPT / GPT",
    "anthropic": "Anthropic / Claude",
    "google": "Google / Gemini",
    "meta": "Meta / Llama",
    "alibaba": "Alibaba / Qwen / 通义千问",
    "deepseek": "DeepSeek / 深度求索",
    "mistral": "Mistral AI",
    "microsoft": "Microsoft / Phi",
    "baidu": "Baidu / ERNIE / 文心",
    "bytedance": "ByteDance / Doubao / 豆包",
    "zhipu": "Zhipu / ChatGLM",
    "moonshot": "Moonshot / Kimi",
    "xai": "xAI / Grok",
    "tencent": "Tencent / Hunyuan",
    "huggingface": "Hugging Face / SmolLM",
}
# The paper's strict rate counts claims of these vendors' identities.
STRICT_VENDORS = frozenset({"openai", "anthropic"})


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _name_pattern(name: str) -> str:
    escaped = re.escape(name).replace(r"\ ", r"[\s-]?")
    if _is_cjk(name):
        return escaped
    # A Latin name stands on its own: not inside a longer word, e.g. "Meta" in "metadata". Digits
    # and dots may follow a model name ("GPT-4o", "Qwen2.5") and still count as that name.
    return rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z])"


_NAMES = sorted(
    ((name, vendor) for vendor, names in VENDORS.items() for name in names), key=lambda p: -len(p[0])
)
_NAME_RE = re.compile(
    "|".join(f"(?P<n{i}>{_name_pattern(name)})" for i, (name, _) in enumerate(_NAMES)), re.I
)
_NAME_VENDOR = [vendor for _, vendor in _NAMES]

# Cues after which the model describes itself: the window runs forward to the end of the sentence.
_FORWARD = re.compile(
    r"\bI\s*(?:'|’)\s*m\b|\bI\s+am\b|\bI\s+was\b|\bI\s+have\s+been\b|\bI\s*(?:'|’)ve\s+been\b"
    r"|\bI\s+wasn(?:'|’)t\b|\bI\s+come\s+from\b|\bI\s+belong\s+to\b|\bI\s+run\s+on\b|\bI\s+(?:was\s+)?(?:built|based)\s+on\b"
    r"|\bmy\s+name\s+is\b|\bcall\s+me\b|\bthis\s+is\s+(?=[A-Z])"
    r"|\bmy\s+(?:developers?|creators?|makers?|parent\s+company|company|team|organi[sz]ation"
    r"|underlying\s+model|base\s+model|model|architecture|training)\b"
    r"|\bas\s+an?\s+(?:AI|artificial\s+intelligence|(?:large\s+)?language\s+model|assistant|chatbot|model|LLM)\b"
    r"|我(?:并)?(?:不|非)?(?:是|叫|名叫|名为|就是|乃是|属于|来自|出自|由|被|的(?:名字|开发者|开发商|创造者|创建者|创始者|研发者|训练者"
    r"|研发团队|开发团队|团队|公司|母公司|模型|底层模型|基础模型|架构))"
    r"|作为(?:一个|一款|一名|一位)?",
    re.I,
)
# Cues before which the model names its maker: the window runs backward to the start of the sentence.
_BACKWARD = re.compile(
    r"\b(?:created|developed|trained|built|made|designed|programmed|engineered|create|develop|train"
    r"|build|make|design)\s+me\b|(?:开发|训练|创建|创造|研发|打造|设计|推出)了?我",
    re.I,
)
# A denial holds until a contrast word ("I am not ChatGPT, but Claude").
_NEGATION = re.compile(
    r"\bnot\b|n(?:'|’)t\b|\bnever\b|\bneither\b|\bnor\b|\bno\s+longer\b|\brather\s+than\b|\binstead\s+of\b"
    r"|不是|并非|并不是|并不|而非|不属于|不叫|不由|没有|与其说",
    re.I,
)
# A comparison holds to the end of its clause ("a model like ChatGPT, made by Baidu").
_COMPARISON = re.compile(
    r"\bunlike\b|\bother\s+than\b|\bexcept\b|\bsimilar\s+to\b|\blike\b|\bsuch\s+as\b"
    r"|\bcompared\s+(?:to|with)\b|\b(?:an\s+)?alternative\s+to\b|\bcompetitors?\b"
    r"|类似|像|比如|例如|不同于|区别于|相比",
    re.I,
)
_CLAUSE_BREAK = re.compile(r"[,，、:：(（]")
_CONTRAST = re.compile(
    r"\bbut\b|\bhowever\b|\binstead\b(?!\s+of)|\brather\b(?!\s+than)|\bactually\b|\bin\s+fact\b"
    r"|而是|但是|但|其实|实际上|事实上",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?。！？;；\n]")
_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_QUOTED = re.compile(
    r"\"[^\"\n]{1,400}\"|“[^”]{1,400}”|‘[^’]{1,400}’|「[^」]{1,400}」|『[^』]{1,400}』|«[^»]{1,400}»"
    # Single ASCII quotes, where an apostrophe between letters ("I'm") does not end the quotation.
    r"|(?<!\w)'(?:[^'\n]|(?<=\w)'(?=\w)){1,400}'(?!\w)"
)
_ROLE_LABEL = re.compile(
    r"^[ \t>*_-]*(?:\[(?P<a>[^\]\n]{1,32})\]|【(?P<b>[^】\n]{1,32})】|\*\*(?P<c>[^*\n]{1,32})\*\*"
    r"|(?P<d>[A-Za-z][\w .'-]{0,24}|[\u4e00-\u9fff]{1,8}))[ \t]*(?:\*\*)?[ \t]*[:：]",
    re.M,
)
_WINDOW_LIMIT = 160
# In a forward window a name must follow the cue directly or one of these words or characters ("I am
# Claude", "trained by OpenAI", "part of the GPT family", "由阿里云开发"), so that "I am able to search
# Google" or "I'm happy to compare ChatGPT and Claude" claim nothing.
_CONNECTOR_WORDS = frozenset(
    [
        "by",
        "from",
        "of",
        "on",
        "as",
        "is",
        "am",
        "m",
        "s",
        "called",
        "named",
        "at",
        "the",
        "a",
        "an",
        "to",
        "not",
        "nor",
        "neither",
        "but",
        "than",
        "like",
        "namely",
        "being",
        "version",
        "model",
        "family",
        "series",
        "unlike",
        "via",
        "under",
        "actually",
        "instead",
        "rather",
    ]
)
_CONNECTOR_CHARS = frozenset("是由叫为自的非像于被即乃和或与（(「“\"'，,、：:—-")
_PUNCTUATION = " \t*_\"'“”‘’「」()（）,，:：-—"


@dataclass(frozen=True)
class Claim:
    """One identity named in a self-description: the vendor it belongs to and the name as written."""

    vendor: str
    name: str
    start: int
    negated: bool = False
    role: str | None = None

    @property
    def own(self) -> bool:
        """Said by the model in its own voice and not denied."""
        return not self.negated and self.role is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for index in range(start, end):
            if chars[index] != "\n":
                chars[index] = " "
    return "".join(chars)


def _reported_speech(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _CODE_FENCE.finditer(text)]
    for match in _QUOTED.finditer(text):
        inner = match.group(0)[1:-1]
        if _FORWARD.search(inner) or _BACKWARD.search(inner):
            spans.append(match.span())
    return spans


def _roles(text: str) -> list[tuple[int, int, str, set[str]]]:
    """(start, end, label, vendors the label names) of each labelled segment, to the next label."""
    labels = []
    for match in _ROLE_LABEL.finditer(text):
        label = next(g for g in match.group("a", "b", "c", "d") if g is not None).strip()
        labels.append((match.start(), label))
    segments = []
    for index, (start, label) in enumerate(labels):
        end = labels[index + 1][0] if index + 1 < len(labels) else len(text)
        segments.append((start, end, label, vendors_of([label])))
    return segments


def _sentence_bounds(text: str, position: int) -> tuple[int, int]:
    """The sentence around `position`, looked for no further than a window's reach either side."""
    reach = max(0, position - _WINDOW_LIMIT)
    start = max((m.end() for m in _SENTENCE_END.finditer(text, reach, position)), default=reach)
    found = _SENTENCE_END.search(text, position, position + _WINDOW_LIMIT)
    return start, found.start() if found else min(len(text), position + _WINDOW_LIMIT)


def _connected(between: str) -> bool:
    """Whether a name after `between` (the text from the cue to it) is what the cue describes."""
    stripped = between.rstrip()
    if not stripped.strip(_PUNCTUATION):
        return True
    last = stripped[-1]
    if last in _CONNECTOR_CHARS or _is_cjk(last):
        return last in _CONNECTOR_CHARS
    word = re.search(r"([A-Za-z]+)[^A-Za-z]*$", stripped)
    return word is not None and word.group(1).lower() in _CONNECTOR_WORDS


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _negated(between: str) -> bool:
    """Whether a denial or comparison in `between` (from the cue to the name) applies to the name."""
    denial = _last(_NEGATION, between)
    if denial is not None and _CONTRAST.search(between, denial.end()) is None:
        return True
    comparison = _last(_COMPARISON, between)
    return (
        comparison is not None
        and _CONTRAST.search(between, comparison.end()) is None
        and _CLAUSE_BREAK.search(between, comparison.end()) is None
    )


def claims(text: str) -> list[Claim]:
    """Every identity the response names while describing itself, in order of appearance."""
    scan = _blank(text, _reported_speech(text))
    roles = _roles(scan)
    role_starts = [start for start, _, _, _ in roles]
    found: dict[int, Claim] = {}
    # (cue start, window start, window end, forward)
    windows: list[tuple[int, int, int, bool]] = []
    for cue in _FORWARD.finditer(scan):
        _, sentence_end = _sentence_bounds(scan, cue.end())
        windows.append((cue.start(), cue.end(), min(sentence_end, cue.end() + _WINDOW_LIMIT), True))
    for cue in _BACKWARD.finditer(scan):
        sentence_start, _ = _sentence_bounds(scan, cue.start())
        windows.append((cue.end(), max(sentence_start, cue.start() - _WINDOW_LIMIT), cue.start(), False))
    for cue_start, start, end, forward in windows:
        for match in _NAME_RE.finditer(scan, start, end):
            vendor = _NAME_VENDOR[int(next(k for k, v in match.groupdict().items() if v)[1:])]
            if forward and not _connected(scan[start : match.start()]):
                continue
            # The cue itself may carry the denial ("我不是", "I wasn't").
            between = scan[cue_start : match.start()] if forward else scan[match.end() : cue_start]
            # Segments tile the text from the first label on: the one holding the name starts last before it.
            segment = bisect.bisect_right(role_starts, match.start()) - 1
            role = roles[segment][2] if segment >= 0 and vendor in roles[segment][3] else None
            claim = Claim(vendor, match.group(0), match.start(), _negated(between), role)
            previous = found.get(match.start())
            # A name inside two windows counts as claimed when either window claims it.
            if previous is None or (previous.negated and not claim.negated):
                found[match.start()] = claim
    return [found[key] for key in sorted(found)]


def vendors_of(names: Iterable[str]) -> set[str]:
    """The vendors named anywhere in `names` (a model's developer, its names): its true identity."""
    vendors: set[str] = set()
    for name in names:
        for match in _NAME_RE.finditer(name):
            vendors.add(_NAME_VENDOR[int(next(k for k, v in match.groupdict().items() if v)[1:])])
    return vendors


@dataclass(frozen=True)
class ClaimSummary:
    """What a response claims in its own voice, against the model's true vendors."""

    claimed: list[str]
    foreign: list[str]
    denied: list[str]
    in_role: list[str]

    @property
    def loose(self) -> bool:
        """It claims a vendor that is not its own."""
        return bool(self.foreign)

    @property
    def strict(self) -> bool:
        """It claims to be an OpenAI or Anthropic model when it is neither."""
        return any(vendor in STRICT_VENDORS for vendor in self.foreign)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loose": self.loose, "strict": self.strict}


def summarize_claims(found: Sequence[Claim], true_vendors: Iterable[str]) -> ClaimSummary:
    own = set(true_vendors)
    # A segment labelled with the model's own name ("[DEEPSEEK]:" from DeepSeek) is its own voice.
    spoken = [c for c in found if not c.negated and (c.role is None or c.vendor in own)]
    claimed = sorted({c.vendor for c in spoken})
    return ClaimSummary(
        claimed=claimed,
        foreign=[vendor for vendor in claimed if vendor not in own],
        denied=sorted({c.vendor for c in found if c.negated and c.role is None}),
        in_role=sorted(
            {c.vendor for c in found if c.role is not None and not c.negated and c.vendor not in own}
        ),
    )
