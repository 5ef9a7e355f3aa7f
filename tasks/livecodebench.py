"""LiveCodeBench code generation: contest problems (LeetCode, AtCoder, Codeforces) graded by execution.

Paper: Jain et al., "LiveCodeBench: Holistic and Contamination Free Evaluation of Large Language Models
for Code", 2024 (arXiv:2403.07974). Protocol: LiveCodeBench/LiveCodeBench `lcb_runner` on the hub
dataset `livecodebench/code_generation_lite`:

- Releases: `release_vN` is the problems of `test.jsonl` ... `testN.jsonl` (v1: 400 problems, May 2023 -
  Mar 2024; v6: 1055, to Apr 2025); `vN` is one increment, `vA_vB` increments A to B.
- Prompt: upstream's per-model prompt styles (`LMStyle`, `lcb_runner/lm_styles.py`; built as
  `format_prompt_generation` in `lcb_runner/prompts/code_generation.py` builds them, commit
  28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24), in `tasks/livecodebench_prompts.py`. The style is the option
  `prompt_style` if set, else the entry's `prompt_style`, else upstream's style for the entry's model name
  (OpenAIChat, its generic chat prompt, for a name it does not list); `for_entry` puts it in the options,
  so it is part of the run's identity. The styles upstream writes as raw text with the model's chat
  markup are sent as raw text to an entry we serve (refused for any other entry); the few we cannot
  send at all are refused (ConfigError).
- Sampling: n = 10 per problem (`--epochs`), temperature 0.2, top_p 0.95, at most 2000 new tokens
  (`runner/parser.py` defaults). Stop "###" when we serve the model (option `self_hosted`, from the
  entry): upstream passes its `--stop` default "###" only in `VLLMRunner`, which serves every style its
  API runners do not take; API models get no stop, as there.
- The program is the text between the last two lines containing a ``` fence; none scores 0.
- Grading (see `tasks/livecodebench_grading.py`, following upstream commit 28fef95 of July 2025): public
  then private tests, stop at the first failure, 6 s per test, stdout compared line by line then as
  decimals, functional answers by `==`; `exit()` ends a stdin test normally, stdin offers `.buffer`, and
  numpy is importable, as in upstream's grader.
- pass@1 is the mean over problems of each problem's fraction of passing samples; pass@k the mean of
  the unbiased estimator, reported for k in (5, 10) when every problem has at least k samples.
- Windows: `--start-date` / `--end-date` keep problems with start <= contest_date <= end, where both
  are midnight of the given day (as upstream `compute_scores.py`: a problem dated later on the end day
  is outside the window); `--platform` and `--difficulty` filter like its `--platform`.
- Contamination-free (`--contamination-free`): per model entry, only problems whose contest date is
  after the entry's `knowledge_cutoff` in models.yaml (what the leaderboard's time slider is for).

Deliberate differences:
- Each program runs in a sandbox (harness/sandbox.py), in a fresh process forked from a warm
  interpreter, instead of in a forked copy of the grader; the official in-process semantics (wrapped
  function, patched stdin and open, the same disabled functions) are reproduced inside it, so results
  agree (tests/lcb_parity.py holds upstream's own results for common idioms), and the expected outputs
  never enter the sandbox.
- The per-test limit is also enforced from outside: a program that swallows SIGALRM is ended after the
  limit plus one second.
- Per-difficulty results are the run's categories; every test's outcome is kept in the record.
- Prompting per style, where we cannot do what upstream does: LLaMa3 goes through the served model's
  own chat template, where upstream renders Meta-Llama-3-8B-Instruct's template for every LLaMa3-style
  model (Llama 3.1 and later templates add a "Cutting Knowledge Date" header) and gives the text to
  `LLM.generate`, which on vLLM versions that add special tokens to text prompts doubles the
  `<|begin_of_text|>` (LiveCodeBench PR #146, open); we send one. Upstream's runner-specific decoding
  for reasoning styles (OpenAIReason: a reasoning effort from the model name and no temperature or token
  cap; OpenAIReasonPreview: 25,000 completion tokens; Claude3Thinking: 32,000 tokens with a 24,000-token
  thinking budget; GeminiThinking: the API's defaults) is not applied: set it in the entry's `generation`.
- Time limits are wall-clock, as upstream: on a loaded machine use fewer `--workers` or a longer
  `--test-timeout` (upstream's README gives the same advice).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from harness.config import ModelEntry
from harness.errors import ConfigError, DataError
from harness.files import BoundedReader, iter_text_lines, parse_json
from harness.grading import Grader
from harness.hub import hub_error, hub_token
from harness.sandbox import Limits, Sandbox
from harness.stats import bootstrap_mean, pass_at_k_metric, proportion
from harness.task import ImportedCompletions, LoadedData, Need, ScoringContext, Task, TaskOptions
from harness.types import (
    Completion,
    DataRef,
    GenerationConfig,
    ImportInfo,
    Metric,
    Prompt,
    Sample,
    SampleRecord,
    Score,
    check_date_window,
)
from tasks.livecodebench_grading import (
    DEFAULT_TIMEOUT_S,
    GradeJob,
    LiveCodeBenchGrader,
    ProblemTests,
    answer_code,
    decode_tests,
    grade_program,
    no_code_score,
)
from tasks.livecodebench_prompts import (
    DEFAULT_STYLE,
    LOCAL_STOP,
    RAW_TEXT_STYLES,
    STYLES,
    check_sendable,
    check_style,
    prompt_messages,
    style_for_model,
)

HUB_DATASET = "livecodebench/code_generation_lite"
# The hub repository at the commit that added test6.jsonl (release_v6).
HUB_REVISION = "0fe84c3912ea0c4d4a78037083943e8f0c4dd505"
LOCAL_DIR = "livecodebench"
DEFAULT_RELEASE = "release_v6"
RELEASE_PATTERN = re.compile(r"^(release_v([1-6])|v([1-6])|v([1-6])_v([1-6]))$")
PASS_AT_K = (5, 10)

Platform = Literal["leetcode", "codeforces", "atcoder"]
Difficulty = Literal["easy", "medium", "hard"]
REQUIRED_FIELDS = (
    "question_id",
    "question_content",
    "platform",
    "contest_date",
    "difficulty",
    "public_test_cases",
    "private_test_cases",
)
FAILURE_VERDICTS = ("wrong_answer", "time_limit", "runtime_error", "compile_error")


def release_files(release: str) -> list[str]:
    """The hub files of a release tag (upstream's `version_tag`)."""
    match = RELEASE_PATTERN.match(release)
    if match is None:
        raise ConfigError(
            f"release {release!r}: use release_v1 ... release_v6 (cumulative), v1 ... v6 (one "
            "increment) or vA_vB (increments A to B)."
        )
    if match.group(2):
        first, last = 1, int(match.group(2))
    elif match.group(3):
        first = last = int(match.group(3))
    else:
        first, last = int(match.group(4)), int(match.group(5))
        if first > last:
            raise ConfigError(f"release {release!r}: the first increment must not be after the last.")
    return ["test.jsonl" if n == 1 else f"test{n}.jsonl" for n in range(first, last + 1)]


class LiveCodeBenchOptions(TaskOptions):
    runtime_fields: ClassVar[frozenset[str]] = frozenset({"test_timeout"})

    release: str = DEFAULT_RELEASE
    start_date: date | None = None
    end_date: date | None = None
    platform: tuple[Platform, ...] | None = None
    difficulty: tuple[Difficulty, ...] | None = None
    contamination_free: bool = False
    test_timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=600)
    # Upstream's prompt style (tasks/livecodebench_prompts.py); unset: chosen from the entry.
    prompt_style: str | None = None
    # Whether the model is served by us (upstream's VLLMRunner, which stops at "###"); unset: the entry's.
    self_hosted: bool | None = None

    @field_validator("prompt_style")
    @classmethod
    def _known_style(cls, value: str | None) -> str | None:
        if value is not None and value not in STYLES:
            raise ValueError(f"unknown prompt style {value!r}; upstream's styles are {', '.join(STYLES)}")
        return value

    @model_validator(mode="after")
    def _window(self) -> LiveCodeBenchOptions:
        check_date_window(self.start_date, self.end_date, what="start_date/end_date")
        return self

    @field_validator("release")
    @classmethod
    def _known_release(cls, value: str) -> str:
        try:
            release_files(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("platform", "difficulty", mode="before")
    @classmethod
    def _sorted_unique(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            return tuple(sorted(set(value))) or None
        return value


def parse_contest_date(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError as exc:
        raise DataError(f"{where}: contest_date {value!r} is not an ISO date.") from exc


def _metadata(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value in (None, ""):
        return {}
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise DataError(f"{where}: metadata is not a JSON object.") from exc
    if not isinstance(parsed, dict):
        raise DataError(f"{where}: metadata is not a JSON object.")
    return parsed


def parse_row(row: dict[str, Any], where: str) -> tuple[Sample, ProblemTests]:
    """One dataset row (hub format) as a sample and its still-encoded tests; the tests are decoded
    once here to validate them."""
    missing = [
        name for name in REQUIRED_FIELDS if row.get(name) in (None, "") and name != "private_test_cases"
    ]
    if missing or "private_test_cases" not in row:
        raise DataError(f"{where}: missing {', '.join(missing or ['private_test_cases'])}.")
    question_id = str(row["question_id"])
    where = f"{where} ({question_id})"
    difficulty = str(row["difficulty"])
    if difficulty not in ("easy", "medium", "hard"):
        raise DataError(f"{where}: difficulty {difficulty!r} is not easy, medium or hard.")
    contest_date = parse_contest_date(row["contest_date"], where)
    metadata = _metadata(row.get("metadata"), where)
    public = str(row["public_test_cases"] or "")
    private = str(row["private_test_cases"] or "")
    tests = decode_tests(public, where=f"{where} public_test_cases") + decode_tests(
        private, where=f"{where} private_test_cases"
    )
    if not tests:
        raise DataError(f"{where}: the problem has no test cases.")
    kinds = {test.testtype for test in tests}
    if len(kinds) != 1:
        raise DataError(f"{where}: mixes stdin and functional test cases.")
    testtype = next(iter(kinds))
    func_name = metadata.get("func_name")
    if testtype == "functional" and not func_name:
        raise DataError(f"{where}: functional tests need metadata.func_name.")
    digest = hashlib.sha256(public.encode() + b"\0" + private.encode()).hexdigest()[:16]
    sample = Sample(
        id=question_id,
        category=difficulty,
        data={
            "question_title": str(row.get("question_title") or ""),
            "question_content": str(row["question_content"]),
            "platform": str(row["platform"]),
            "contest_id": str(row.get("contest_id") or ""),
            "contest_date": contest_date.isoformat(),
            "starter_code": str(row.get("starter_code") or ""),
            "difficulty": difficulty,
            "testtype": testtype,
            "func_name": func_name,
            "tests": len(tests),
            "tests_sha256": digest,
        },
    )
    return sample, ProblemTests(public, private, testtype, func_name if testtype == "functional" else None)


def _read_local(data_dir: Path, release: str) -> tuple[list[tuple[dict[str, Any], str]], DataRef, list[str]]:
    folder = data_dir / LOCAL_DIR
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise DataError(
            f"LiveCodeBench: no *.jsonl files in {folder}. Put the hub files (test.jsonl, test2.jsonl, "
            f"...) or problems in the same row format at <data-dir>/{LOCAL_DIR}/*.jsonl."
        )
    notes: list[str] = []
    wanted = release_files(release)
    hub_named = [f for f in files if f.name in {f"test{n}.jsonl" for n in range(2, 7)} | {"test.jsonl"}]
    if hub_named:
        absent = [name for name in wanted if not (folder / name).is_file()]
        if absent:
            raise DataError(
                f"LiveCodeBench {release} needs {', '.join(wanted)} in {folder}; missing {', '.join(absent)}."
            )
        files = [folder / name for name in wanted]
    else:
        notes.append(
            f"LiveCodeBench: {folder} holds problem files of its own (not the hub's test*.jsonl), so "
            f"--release {release} selects nothing; all {len(files)} file(s) are used."
        )
    rows: list[tuple[dict[str, Any], str]] = []
    for file in files:
        for number, line in iter_text_lines(file):
            if not line.strip():
                continue
            row = parse_json(line, f"{file}:{number}")
            if not isinstance(row, dict):
                raise DataError(f"{file}:{number}: a row must be a JSON object.")
            rows.append((row, f"{file}:{number}"))
    revision = "hub-files" if hub_named else None
    return rows, DataRef(dataset=HUB_DATASET, revision=revision, source="local", path=str(folder)), notes


HUB_COLUMNS = (
    "question_title",
    "question_content",
    "platform",
    "question_id",
    "contest_id",
    "contest_date",
    "starter_code",
    "difficulty",
    "public_test_cases",
    "private_test_cases",
    "metadata",
)


def read_with_datasets(files: Sequence[str], cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """Rows of JSONL files (hub URLs or paths) through `datasets`' JSON builder, every column read as
    text so that no type is guessed (dates stay ISO strings, as in the hub files)."""
    import datasets

    features = datasets.Features({name: datasets.Value("large_string") for name in HUB_COLUMNS})
    loaded = datasets.load_dataset(
        "json",
        data_files={"test": list(files)},
        split="test",
        features=features,
        token=hub_token(),
        cache_dir=str(cache_dir) if cache_dir else None,
    )
    return [dict(row) for row in loaded]


def _read_hub(release: str) -> tuple[list[tuple[dict[str, Any], str]], DataRef]:
    # The repository's loading script is not run (recent `datasets` refuse scripts); its JSONL files
    # are read directly at the pinned commit.
    urls = [f"hf://datasets/{HUB_DATASET}@{HUB_REVISION}/{name}" for name in release_files(release)]
    try:
        rows = read_with_datasets(urls)
    except Exception as exc:
        raise hub_error(HUB_DATASET, HUB_REVISION, exc, local_layout=f"{LOCAL_DIR}/test*.jsonl") from exc
    where = [(row, f"{HUB_DATASET}@{HUB_REVISION[:8]} row {index}") for index, row in enumerate(rows)]
    return where, DataRef(dataset=HUB_DATASET, revision=HUB_REVISION, source="hub")


def record_date(record: SampleRecord) -> datetime | None:
    value = record.prompt.metadata.get("contest_date")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def in_window(when: datetime, start: date | datetime | None, end: date | datetime | None) -> bool:
    """start <= when <= end, with dates meaning midnight (upstream compute_scores and the leaderboard)."""
    if start is not None and when < _midnight(start):
        return False
    return end is None or when <= _midnight(end)


def _midnight(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def per_problem_pass_at_1(records: Sequence[SampleRecord]) -> dict[str, float]:
    """Each problem's pass@1: its fraction of passing samples (or the reported value)."""
    values: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if record.score is not None:
            values[record.sample_id].append(record.score.value)
    return {problem: sum(v) / len(v) for problem, v in values.items()}


def window_pass_at_1(
    records: Sequence[SampleRecord], start: date | datetime | None = None, end: date | datetime | None = None
) -> Metric:
    """pass@1 over the problems of a date window (the leaderboard's slider), with a CI over problems."""
    inside = [r for r in records if (when := record_date(r)) is not None and in_window(when, start, end)]
    per_problem = per_problem_pass_at_1(inside)
    if not per_problem:
        raise ValueError("no graded problems in this date window")
    return bootstrap_mean(list(per_problem.values()))


class LiveCodeBench(Task):
    name = "livecodebench"
    version = "2"
    dataset = HUB_DATASET
    headline = "pass_at_1"
    default_epochs = 10
    options_model = LiveCodeBenchOptions
    needs: ClassVar[frozenset[Need]] = frozenset({"data", "sandbox"})
    options: LiveCodeBenchOptions

    def generation_defaults(self) -> GenerationConfig:
        stop = list(LOCAL_STOP) if self.options.self_hosted else []
        return GenerationConfig(temperature=0.2, top_p=0.95, max_tokens=2000, stop=stop)

    def for_entry(self, entry: ModelEntry | None) -> LiveCodeBench:
        """The prompt style and the stop as upstream chooses them for this model: the style set with
        `-T prompt_style` (or a board's params), else the entry's `prompt_style`, else upstream's style
        for the entry's model name; "###" as stop when we serve the model ourselves."""
        if entry is None:
            return self
        options = self.options
        style = options.prompt_style
        if style is None:
            where = f"entry {entry.id!r} in the models file"
            if entry.prompt_style is not None:
                style = check_style(entry.prompt_style, where)
            else:
                style = style_for_model(entry.model)
                where = f"entry {entry.id!r} (model {entry.model!r}, upstream's style {style})"
        else:
            where = f"-T prompt_style={style} (entry {entry.id!r})"
        self_hosted = entry.is_self_hosted if options.self_hosted is None else options.self_hosted
        check_sendable(style, where, self_hosted=self_hosted)
        updated = {**options.model_dump(), "prompt_style": style, "self_hosted": self_hosted}
        return LiveCodeBench(LiveCodeBenchOptions.model_validate(updated))

    def load(self, data_dir: Path | None) -> LoadedData:
        options = self.options
        notes: list[str] = []
        if data_dir is None:
            rows, ref = _read_hub(options.release)
        else:
            rows, ref, notes = _read_local(data_dir, options.release)
        samples: list[Sample] = []
        problems: dict[str, ProblemTests] = {}
        for row, where in rows:
            if not _row_selected(row, options, where):
                continue
            sample, tests = parse_row(row, where)
            if sample.id in problems:
                raise DataError(f"{where}: question_id {sample.id!r} appears twice.")
            samples.append(sample)
            problems[sample.id] = tests
        if not samples:
            raise DataError(
                f"LiveCodeBench: no problems left after the filters ({self._describe_filters()}) among "
                f"{len(rows)} rows."
            )
        return LoadedData(samples=samples, ref=ref, notes=notes, resources=problems)

    def _describe_filters(self) -> str:
        o = self.options
        parts = [f"release {o.release}"]
        if o.start_date:
            parts.append(f"from {o.start_date}")
        if o.end_date:
            parts.append(f"to {o.end_date}")
        if o.platform:
            parts.append("platform " + "/".join(o.platform))
        if o.difficulty:
            parts.append("difficulty " + "/".join(o.difficulty))
        return ", ".join(parts)

    def samples_for_entry(
        self, samples: Sequence[Sample], entry: ModelEntry | None
    ) -> tuple[list[Sample], dict[str, Any]]:
        if not self.options.contamination_free:
            return list(samples), {}
        cutoff = entry.knowledge_cutoff if entry is not None else None
        if cutoff is None:
            name = entry.id if entry is not None else "this run"
            raise ConfigError(
                f"--contamination-free needs the entry's knowledge cutoff: add `knowledge_cutoff: "
                f"YYYY-MM-DD` to entry {name!r} in the models file, or drop --contamination-free."
            )
        kept = [s for s in samples if datetime.fromisoformat(s.data["contest_date"]).date() > cutoff]
        if not kept:
            raise ConfigError(
                f"--contamination-free: no problem among the {len(samples)} selected is dated after "
                f"{entry.id if entry else ''}'s knowledge cutoff {cutoff}; use a later release."
            )
        return kept, {"knowledge_cutoff": cutoff.isoformat()}

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        data = sample.data
        style = self.options.prompt_style or DEFAULT_STYLE
        return Prompt(
            messages=prompt_messages(style, data["question_content"], data["starter_code"]),
            raw_text=style in RAW_TEXT_STYLES,
            target="",
            metadata={
                "question_id": sample.id,
                "platform": data["platform"],
                "difficulty": data["difficulty"],
                "contest_date": data["contest_date"],
                "testtype": data["testtype"],
                "func_name": data["func_name"],
            },
        )

    def scorer(self, context: ScoringContext) -> Grader:
        return LiveCodeBenchGrader(
            _problems(context, self.name),
            context.require_isolation(self.name),
            workers=context.workers,
            timeout_s=self.options.test_timeout,
        )

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        """Grade one answer here and now (the runner grades through `scorer()`, in parallel)."""
        code = answer_code(prompt, completion)
        if not code.strip():
            return no_code_score()
        question_id = str(prompt.metadata["question_id"])
        problems = _problems(context, self.name)
        if question_id not in problems:
            raise DataError(f"LiveCodeBench: problem {question_id!r} is not loaded.")
        job = GradeJob(question_id, code, problems[question_id], self.options.test_timeout, Limits())
        return grade_program(job, Sandbox(context.require_isolation(self.name)))

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        graded = [r for r in scored if r.score is not None]
        if not graded:
            return {}
        per_problem = per_problem_pass_at_1(graded)
        metrics = {"pass_at_1": bootstrap_mean(list(per_problem.values()))}
        reported = any(r.score is not None and r.score.details.get("reported") for r in graded)
        if reported:
            return metrics
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for record in graded:
            assert record.score is not None
            counts[record.sample_id][0] += 1
            counts[record.sample_id][1] += int(record.score.value == 1.0)
        fewest = min(n for n, _ in counts.values())
        for k in PASS_AT_K:
            if fewest >= k:
                metrics[f"pass_at_{k}"] = pass_at_k_metric([(n, c) for n, c in counts.values()], k)
        verdicts = [str(r.score.details.get("verdict")) for r in graded if r.score is not None]
        metrics["unparsed_rate"] = proportion([v == "no_code" for v in verdicts])
        for verdict in FAILURE_VERDICTS:
            metrics[f"{verdict}_rate"] = proportion([v == verdict for v in verdicts])
        return metrics

    def import_completions(self, path: Path, loaded: LoadedData) -> ImportedCompletions:
        """Programs generated elsewhere in upstream's custom-evaluator format: a JSON list of
        `{"question_id": ..., "code_list": [code, ...]}`, the code already extracted (several codes
        per problem are its samples)."""
        samples = {sample.id: sample for sample in loaded.samples}
        if not path.is_file():
            raise ConfigError(f"{path}: expected a JSON file in the custom-evaluator format.")
        entries = BoundedReader().read_json(path)
        if not isinstance(entries, list):
            raise DataError(
                f'{path}: expected a JSON list of {{"question_id": ..., "code_list": [...]}} objects.'
            )
        read = malformed = unknown = duplicate = 0
        epochs: dict[str, list[Completion]] = {}
        model = path.stem
        for entry in entries:
            read += 1
            codes = entry.get("code_list") if isinstance(entry, dict) else None
            if (
                not isinstance(entry, dict)
                or "question_id" not in entry
                or not isinstance(codes, list)
                or not codes
                or not all(isinstance(code, str) for code in codes)
            ):
                malformed += 1
                continue
            question_id = str(entry["question_id"])
            if question_id not in samples:
                unknown += 1
                continue
            if question_id in epochs:
                duplicate += 1
                continue
            epochs[question_id] = [Completion(text=code, model=model) for code in codes]
        if not epochs:
            raise DataError(
                f"{path}: no usable entries ({read} read, {malformed} malformed, {unknown} with question ids "
                "not among the loaded problems: check --data-dir, --release and the date filters)."
            )
        info = ImportInfo(
            source_file=str(path),
            source_sha256="",
            records_read=read,
            records_imported=len(epochs),
            skipped_malformed=malformed,
            skipped_unknown_id=unknown,
            skipped_duplicate=duplicate,
        )
        imported = ImportedCompletions(
            completions={},
            info=info,
            model=model,
            epochs=epochs,
            prompt_metadata={"code_is_extracted": True},
        )
        sizes = {len(codes) for codes in epochs.values()}
        if len(sizes) > 1:
            imported.notes.append(
                f"problems have different numbers of samples ({min(sizes)} to {max(sizes)}); pass@k is "
                "reported only for k up to the smallest."
            )
        missing = len(samples) - len(epochs)
        if missing:
            imported.notes.append(
                f"{missing} loaded problems have no programs in {path.name}; they are not graded."
            )
        return imported


def _problems(context: ScoringContext, task: str) -> dict[str, ProblemTests]:
    problems: dict[str, ProblemTests] = dict(context.require_data(task).resources)
    return problems


def _row_selected(row: dict[str, Any], options: LiveCodeBenchOptions, where: str) -> bool:
    if options.platform and str(row.get("platform")) not in options.platform:
        return False
    if options.difficulty and str(row.get("difficulty")) not in options.difficulty:
        return False
    if options.start_date or options.end_date:
        when = parse_contest_date(row.get("contest_date"), where)
        if not in_window(when, options.start_date, options.end_date):
            return False
    return True
