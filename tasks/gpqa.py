"""GPQA-Diamond: 198 graduate-level four-choice questions in biology, chemistry and physics.

Paper: Rein et al., "GPQA: A Graduate-Level Google-Proof Q&A Benchmark", COLM 2024 (arXiv:2311.12022).
Protocol: openai/simple-evals at commit ee3b0318d8d1d9d72755a4120879be65f7c07e9e (`gpqa_eval.py`,
`common.py`, `simple_evals.py`, `sampler/`), the zero-shot chain-of-thought setting most launch posts
quote:

- Prompt: `common.QUERY_TEMPLATE_MULTICHOICE` filled with the question and the four answers in a
  shuffled order, as the one user message; the last line must be `Answer: $LETTER`.
- Extraction: the first match of `common.ANSWER_PATTERN_MULTICHOICE`
  `(?i)Answer[ \\t]*:[ \\t]*\\$?([A-D])\\$?`; no match scores 0. The pattern is case-insensitive but
  the letter is compared as written, so "answer: b" is parsed and scored wrong, as upstream.
- Repeats: `simple_evals.py` builds `GPQAEval(n_repeats=args.n_repeats or 10)` (the class's own
  default, 4, is not what its runner uses), so the default here is 10 (`--epochs` changes it). The
  score is the mean over all questions and repeats.
- Shuffle, exactly as upstream: `GPQAEval.__init__` makes `rng = random.Random(0)`, repeats the rows
  (`examples * n_repeats`, so repeat-major) and gives each copy, in that order, the permutation
  `rng.sample(range(4), 4)` of [correct, incorrect 1, 2, 3]. So the question at row `p` (0-based,
  file order) in repeat `r` gets the draw number `r * N + p` of `Random(0)`, N the number of rows
  (198). Here the same draw is computed from (seed, row, epoch) alone, with `Random(seed)` (seed 0 by
  default): the same permutations as simple-evals for the whole set, and still independent of
  concurrency and of which questions `--limit` selects.
- Decoding, by the kind of sampler simple-evals uses for such a model (option `sampler`, chosen from
  the entry by `for_entry` unless set with `-T sampler=...`; in the run's identity):
  * `chat` (`ChatCompletionSampler` as `simple_evals.py` builds it for gpt-4o / gpt-4.1 and the
    other GPT-4 entries): system message "You are a helpful assistant." (`OPENAI_SYSTEM_MESSAGE_API`),
    temperature 0.5 (the sampler's default), max_tokens 2048. Every entry that is neither of the two
    below, self-hosted models included.
  * `reasoning` (`OChatCompletionSampler` / `ResponsesSampler(reasoning_model=True)` for o1, o3,
    o3-mini, o4-mini): no system message and no sampling parameters; the entry's reasoning_effort is
    passed on. Chosen for entries that set `reasoning_effort` or `backend_options.reasoning_model:
    true`, or whose model name the OpenAI-compatible backend treats as a reasoning model (o1, o3,
    gpt-5, ...). simple-evals has no other vendors' reasoning models: DeepSeek-R1 or QwQ entries are
    `chat` unless set otherwise, and their entries' own temperature and token limit apply.
  * `claude` (`ClaudeCompletionSampler`, as for claude-3-haiku-20240307): no system message,
    temperature 0.0, max_tokens 4096. Chosen for `backend: anthropic`.
  What an entry sets in its own `generation` (and `--temperature` etc.) still wins: the embedded
  SmolLM2 entries decode greedily (temperature 0.0) with the chat system message.

Deliberate differences:
- `reasoning`: simple-evals sends no token limit (the API's maximum applies); a request here always
  carries one, 32768 by default (sent as max_completion_tokens). An answer that would need more is cut
  and, having no "Answer:" line, scores 0. The temperature recorded is 1.0, the only value OpenAI's
  reasoning models accept (the backend sends none to them).
- `claude`: simple-evals gives claude-3-opus and claude-3-7-sonnet an LMSYS system message dated
  2024-04-01 and claude-3-haiku none; here no system message (the sampler's default). The Anthropic
  backend sends no temperature (the current API refuses it), so Claude decodes with its default.
- `--limit` picks a stratified subset (by domain); simple-evals' `num_examples` draws its subset from
  the same `Random(0)` before the permutations (and allows one repeat only), so a subset's shuffles
  differ from a debug run of simple-evals. The full set is unaffected.
- The CI resamples questions (all repeats of a question together), not single generations.
- Requests carry a seed per (question, repeat) where the backend takes one; simple-evals sends none.
  Draws become reproducible; the expected score is the same.
- An answer that could not be obtained (a backend error after retries, a prompt over the context)
  counts as wrong, as everywhere in the harness; simple-evals retries other errors forever and scores a
  bad request's placeholder answer ("No response (bad request)." / "") 0, so the effect is the same.
- The row order is the authors' `gpqa_diamond.csv` (checked by its SHA-256); simple-evals downloads its
  own copy from openaipublic, assumed to hold the same rows in the same order (not checkable offline).
  Were it ordered otherwise, the per-question shuffles would differ (the expected score would not).
  The hub copy is assumed to keep the file's order too.

Data: the authors' encrypted `dataset.zip` is read in memory only (the plain CSV is never written, as
the authors ask), or the gated hub dataset `Idavidrein/gpqa`, which needs an access token.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import random
import re
import zipfile
from pathlib import Path
from typing import Any, Literal

from harness.backends.openai_compat import is_reasoning_model
from harness.config import ModelEntry
from harness.errors import DataError
from harness.files import decode_utf8
from harness.hub import hub_error, hub_token, load_hub_split
from harness.task import LoadedData, ScoringContext, Task, TaskOptions
from harness.types import Completion, DataRef, GenerationConfig, Message, Prompt, Sample, Score

HUB_DATASET = "Idavidrein/gpqa"
HUB_CONFIG = "gpqa_diamond"
HUB_REVISION = "633f5ee89ab8ad4522a9f850766b73f62147ffdd"
LOCAL_ZIP = "gpqa/dataset.zip"
ZIP_MEMBER = "dataset/gpqa_diamond.csv"
# Published in the authors' README; the archive is encrypted only to keep questions out of crawls.
ZIP_PASSWORD = b"deserted-untie-orchid"
DIAMOND_SHA256 = "41d1213cd7a4998605a26c2798500652572007161b3a92817ba46b35befcd305"
DIAMOND_SIZE = 198
LETTERS = "ABCD"

QUERY_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by "
    "step before answering.\n\n{Question}\n\nA) {A}\nB) {B}\nC) {C}\nD) {D}"
)
ANSWER_PATTERN = re.compile(r"(?i)Answer[ \t]*:[ \t]*\$?([A-D])\$?")

# OPENAI_SYSTEM_MESSAGE_API (`sampler/chat_completion_sampler.py`), given to the GPT-4 entries.
CHAT_SYSTEM_MESSAGE = "You are a helpful assistant."
DEFAULT_EPOCHS = 10  # `simple_evals.py`: GPQAEval(n_repeats=args.n_repeats or 10)
REASONING_MAX_TOKENS = 32768

SamplerKind = Literal["chat", "reasoning", "claude"]
GENERATION: dict[SamplerKind, GenerationConfig] = {
    "chat": GenerationConfig(temperature=0.5, max_tokens=2048, system_prompt=CHAT_SYSTEM_MESSAGE),
    "reasoning": GenerationConfig(temperature=1.0, max_tokens=REASONING_MAX_TOKENS),
    "claude": GenerationConfig(temperature=0.0, max_tokens=4096),
}

FIELDS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def extract_answer(text: str) -> str | None:
    match = ANSWER_PATTERN.search(text)
    return match.group(1) if match else None


@functools.lru_cache(maxsize=8)
def permutations(seed: int, count: int) -> tuple[tuple[int, ...], ...]:
    """The first `count` draws of `Random(seed).sample(range(4), 4)`: simple-evals' sequence for seed 0."""
    rng = random.Random(seed)
    return tuple(tuple(rng.sample(range(4), 4)) for _ in range(count))


