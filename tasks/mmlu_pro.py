"""MMLU-Pro: 12,032 ten-option multiple-choice questions in 14 categories.

Paper: Wang et al., "MMLU-Pro: A More Robust and Challenging Multi-Task Language Understanding
Benchmark", NeurIPS 2024 (arXiv:2406.01574). Upstream: TIGER-AI-Lab/MMLU-Pro at commit
f418b116db00b065c2aea046518d8fcf74d39872, which has two protocols; the task option `protocol` picks
one, and unset it follows the entry (`for_entry`): `local` for self-hosted models, `api` for hosted APIs.

Common to both: 5-shot chain of thought whose exemplars are the category's validation questions
(five per category) with their `cot_content`; options equal to "N/A" are dropped first, so some
questions have fewer than ten; options lettered A-J; greedy decoding (temperature 0); extraction in
three steps: `answer is \\(?([A-J])\\)?`, then `.*[aA]nswer:\\s*([A-J])`, then the last standalone
letter A-J anywhere in the answer; accuracy overall and per category, micro-averaged over questions.

`local` (`evaluate_from_local.py`, behind the published open-weight numbers): the text of
`cot_prompt_lib/initial_prompt.txt` plus "\\n", exemplars laid out "Question:\\n...\\nOptions:\\nA. ..."
with "A: Let's think step by step." turned into "Answer: Let's think step by step.", the test question
ending "Answer: Let's think step by step."; sent as raw text (no chat template) to vLLM's `LLM.generate`,
at most 2048 new tokens, stop at "Question:". Exemplars are dropped one at a time, from the last, while
the whole prompt counts 2048 tokens or more (max_model_len 4096 less 2048) with the model's Hugging Face
tokenizer (`tokenizer(prompt)`, special tokens included). We send raw text where the backend takes it
(llama.cpp and vLLM in-process, an OpenAI-compatible server's `/completions`) and count with the
entry's own tokenizer: llama.cpp's for a GGUF model, the model's Hugging Face tokenizer for vLLM.

`api` (`evaluate_from_api.py`, behind the published GPT-4o, Claude, Gemini and DeepSeek numbers): its
own header ("... Think step by step and then output the answer in the format of "The answer is (X)" at
the end.\\n\\n") and layout ("Question: ...\\nOptions: A. ...\\n...Answer: <reasoning>\\n\\n", the test
question's answer being "Let's think step by step.\\n\\n"), header, exemplars and question sent as one
user message; temperature 0, top_p 1, at most 4000 new tokens, no stop sequence. Every "**" is removed
from the response before extraction (upstream also stores the response so).

Deliberate differences:
- Unparsed answers count as wrong (the headline). Upstream replaces them with a pseudo-random guess:
  each script seeds Python's `random` once with 12345 at import and draws `random.randint` over the
  question's options (local and API scripts; `compute_accuracy.py` draws among all ten letters), so
  the guesses depend on the order questions are scored in. We report `unparsed_rate` and
  `accuracy_chance_fallback`, the expected accuracy had every unparsed answer been a uniform guess
  among its options (upstream's expectation, without its draw).
- `local`: a hosted chat-only API (or an entry with `self_hosted: false`) run under `local` gets the
  same text as one user message through its chat template, with all five exemplars (its tokenizer is
  not at hand); an unmanaged self-hosted server (no GGUF or vLLM model we can load a tokenizer for)
  gets raw text with all five exemplars. A prompt that still counts 2048 tokens without exemplars is
  sent without exemplars (upstream's loop then slices with negative counts and never ends). An
  entry's `system_prompt` is not part of a raw-text prompt. The context window is the entry's own,
  not 4096 tokens.
- `api`: upstream takes every validation question of the category as an exemplar; we take the first
  five, which is all of them in this dataset. Failed calls are errors of their own samples (upstream
  skips them and leaves them out of its counts).
- Scored against the answer letter of the dataset revision used; published outputs from 2024 were
  scored against an earlier revision in which a few dozen answers differ.
- `mmlu_pro_0shot` is the same prompt without exemplars, for chat and reasoning models.
- Imported published outputs are scored as `compute_accuracy.py` extracts them (no "**" removal; the
  API script's outputs were stored with it already removed); their run has no `protocol`.

Compared with lm-eval's bundled `mmlu_pro` (lm-eval 0.4.13, `lm_eval/tasks/mmlu_pro`, as run by
`harness run -t lm_eval:mmlu_pro -T id_field=question_id`; tests/test_lm_eval_mmlu_pro.py runs both on
the same served model and question and checks each point):
- Layout: lm-eval sends the category description as a system message and each exemplar as a user turn
  (question, options, "Answer: Let's think step by step.") answered by an assistant turn holding the
  exemplar's reasoning; we send upstream's text as one user message (or raw text).
- Exemplars: the same five (the category's first five validation questions: lm-eval's `first_n`
  sampler), but lm-eval prints their "N/A" padding options up to J, which we (and upstream) drop. The
  test question is rendered as the local protocol renders it.
- Extraction: lm-eval keeps only the first step, `answer is \\(?([ABCDEFGHIJ])\\)?` then `take_first`; an
  answer it does not match is "[invalid]" (wrong), where we try upstream's two fallbacks.
- Decoding: as the local protocol (greedy, stop at "Question:", at most 2048 new tokens); lm-eval's
  chat client also sends a fixed seed (1234).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from harness.backends.tokens import TokenCounter, prompt_token_counter
from harness.config import ModelEntry
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

UPSTREAM_COMMIT = "f418b116db00b065c2aea046518d8fcf74d39872"
HUB_DATASET = "TIGER-Lab/MMLU-Pro"
HUB_REVISION = "b189ec765aa7ed75c8acfea42df31fdae71f97be"
LOCAL_DIR = "mmlu-pro"
LOCAL_FILES = {"test": "test-00000-of-00001.parquet", "validation": "validation-00000-of-00001.parquet"}
LETTERS = "ABCDEFGHIJ"
NUM_SHOTS = 5

Protocol = Literal["local", "api"]

# cot_prompt_lib/initial_prompt.txt, byte for byte ("{$}" is the category); upstream appends "\n".
INITIAL_PROMPT = (
    "The following are multiple choice questions (with answers) about {$}. Think step by step and then "
    'finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n\n'
)
# evaluate_from_api.py's `single_request` header ("{}" is the category).
API_HEADER = (
    "The following are multiple choice questions (with answers) about {}. Think step by step and then "
    'output the answer in the format of "The answer is (X)" at the end.\n\n'
)
COT_TRIGGER = "Let's think step by step."

# evaluate_from_local.py: vLLM's max_model_len 4096 less max_new_tokens 2048; a prompt is kept once
# its token count is below this.
LOCAL_PROMPT_TOKENS = 4096 - 2048
LOCAL_MAX_TOKENS = 2048
API_MAX_TOKENS = 4000

ANSWER_IS = re.compile(r"answer is \(?([A-J])\)?")
# Upstream's second and third patterns. Searched as written they take time quadratic in a line's
# (second) or the text's (third) length: 45 s for one published output set with long unparsed answers.
# `extract_answer` finds the same matches in linear time (tests compare both on every published answer).
ANSWER_COLON = re.compile(r".*[aA]nswer:\s*([A-J])")
LAST_LETTER = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)
_COLON_ANSWER = re.compile(r"[aA]nswer:\s*[A-J]")
_LETTER = re.compile(r"\b[A-J]\b")

COMPLETION_FIELDS = ("model_outputs", "generated_text", "response")

# Backends that can continue plain text without a chat template (llama.cpp and vLLM in-process, an
# OpenAI-compatible server's /completions, the scripted mock).
RAW_TEXT_BACKENDS = frozenset({"llamacpp", "vllm", "openai_compat", "mock"})


def extract_answer(text: str) -> tuple[str | None, int | None]:
    """The official three-step extraction; returns (letter, step that matched)."""
    match = ANSWER_IS.search(text)
    if match:
        return match.group(1), 1
    # ANSWER_COLON's `.*` cannot cross a newline, so its search succeeds first at the start of the line
    # holding the first "answer: X", and matches there the line's last one.
    first = _COLON_ANSWER.search(text)
    if first:
        colon = ANSWER_COLON.match(text, text.rfind("\n", 0, first.start()) + 1)
        assert colon is not None  # the line holds an "answer: X"
        return colon.group(1), 2
    # LAST_LETTER matches the letter no other standalone letter follows: the last one.
    last = None
    for last in _LETTER.finditer(text):  # noqa: B007 - the loop keeps the last match
        pass
    if last:
        return last.group(0), 3
    return None, None


def format_question(question: str, options: Sequence[str]) -> str:
    """A question as the local script lays it out (`format_cot_example`)."""
    lines = ["Question:", question, "Options:"]
    lines += [f"{LETTERS[i]}. {option}" for i, option in enumerate(options)]
    return "\n".join(lines) + "\n"


def format_exemplar(row: dict[str, Any]) -> str:
    cot = str(row["cot_content"]).replace("A: " + COT_TRIGGER, "Answer: " + COT_TRIGGER)
    return format_question(row["question"], row["options"]) + cot + "\n\n"


def header(category: str) -> str:
    return INITIAL_PROMPT.replace("{$}", category) + "\n"


def format_api_example(question: str, options: Sequence[str], cot_content: str = "") -> str:
    """A question as the API script lays it out (`format_example`): options on the "Options:" line,
    and every question, the test question too, closed by its answer and a blank line."""
    cot = cot_content or COT_TRIGGER
    cot = cot.removeprefix("A: ")
    listed = "".join(f"{LETTERS[i]}. {option}\n" for i, option in enumerate(options))
    return f"Question: {question}\nOptions: {listed}Answer: {cot}\n\n"


def api_header(category: str) -> str:
    return API_HEADER.format(category)


def prefix_key(category: str, shots: int, of: int) -> str:
    """The shared prefix of a category's prompts with `shots` of its `of` exemplars."""
    return category if shots == of else f"{category}/{shots}shot"


