"""GPQA-Diamond: 198 graduate-level four-choice questions in biology, chemistry and physics.

Paper: Rein et al., "GPQA: A Graduate-Level Google-Proof Q&A Benchmark", COLM 2024 (arXiv:2311.12022).
Protocol: openai/simple-evals `gpqa_eval.py`, the zero-shot chain-of-thought setting most launch posts
quote:

- The four answers (correct, then the three incorrect) are shuffled per question, and the prompt asks
  for step-by-step thinking with a last line `Answer: $LETTER`.
- The answer is the first match of `(?i)Answer[ \\t]*:[ \\t]*\\$?([A-D])\\$?`; no match scores 0.
- Several repeats (simple-evals: 4) with fresh shuffles; the score is the mean over all of them.

Deliberate differences:
- simple-evals draws every permutation from one `random.Random(0)` in example order, so a question's
  shuffle depends on its position. Here each shuffle is seeded by (seed, Record ID, epoch), so results
  do not depend on order, `--limit` or concurrency; the shuffles are therefore not simple-evals' exact
  ones (the expected score is the same).
- Decoding follows the model entry (greedy for the embedded model); simple-evals' sampler defaults to
  temperature 0.5. `--epochs` sets the repeats (default 4, as in simple-evals).
- As upstream, the pattern is case-insensitive but the letter is compared as written, so "answer: b"
  is parsed and scored wrong.
- The CI resamples questions (all repeats of a question together), not single generations.

Data: the authors' encrypted `dataset.zip` is read in memory only (the plain CSV is never written, as
the authors ask), or the gated hub dataset `Idavidrein/gpqa`, which needs an access token.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import zipfile
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.files import decode_utf8
from harness.hub import hub_error, hub_token, load_hub_split
from harness.task import LoadedData, ScoringContext, Task, derive_seed
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

FIELDS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def extract_answer(text: str) -> str | None:
    match = ANSWER_PATTERN.search(text)
    return match.group(1) if match else None


def shuffled_choices(sample: Sample, epoch: int, seed: int) -> tuple[list[str], str]:
    """The four answers in this (sample, epoch)'s order, and the letter of the correct one."""
    answers = [sample.data["correct"], *sample.data["incorrect"]]
    order = random.Random(derive_seed(seed, sample.id, epoch)).sample(range(4), 4)
    choices = [answers[i] for i in order]
    return choices, LETTERS[order.index(0)]


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


class GPQADiamond(Task):
    name = "gpqa_diamond"
    version = "1"
    dataset = HUB_DATASET
    default_epochs = 4
    # The authors ask that examples never be revealed in plain text online.
    publish_samples = False

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig(temperature=0.0, max_tokens=2048)

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