def permutation(seed: int, row: int, rows: int, epoch: int) -> tuple[int, ...]:
    """The permutation simple-evals gives row `row` of `rows` in repeat `epoch` (draw `epoch * rows + row`).
    Draws are computed in blocks of 16 repeats, so the cached sequence does not depend on call order."""
    index = epoch * rows + row
    block = rows * 16
    return permutations(seed, (index // block + 1) * block)[index]


def shuffled_choices(sample: Sample, epoch: int, seed: int) -> tuple[list[str], str]:
    """The four answers in this (sample, epoch)'s order, and the letter of the correct one."""
    answers = [sample.data["correct"], *sample.data["incorrect"]]
    order = permutation(seed, sample.data["row"], sample.data["rows"], epoch)
    choices = [answers[i] for i in order]
    return choices, LETTERS[order.index(0)]


def sampler_kind(entry: ModelEntry) -> SamplerKind:
    """Which simple-evals sampler stands for this entry (see the module docstring)."""
    if entry.backend == "anthropic":
        return "claude"
    declared = entry.backend_options.get("reasoning_model")
    if declared is None and entry.generation.reasoning_effort is not None:
        return "reasoning"
    if declared is not None or entry.backend == "openai_compat":
        return "reasoning" if is_reasoning_model(entry.model, declared) else "chat"
    return "chat"


def read_rows(data_dir: Path | None) -> tuple[list[dict[str, Any]], DataRef]:
    if data_dir is None:
        token = hub_token()
        if token is None:
            raise DataError(
                f"GPQA is a gated dataset: accept its terms at https://huggingface.co/datasets/{HUB_DATASET} "
                "and set HF_TOKEN to an access token, or pass --data-dir D where D/"
                f"{LOCAL_ZIP} is the authors' encrypted archive."
            )
        try:
            rows = load_hub_split(HUB_DATASET, HUB_REVISION, name=HUB_CONFIG, split="train", token=token)
        except Exception as exc:
            raise hub_error(HUB_DATASET, HUB_REVISION, exc, local_layout=f"{LOCAL_ZIP} (encrypted)") from exc
        return rows, DataRef(dataset=HUB_DATASET, revision=HUB_REVISION, source="hub")
    path = data_dir / LOCAL_ZIP
    if not path.is_file():
        raise DataError(
            f"GPQA: {path} not found. Put the authors' encrypted dataset.zip at <data-dir>/{LOCAL_ZIP}."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read(ZIP_MEMBER, pwd=ZIP_PASSWORD)
    except (KeyError, RuntimeError, zipfile.BadZipFile) as exc:
        raise DataError(f"GPQA: cannot read {ZIP_MEMBER} from {path}: {exc}") from exc
    rows = list(csv.DictReader(io.StringIO(decode_utf8(raw, f"{path}: {ZIP_MEMBER}"))))
    revision = "authors-zip" if hashlib.sha256(raw).hexdigest() == DIAMOND_SHA256 else None
    return rows, DataRef(dataset=HUB_DATASET, revision=revision, source="local", path=str(path))


class GPQAOptions(TaskOptions):
    # Which simple-evals sampler's decoding to follow; unset, `for_entry` picks it from the entry.
    sampler: SamplerKind | None = None


class GPQADiamond(Task):
    name = "gpqa_diamond"
    version = "2"
    dataset = HUB_DATASET
    default_epochs = DEFAULT_EPOCHS
    # The authors ask that examples never be revealed in plain text online.
    publish_samples = False
    options_model = GPQAOptions

    @property
    def sampler(self) -> SamplerKind:
        assert isinstance(self.options, GPQAOptions)
        return self.options.sampler or "chat"

    def for_entry(self, entry: ModelEntry | None) -> Task:
        assert isinstance(self.options, GPQAOptions)
        if entry is None or self.options.sampler is not None:
            return self
        return GPQADiamond(GPQAOptions(sampler=sampler_kind(entry)))

    def generation_defaults(self) -> GenerationConfig:
        return GENERATION[self.sampler].model_copy(deep=True)

    def load(self, data_dir: Path | None) -> LoadedData:
        rows, ref = read_rows(data_dir)
        samples = []
        for number, row in enumerate(rows, start=1):
            missing = [f for f in (*FIELDS, "Record ID") if not row.get(f)]
            if missing:
                raise DataError(f"GPQA row {number}: missing {', '.join(missing)}.")
            samples.append(
                Sample(
                    id=str(row["Record ID"]),
                    category=row.get("High-level domain") or None,
                    data={
                        # The row's place in the file and the file's size fix its permutations.
                        "row": number - 1,
                        "rows": len(rows),
                        "question": row["Question"],
                        "correct": row["Correct Answer"],
                        "incorrect": [row[f"Incorrect Answer {i}"] for i in (1, 2, 3)],
                        "subdomain": row.get("Subdomain"),
                    },
                )
            )
        notes = []
        if len(samples) != DIAMOND_SIZE:
            notes.append(f"GPQA-Diamond has {DIAMOND_SIZE} questions; this copy has {len(samples)}.")
        return LoadedData(samples=samples, ref=ref, notes=notes)

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        choices, target = shuffled_choices(sample, epoch, seed)
        content = QUERY_TEMPLATE.format(
            Question=sample.data["question"], A=choices[0], B=choices[1], C=choices[2], D=choices[3]
        )
        return Prompt(messages=[Message(role="user", content=content)], target=target, choices=choices)

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        letter = extract_answer(completion.text)
        return Score(
            value=1.0 if letter == prompt.target else 0.0, extracted=letter, parsed=letter is not None
        )