def drop_na_options(options: Sequence[str]) -> list[str]:
    return [option for option in options if option != "N/A"]


class MMLUProOptions(TaskOptions):
    """`protocol`: which upstream script the run follows (`local`: evaluate_from_local.py, `api`:
    evaluate_from_api.py). Unset, it is chosen per entry: `local` for self-hosted models, `api` for
    hosted APIs (`Task.for_entry`)."""

    protocol: Protocol | None = None


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
    options_model = MMLUProOptions

    version = "2"

    def __init__(self, options: TaskOptions | None = None, *, shots: int = NUM_SHOTS) -> None:
        super().__init__(options)
        self.shots = shots
        self.name = "mmlu_pro" if shots == NUM_SHOTS else f"mmlu_pro_{shots}shot"
        # Set by `for_entry` for the local protocol: whether the entry takes plain text, and its
        # tokenizer (None: prompts are not measured, all exemplars are kept).
        self.raw_text = False
        self.count_tokens: TokenCounter | None = None
        # The local prompt's prefix with 0..shots exemplars, per category (filled by `load`).
        self.local_prefixes: dict[str, list[str]] = {}

    @property
    def protocol(self) -> Protocol | None:
        assert isinstance(self.options, MMLUProOptions)
        return self.options.protocol

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"shots": self.shots}
        if self.protocol is not None:
            params["protocol"] = self.protocol
        return params

    def for_entry(self, entry: ModelEntry | None) -> MMLUPro:
        """Upstream evaluates self-hosted models with its local script and hosted APIs with its API
        script; the entry's kind picks that protocol unless the user chose one. Under `local`, an
        entry whose backend can take plain text gets it, and its own tokenizer measures the prompt."""
        if entry is None:
            return self
        protocol = self.protocol or ("local" if entry.is_self_hosted else "api")
        clone = copy.copy(self)
        clone.local_prefixes = {}
        clone.options = MMLUProOptions(protocol=protocol)
        if protocol == "local" and entry.is_self_hosted and entry.backend in RAW_TEXT_BACKENDS:
            clone.raw_text = True
            clone.count_tokens = prompt_token_counter(entry) if self.shots else None
        return clone

    def generation_defaults(self) -> GenerationConfig:
        if self.protocol == "api":
            return GenerationConfig(temperature=0.0, top_p=1.0, max_tokens=API_MAX_TOKENS, stop=[])
        return GenerationConfig(temperature=0.0, max_tokens=LOCAL_MAX_TOKENS, stop=["Question:"])

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
                if self.protocol == "api":
                    prefixes[category] = api_header(category) + "".join(
                        format_api_example(r["question"], r["options"], str(r["cot_content"])) for r in shots
                    )
                    continue
                texts = [
                    header(category) + "".join(map(format_exemplar, shots[:k])) for k in range(self.shots + 1)
                ]
                self.local_prefixes[category] = texts
                for k, text in enumerate(texts):
                    prefixes[prefix_key(category, k, self.shots)] = text
        return LoadedData(samples=samples, ref=ref, prefixes=prefixes)

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        data = sample.data
        category = str(sample.category)
        metadata: dict[str, Any] = {"note": data["note"]} if "note" in data else {}
        if self.protocol == "api":
            question = format_api_example(data["question"], data["options"])
            content = question if self.shots else api_header(category) + question
            key = category if self.shots else None
        else:
            question = format_question(data["question"], data["options"]) + "Answer: " + COT_TRIGGER
            content = question if self.shots else header(category) + question
            shots = self.local_shots(category, question) if self.shots else 0
            key = prefix_key(category, shots, self.shots) if self.shots else None
            if shots < self.shots:
                metadata["shots"] = shots
        return Prompt(
            messages=[Message(role="user", content=content)],
            prefix_key=key,
            target=data["answer"],
            choices=list(data["options"]),
            metadata=metadata,
            raw_text=self.raw_text,
        )

    def local_shots(self, category: str, question: str) -> int:
        """How many exemplars the local script keeps: starting from all, one fewer while the whole
        prompt counts `LOCAL_PROMPT_TOKENS` tokens or more with the model's tokenizer. Where even the
        prompt without exemplars is that long, upstream's loop goes on with negative slices and never
        ends; we send it without exemplars."""
        if self.count_tokens is None:
            return self.shots
        prefixes = self.local_prefixes.get(category)
        if prefixes is None:
            raise DataError(
                f"MMLU-Pro: build_prompt before load for {category!r} (the local protocol measures prompts)."
            )
        for k in range(self.shots, -1, -1):
            if self.count_tokens(prefixes[k] + question) < LOCAL_PROMPT_TOKENS:
                return k
        return 0

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        # The API script removes Markdown bold from every response before extracting (and storing) it.
        text = completion.text.replace("**", "") if self.protocol == "api" else completion.text
        letter, step = extract_answer(text)
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
