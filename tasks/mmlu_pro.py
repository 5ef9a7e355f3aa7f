"""MMLU-Pro: 12,032 ten-option multiple-choice questions in 14 categories.

Paper: Wang et al., "MMLU-Pro: A More Robust and Challenging Multi-Task Language Understanding
Benchmark", NeurIPS 2024 (arXiv:2406.01574). Protocol: TIGER-AI-Lab/MMLU-Pro, `evaluate_from_local.py`
with `cot_prompt_lib/initial_prompt.txt`:

- 5-shot chain of thought. The exemplars are the first five validation questions of the test
  question's category, each followed by its `cot_content` (its leading "A: Let's think step by step."
  becomes "Answer: Let's think step by step."); the test question ends with "Answer: Let's think step
  by step." Options are lettered A-J; options equal to "N/A" are dropped first, so some questions have
  fewer than ten.
- Greedy decoding, at most 2048 new tokens, stop at "Question:".
- Answer extraction in three steps: `answer is \\(?([A-J])\\)?`, then `.*[aA]nswer:\\s*([A-J])`, then the
  last standalone letter A-J anywhere in the answer.
- Accuracy overall and per category, micro-averaged over questions.

Deliberate differences:
- Unparsed answers count as wrong. Upstream replaces them with a "random" guess (it re-seeds with 12345
  before every guess, so each unparsed answer gets the same arbitrary index). We report that separately:
  `unparsed_rate`, and `accuracy_chance_fallback`, the expected accuracy had every unparsed answer been
  a uniform guess among its options.
- The prompt is sent as one user message through the model's chat template (upstream's local script
  sends raw text to base models; its API script sends one user message, as we do).
- Upstream drops exemplars when a prompt exceeds 2048 tokens; we always send five (long prompts that
  exceed a model's context are recorded as errors, not silently shortened).
- Scored against the answer letter of the dataset revision used; published outputs from 2024 were
  scored against an earlier revision in which a few dozen answers differ.
- `mmlu_pro_0shot` is the same prompt without exemplars, for chat and reasoning models.

Compared with lm-eval's bundled `mmlu_pro` (lm-eval 0.4.13, `lm_eval/tasks/mmlu_pro`, as run by
`harness run -t lm_eval:mmlu_pro -T id_field=question_id`; tests/test_lm_eval_mmlu_pro.py runs both on
the same served model and question and checks each point):
- Layout: lm-eval sends the category description as a system message and each exemplar as a user turn
  (question, options, "Answer: Let's think step by step.") answered by an assistant turn holding the
  exemplar's reasoning; we send one user message, as upstream's text prompt reads.
- Exemplars: the same five (the category's first five validation questions: lm-eval's `first_n`
  sampler), but lm-eval prints their "N/A" padding options up to J, which we (and upstream) drop. The
  test question is rendered identically.
- Extraction: lm-eval keeps only the first step, `answer is \\(?([ABCDEFGHIJ])\\)?` then `take_first`; an
  answer it does not match is "[invalid]" (wrong), where we try upstream's two fallbacks.
- Decoding: the same (greedy, stop at "Question:", at most 2048 new tokens); lm-eval's chat client
  also sends a fixed seed (1234).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, DataError
from harness.files import BoundedReader, parse_json
from harness.hub import hub_error, load_hub_split
from harness.reasoning import split_reasoning
from harness.stats import bootstrap_mean
from harness.task import ImportedCompletions, LoadedData, ScoringContext, Task, TaskOptions
from harness.types import (
    Completion,
    DataRef,
    GenerationConfig,
    ImportInfo,
    Message,
    Metric,
    Prompt,
    Sample,
    SampleRecord,
    Score,
)

HUB_DATASET = "TIGER-Lab/MMLU-Pro"
HUB_REVISION = "b189ec765aa7ed75c8acfea42df31fdae71f97be"
LOCAL_DIR = "mmlu-pro"
LOCAL_FILES = {"test": "test-00000-of-00001.parquet", "validation": "validation-00000-of-00001.parquet"}
LETTERS = "ABCDEFGHIJ"
NUM_SHOTS = 5

# cot_prompt_lib/initial_prompt.txt, byte for byte ("{$}" is the category); upstream appends "\n".
INITIAL_PROMPT = (
    "The following are multiple choice questions (with answers) about {$}. Think step by step and then "
    'finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n\n'
)
COT_TRIGGER = "Let's think step by step."

ANSWER_IS = re.compile(r"answer is \(?([A-J])\)?")
ANSWER_COLON = re.compile(r".*[aA]nswer:\s*([A-J])")
LAST_LETTER = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)

COMPLETION_FIELDS = ("model_outputs", "generated_text", "response")


def extract_answer(text: str) -> tuple[str | None, int | None]:
    """The official three-step extraction; returns (letter, step that matched)."""
    for step, pattern in enumerate((ANSWER_IS, ANSWER_COLON), start=1):
        match = pattern.search(text)
        if match:
            return match.group(1), step
    match = LAST_LETTER.search(text)
    if match:
        return match.group(0), 3
    return None, None


def format_question(question: str, options: Sequence[str]) -> str:
    lines = ["Question:", question, "Options:"]
    lines += [f"{LETTERS[i]}. {option}" for i, option in enumerate(options)]
    return "\n".join(lines) + "\n"


def format_exemplar(row: dict[str, Any]) -> str:
    cot = str(row["cot_content"]).replace("A: " + COT_TRIGGER, "Answer: " + COT_TRIGGER)
    return format_question(row["question"], row["options"]) + cot + "\n\n"


def header(category: str) -> str:
    return INITIAL_PROMPT.replace("{$}", category) + "\n"


def drop_na_options(options: Sequence[str]) -> list[str]:
    return [option for option in options if option != "N/A"]


def read_rows(data_dir: Path | None) -> tuple[dict[str, list[dict[str, Any]]], DataRef]:
    """Both splits as lists of row dicts, from a local directory or the hub."""
    if data_dir is None:
        try:
            splits = {split: load_hub_split(HUB_DATASET, HUB_REVISION, split=split) for split in LOCAL_FILES}
        except Exception as exc:
            raise hub_error(HUB_DATASET, HUB_REVISION, exc, local_layout=local_layout()) from exc
        return splits, DataRef(dataset=HUB_DATASET, revision=HUB_REVISION, source="hub")
    import pyarrow.parquet as pq

    folder = data_dir / LOCAL_DIR
    splits = {}
    for split, filename in LOCAL_FILES.items():
        path = folder / filename
        if not path.is_file():
            raise DataError(f"MMLU-Pro: {path} not found. Expected layout: {local_layout()}")
        splits[split] = pq.read_table(path).to_pylist()
    return splits, DataRef(dataset=HUB_DATASET, revision=None, source="local", path=str(folder))


def local_layout() -> str:
    return f"<data-dir>/{LOCAL_DIR}/{{{','.join(LOCAL_FILES.values())}}} (the hub dataset's parquet files)"


class MMLUPro(Task):
    dataset = HUB_DATASET

    version = "1"

    def __init__(self, options: TaskOptions | None = None, *, shots: int = NUM_SHOTS) -> None:
        super().__init__(options)
        self.shots = shots
        self.name = "mmlu_pro" if shots == NUM_SHOTS else f"mmlu_pro_{shots}shot"

    def params(self) -> dict[str, Any]:
        return {"shots": self.shots}

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig(temperature=0.0, max_tokens=2048, stop=["Question:"])

    def load(self, data_dir: Path | None) -> LoadedData:
        splits, ref = read_rows(data_dir)
        exemplars: dict[str, list[dict[str, Any]]] = {}
        for row in splits["validation"]:
            row = dict(row, options=drop_na_options(row["options"]))
            exemplars.setdefault(row["category"], []).append(row)
        samples = []
        for row in splits["test"]:
            data = {
                "question": row["question"],
                "options": drop_na_options(row["options"]),
                "answer": str(row["answer"]),
                "src": row["src"],
            }
            if LETTERS[int(row["answer_index"])] != data["answer"]:
                data["note"] = (
                    f"question {row['question_id']}: answer {data['answer']!r} disagrees with answer_index "
                    f"{row['answer_index']}; scored against the answer letter, as upstream does."
                )
            samples.append(Sample(id=str(row["question_id"]), category=str(row["category"]), data=data))
        prefixes: dict[str, str] = {}
        if self.shots:
            for category in sorted({str(s.category) for s in samples}):
                shots = exemplars.get(category, [])[: self.shots]
                if len(shots) < self.shots:
                    raise DataError(
                        f"MMLU-Pro: the validation split has {len(shots)} exemplars for {category!r}, "
                        f"{self.shots} are needed."
                    )
                prefixes[category] = header(category) + "".join(map(format_exemplar, shots))
        return LoadedData(samples=samples, ref=ref, prefixes=prefixes)

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        data = sample.data
        question = format_question(data["question"], data["options"]) + "Answer: " + COT_TRIGGER
        category = str(sample.category)
        return Prompt(
            messages=[Message(role="user", content=question if self.shots else header(category) + question)],
            prefix_key=category if self.shots else None,
            target=data["answer"],
            choices=list(data["options"]),
            metadata={"note": data["note"]} if "note" in data else {},
        )

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        letter, step = extract_answer(completion.text)
        return Score(
            value=1.0 if letter == prompt.target else 0.0,
            extracted=letter,
            parsed=letter is not None,
            details={"extraction_step": step},
        )

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        metrics = super().summarize(scored)
        if not metrics:
            return metrics
        fallback = [
            (1.0 / len(r.prompt.choices))
            if r.score is not None and not r.score.parsed
            else float(r.score.value)
            for r in scored
            if r.score is not None
        ]
        metrics["accuracy_chance_fallback"] = bootstrap_mean(fallback)
        return metrics

    def import_completions(self, path: Path, loaded: LoadedData) -> ImportedCompletions:
        """Published MMLU-Pro outputs: a zipped JSON list, a `*_result.json` file, or a folder of them."""
        samples = {sample.id: sample for sample in loaded.samples}
        read = malformed = unknown = duplicate = 0
        key_differs = 0
        completions: dict[str, Completion] = {}
        for entry in _published_entries(path):
            read += 1
            text = next(
                (entry.get(f) for f in COMPLETION_FIELDS if isinstance(entry, dict) and f in entry), None
            )
            if not isinstance(entry, dict) or "question_id" not in entry or not isinstance(text, str):
                malformed += 1
                continue
            sample_id = str(entry["question_id"])
            if sample_id not in samples:
                unknown += 1
                continue
            if sample_id in completions:
                duplicate += 1
                continue
            if entry.get("answer") is not None and entry["answer"] != samples[sample_id].data["answer"]:
                key_differs += 1
            reasoning, answer = split_reasoning(text)
            completions[sample_id] = Completion(text=answer, reasoning=reasoning, model=path.stem)
        if not completions:
            raise DataError(
                f"{path}: no usable MMLU-Pro outputs ({read} entries read, {malformed} malformed, "
                f"{unknown} with unknown question ids)."
            )
        info = ImportInfo(
            source_file=str(path),
            source_sha256="",
            records_read=read,
            records_imported=len(completions),
            skipped_malformed=malformed,
            skipped_unknown_id=unknown,
            skipped_duplicate=duplicate,
        )
        result = ImportedCompletions(completions=completions, info=info, model=_model_name(path))
        if key_differs:
            result.notes.append(
                f"{key_differs} imported entries carry an answer key that differs from this dataset "
                "revision's; they are scored against the dataset's."
            )
        return result


def _model_name(path: Path) -> str:
    name = path.stem if path.is_file() else path.name
    return name.removeprefix("model_outputs_").removesuffix("_5shots")


def _published_entries(path: Path) -> Iterator[Any]:
    """Every entry of the published outputs at `path`, reading no more than an import may
    (`harness.files`: sizes, file counts and compression ratios are checked before reading)."""
    reader = BoundedReader()
    if path.is_dir():
        files = sorted(path.glob("*_result.json"))
        if not files:
            raise DataError(f"{path}: no *_result.json files in this folder.")
        reader.count(path, len(files))
        for file in files:
            yield from _json_list(reader.read_file(file), file)
    elif path.suffix == ".zip":
        found = False
        for member, raw in reader.zip_members(path, ".json"):
            found = True
            yield from _json_list(raw, path / member)
        if not found:
            raise DataError(f"{path}: the archive holds no .json file.")
    elif path.is_file():
        yield from _json_list(reader.read_file(path), path)
    else:
        raise ConfigError(f"{path}: no such file or folder.")


def _json_list(raw: bytes, where: Path) -> list[Any]:
    data = parse_json(raw, where)
    if not isinstance(data, list):
        raise DataError(f"{where}: expected a JSON list of outputs, found {type(data).__name__}.")
    return data
