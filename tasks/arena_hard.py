"""Arena-Hard-Auto: open-ended prompts from Chatbot Arena, judged pairwise against a baseline's answers.

Paper: Li et al., "From Crowdsourced Data to High-Quality Benchmarks: Arena-Hard and BenchBuilder
Pipeline" (arXiv:2406.11939). Protocol: lmarena/arena-hard-auto, v2.0 at 196f6b8 (2025-06-20) and v0.1
as its own code at 3071ef9 (2025-03-19) (`tasks/arena_hard_protocol.py` names the files).

- `arena_hard` (v0.1): 500 prompts; baseline gpt-4-0314; judge gpt-4-1106-preview at temperature 0,
  4,096 tokens. `arena_hard_v2` (v2.0): 750 prompts, reported per category (`-T category=`):
  `hard_prompt` (500, coding and math) against o3-mini-2025-01-31 and `creative_writing` (250) against
  gemini-2.0-flash-001; judge gpt-4.1 at temperature 0, 16,000 tokens. The judge and the baseline are
  any entries of the models file (`-T judge=ENTRY -T baseline=ENTRY`).
- Answers: the entry answers the prompt as one user message (greedy; v0.1 at most 4,096 tokens, as its
  answer config). Only the answer is judged: reasoning (`<think>`, `reasoning_content`) is kept aside.
  Per answer, its o200k token length and markdown counts (headers h1–h6, ordered and unordered list
  items, bold) after removing fenced code, as upstream's `add_markdown_info.py`.
- Judging: two games per prompt, game 1 with the baseline as assistant A, game 2 swapped; the general
  system prompt, or for creative writing the one without "generate your own answer first". v2.0 takes
  the last `[[label]]`, else the last `[label]`, of the upper-cased judgment and drops a prompt whose
  game has no verdict. v0.1 takes the one distinct `[[label]]`; with none it asks once more ("continue
  your judgment and finish by outputting a final verdict label") and reads both turns together; a game
  without a verdict is dropped alone. "Significantly better" counts three battles, a tie half a win.
- Scores: v0.1 fits Bradley–Terry by logistic regression with the baseline anchored; its win rate
  against the baseline is `win_rate`, with the 95% percentile interval (on the Elo scale) of 100
  bootstrap refits over the battles, seeded 42 as upstream's `utils_math.py` seeds numpy. v2.0 reports
  the mean over 100 bootstrap rounds of the entry's mean battle score, with the 5–95% interval.
  `win_rate_style_controlled` is v2.0's style control (length and markdown density relative to the
  baseline, z-scored, fitted with the Bradley–Terry model; median and 5–95% over the bootstrap fits),
  for both versions. Also `mean_token_len`, `unparsed_rate` (games) and `dropped_rate` (prompts).
- Judgments are kept in `judgments.jsonl` in the run directory, one line per prompt in upstream's
  schema for the version (v0.1: `question_id, model, judge, games[{user_prompt, judgment, score}]`;
  v2.0: `uid, category, judge, model, baseline, games[{score, judgment, prompt}]`) plus the judge's
  tokens and cost, so upstream's `show_result.py` can read them and a resumed run reuses them.

Deliberate differences:
- Bootstrap draws use `RandomState(bootstrap_seed)`: with v0.1's seed 42 they are upstream's draws;
  v2.0 upstream does not seed numpy (our default is 42 too). A run holds one entry, so its resamples
  and its style-control fit cover that entry's battles alone; upstream fits every model of a judgment
  folder together (style coefficients are shared) and centres the style features over all of them,
  so a strength is the win rate at the folder's average style difference. One entry's average is its
  own, so a run's style features are scaled but not centred: its style-controlled win rate is the one
  at no style difference from the baseline. `harness import arena_hard DIR` fits a folder's models
  together, centred, as upstream does.
- Style control is fitted to convergence (Newton's method, float64). Upstream v2.0 stops torch's L-BFGS
  after 50 iterations at learning rate 0.1 from 0.5 (float32), short of the maximum-likelihood fit: on
  the tests' synthetic judgments its figures differ from the converged ones by up to 0.23 points, and
  ours agree with upstream's run to convergence within 0.03 points. Features that do not vary are left
  out (upstream's z-scoring divides by zero and stops).
- v0.1 had its own style control (raw-count ratios, an L2-regularised fit); this task applies v2.0's.
- A verdict outside v2.0's label table (e.g. `[[A>>>B]]`, which upstream's regex accepts and its table
  then fails on) counts as no verdict. A judge call that fails (after the backend's retries) leaves the
  prompt ungraded, to be judged again on the next run, where upstream records an empty game.
- The system prompt "You are a helpful assistant." that v0.1 gave some OpenAI models when answering is
  the models file's business (`generation.system_prompt`). v2.0 leaves the answer length to each
  model's API config; this task's default is 16,000 tokens.
- A prompt whose baseline has no answer is dropped and counted (upstream skips it with a warning).

Data: `<data-dir>/arena-hard/{v0.1,v2.0}/question.jsonl` and the published answers in
`model_answer/*.jsonl` (the baselines' answers come from there), or the files of lmarena/arena-hard-auto
at the pinned commit, checked against their sha256.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from harness.errors import ConfigError, DataError
from harness.grading import BatchGrader, Grader, RecordKey, Submission
from harness.pairwise import (
    Battles,
    bootstrap_battles,
    bootstrap_entry_means,
    logit_percentiles,
    mean_outcomes,
    relative_style,
    style_controlled,
)
from harness.reasoning import split_reasoning
from harness.stats import proportion
from harness.store import RunDir, append_jsonl, read_jsonl
from harness.task import (
    Baseline,
    ImportedCompletions,
    Judge,
    LoadedData,
    Need,
    ScoringContext,
    Task,
    TaskOptions,
)
from harness.types import (
    Completion,
    DataRef,
    GenerationConfig,
    GenerationRequest,
    ImportInfo,
    Message,
    Metric,
    Prompt,
    Sample,
    SampleRecord,
    Score,
    Usage,
)
from tasks.arena_hard_protocol import (
    FOLLOW_UP,
    UPSTREAM_V2_COMMIT,
    answer_style,
    entry_outcomes,
    joined_labels,
    judge_messages,
    style_counts,
    verdict_v01,
    verdict_v2,
)

REPOSITORY = "lmarena/arena-hard-auto"
JUDGMENTS_FILE = "judgments.jsonl"
V01, V2 = "v0.1", "v2.0"
# Upstream's files at the pinned commit, with their sha256 (fetched when no --data-dir is given).
REMOTE_FILES = {
    f"{V01}/question.jsonl": (
        "data/arena-hard-v0.1/question.jsonl",
        "2650242d2883f22b2abd498f273b6a7e02253cce533f5c91a858e1d44aa3002f",
    ),
    f"{V01}/model_answer/gpt-4-0314.jsonl": (
        "data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl",
        "0f6abc84de4600fde987d9db70f838f4ecdbd27a2f1f4058c12aa322a6f791b2",
    ),
    f"{V2}/question.jsonl": (
        "data/arena-hard-v2.0/question.jsonl",
        "a75cef6623db6b27aec810497b059f0659705d7ff48dcbccc5bd5b130728ac73",
    ),
    f"{V2}/model_answer/o3-mini-2025-01-31.jsonl": (
        "data/arena-hard-v2.0/model_answer/o3-mini-2025-01-31.jsonl",
        "c23a7c255eead99f7f86ad48aa1d8ccdb5b3334f2097e0e1e09184df87265e03",
    ),
}
V2_BASELINES = {"hard_prompt": "o3-mini", "creative_writing": "gemini-2.0-flash-001"}
# The baselines' names in upstream's answer files, whose published answers a run may use.
PUBLISHED_BASELINES = {V01: ("gpt-4-0314",), V2: ("o3-mini-2025-01-31", "gemini-2.0-flash-001")}


class ArenaHardOptions(TaskOptions):
    """v0.1's official configuration by default."""

    judge: str = "gpt-4-1106-preview"
    baseline: str = "gpt-4-0314"
    judge_temperature: float = Field(default=0.0, ge=0.0)
    judge_max_tokens: int = Field(default=4096, gt=0)
    bootstrap_rounds: int = Field(default=100, ge=2, le=100_000)
    bootstrap_seed: int = Field(default=42, ge=0, lt=2**32)


class ArenaHardV2Options(ArenaHardOptions):
    """v2.0's official configuration by default; the baseline follows the category."""

    category: Literal["hard_prompt", "creative_writing"] = "hard_prompt"
    judge: str = "gpt-4.1"
    baseline: str = "o3-mini"
    judge_max_tokens: int = Field(default=16000, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _category_baseline(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("baseline"):
            category = data.get("category", "hard_prompt")
            return {**data, "baseline": V2_BASELINES.get(str(category), "")}
        return data


@dataclass
class Game:
    messages: list[Message]
    texts: list[str] = field(default_factory=list)
    label: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0


@dataclass
class Judging:
    """One prompt's two games, from requests to the score and the judgments line."""

    key: RecordKey
    category: str | None
    question: str
    style: dict[str, Any]
    baseline_style: dict[str, Any]
    games: list[Game]
    waiting: int = 2
    failed: bool = False

    def add(self, game: Game, completion: Completion) -> None:
        game.texts.append(completion.text)
        game.usage = game.usage + completion.usage
        if completion.cost_usd is None:
            game.cost_usd = None
        elif game.cost_usd is not None:
            game.cost_usd += completion.cost_usd


class ArenaHard(Task):
    """Arena-Hard v0.1."""

    name = "arena_hard"
    version = "1"
    dataset = REPOSITORY
    headline = "win_rate"
    edition = V01
    options_model: ClassVar[type[TaskOptions]] = ArenaHardOptions
    needs: ClassVar[frozenset[Need]] = frozenset({"judge", "baseline"})
    options: ArenaHardOptions

    def error_score(self) -> Score | None:
        # An answer that could not be generated has no judgment: upstream (arena-hard-auto) would judge
        # its "$ERROR$" placeholder, almost surely a loss, but a made-up loss has no style features and
        # would turn style control off for the whole entry. So it stays out of the win rate; the run
        # shows it in `errors` and fails past max_error_rate.
        return None

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig(temperature=0.0, max_tokens=4096)

    # --- data -----------------------------------------------------------------------------------------

    def load(self, data_dir: Path | None) -> LoadedData:
        questions = self._read(data_dir, f"{self.edition}/question.jsonl")
        samples = [self._sample(row, number) for number, row in enumerate(_jsonl(questions, "questions"))]
        samples = [s for s in samples if self._selected(s)]
        baselines: dict[str, dict[str, Completion]] = {}
        names = {*PUBLISHED_BASELINES[self.edition], self.options.baseline}
        for name in sorted(names):
            raw = self._optional(data_dir, f"{self.edition}/model_answer/{name}.jsonl")
            if raw is not None:
                answers = read_answers(raw, f"{name}.jsonl")
                baselines[name] = {uid: answer for uid, answer in answers.items()}
        source = "local" if data_dir is not None else "hub"
        where = str(data_dir / "arena-hard" / self.edition) if data_dir is not None else None
        revision = None if data_dir is not None else UPSTREAM_V2_COMMIT
        return LoadedData(
            samples=samples,
            ref=DataRef(dataset=f"{REPOSITORY} {self.edition}", revision=revision, source=source, path=where),
            resources={"baselines": baselines},
        )

    def _selected(self, sample: Sample) -> bool:
        return True

    def _sample(self, row: Any, number: int) -> Sample:
        if not isinstance(row, dict):
            raise DataError(f"Arena-Hard questions, line {number + 1}: not a JSON object.")
        uid = row.get("uid", row.get("question_id"))
        prompt = row.get("prompt")
        if prompt is None and isinstance(row.get("turns"), list) and row["turns"]:
            prompt = row["turns"][0].get("content")
        if not isinstance(uid, str) or not isinstance(prompt, str):
            raise DataError(f"Arena-Hard questions, line {number + 1}: needs a uid and a prompt.")
        category = str(row.get("category", ""))
        return Sample(
            id=uid,
            category=self._record_category(row),
            data={"prompt": prompt, "category": category, "cluster": row.get("cluster")},
        )

    def _record_category(self, row: Mapping[str, Any]) -> str | None:
        return None

    def _read(self, data_dir: Path | None, name: str) -> bytes:
        raw = self._optional(data_dir, name)
        if raw is None:
            raise DataError(
                f"Arena-Hard: {data_dir / 'arena-hard' / name if data_dir else name} not found. Expected "
                f"<data-dir>/arena-hard/{name} (as lmarena/arena-hard-auto's data/arena-hard-{name})."
            )
        return raw

    def _optional(self, data_dir: Path | None, name: str) -> bytes | None:
        if data_dir is not None:
            path = data_dir / "arena-hard" / name
            return path.read_bytes() if path.is_file() else None
        if name not in REMOTE_FILES:
            return None
        return _fetch(*REMOTE_FILES[name])

    # --- prompts and scoring ----------------------------------------------------------------------------

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        return Prompt(
            messages=[Message(role="user", content=sample.data["prompt"])],
            target="",
            metadata={"uid": sample.id, "category": sample.data["category"]},
        )

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        grader = self.scorer(context)
        grader.submit((str(prompt.metadata.get("uid", "")), 0), prompt, completion)
        grades = list(grader.wait())
        if not grades:
            raise ConfigError(f"{self.name}: the judge gave no verdict ({'; '.join(grader.failures)}).")
        return grades[0][1]

    def scorer(self, context: ScoringContext) -> Grader:
        judge = context.require_judge(self.name)
        baseline = context.require_baseline(self.name)
        log = context.run_dir / JUDGMENTS_FILE if context.run_dir is not None else None
        entry = RunDir(context.run_dir).entry if context.run_dir is not None else ""
        # Judgments an earlier invocation made with the same requests (lines that are not ours are
        # ignored, never trusted as verdicts for other requests).
        earlier = {
            str(row["request_sha256"]): row
            for row in (read_jsonl(log) if log else [])
            if isinstance(row, dict)
            and isinstance(row.get("request_sha256"), str)
            and isinstance(row.get("games"), list)
        }
        config = GenerationConfig(
            temperature=self.options.judge_temperature, max_tokens=self.options.judge_max_tokens, seed=None
        )

        def grade(batch: Sequence[Submission]) -> Iterator[tuple[RecordKey, Score]]:
            return self._grade(batch, judge, baseline, config, log, earlier, entry)

        return BatchGrader(grade)

    def _grade(
        self,
        batch: Sequence[Submission],
        judge: Judge,
        baseline: Baseline,
        config: GenerationConfig,
        log: Path | None,
        earlier: Mapping[str, Any],
        entry: str,
    ) -> Iterator[tuple[RecordKey, Score]]:
        judgings: list[Judging] = []
        for key, prompt, completion in batch:
            reference = baseline.answers.get(key[0])
            style = answer_style(completion.text)
            if reference is None or reference.error is not None:
                yield key, _dropped(style, "the baseline has no answer to this prompt")
                continue
            category = prompt.metadata.get("category")
            question = prompt.messages[-1].content
            games = [
                Game(judge_messages(question, reference.text, completion.text, category)),
                Game(judge_messages(question, completion.text, reference.text, category)),
            ]
            judging = Judging(key, category, question, style, answer_style(reference.text), games)
            digest = _request_digest(judge.model, config, games)
            row = earlier.get(digest)
            if row is not None and row.get("judge") == judge.model:
                yield key, self._reused(judging, row, judge.entry)
                continue
            judgings.append(judging)
        requests = [GenerationRequest(messages=g.messages, config=config) for j in judgings for g in j.games]
        owners = [(j, g) for j in judgings for g in j.games]
        again: list[tuple[Judging, Game]] = []
        for index, answer in judge.complete(requests):
            judging, game = owners[index]
            if answer.error is not None:
                judging.failed = True
                continue
            judging.add(game, answer)
            if self.edition == V01:
                label, ask_again = verdict_v01("\n" + answer.text)
                if ask_again:
                    again.append((judging, game))
                    continue
                game.label = label
            else:
                game.label = verdict_v2(answer.text)
            judging.waiting -= 1
            if not judging.waiting and not judging.failed:
                yield judging.key, self._finish(judging, judge, config, log, entry)
        if not again:
            return
        follow_ups = [
            GenerationRequest(
                messages=[
                    *game.messages,
                    Message(role="assistant", content=game.texts[0]),
                    Message(role="user", content=FOLLOW_UP),
                ],
                config=config,
            )
            for _, game in again
        ]
        for index, answer in judge.complete(follow_ups):
            judging, game = again[index]
            if answer.error is not None:
                judging.failed = True
                continue
            judging.add(game, answer)
            game.label, _ = verdict_v01("".join("\n" + text for text in game.texts))
            judging.waiting -= 1
            if not judging.waiting and not judging.failed:
                yield judging.key, self._finish(judging, judge, config, log, entry)

    def _finish(
        self, judging: Judging, judge: Judge, config: GenerationConfig, log: Path | None, entry: str
    ) -> Score:
        row = self._judgment_row(judging, judge, entry)
        row["request_sha256"] = _request_digest(judge.model, config, judging.games)
        if log is not None:
            append_jsonl(log, row)
        return self._score(judging, judge.entry)

    def _judgment_row(self, judging: Judging, judge: Judge, entry: str) -> dict[str, Any]:
        """The judgments line, in upstream's schema for this version, plus tokens and cost."""
        games: list[dict[str, Any]] = []
        for game in judging.games:
            spent = {"usage": game.usage.model_dump(), "cost_usd": game.cost_usd, "turns": len(game.texts)}
            if self.edition == V01:
                text = "".join("\n" + t for t in game.texts)
                games.append(
                    {"user_prompt": game.messages[1].content, "judgment": text, "score": game.label, **spent}
                )
            else:
                prompt = [m.model_dump() for m in game.messages]
                judgment = {"answer": game.texts[-1]}
                games.append({"score": game.label, "judgment": judgment, "prompt": prompt, **spent})
        common = {
            "judge": judge.model,
            "games": games,
            "style": judging.style,
            "baseline_style": judging.baseline_style,
        }
        if self.edition == V01:
            return {"question_id": judging.key[0], "model": entry, **common}
        return {
            "uid": judging.key[0],
            "category": judging.category,
            "model": entry,
            "baseline": self.options.baseline,
            **common,
        }

    def _reused(self, judging: Judging, row: Mapping[str, Any], judge: str) -> Score:
        for game, stored in zip(judging.games, row.get("games", []), strict=False):
            game.label = stored.get("score")
            game.usage = Usage.model_validate(stored.get("usage") or {})
            game.cost_usd = stored.get("cost_usd")
            judgment = stored.get("judgment")
            game.texts = [judgment["answer"] if isinstance(judgment, dict) else str(judgment)]
        return self._score(judging, judge)

    def _score(self, judging: Judging, judge: str) -> Score:
        labels = [game.label for game in judging.games]
        details = outcome_details(self.edition, labels)
        usage = sum((game.usage for game in judging.games), Usage())
        costs = [game.cost_usd for game in judging.games]
        cost = None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None))
        kept = details["outcomes"]
        return Score(
            value=float(np.mean(kept)) if kept else 0.0,
            extracted=joined_labels(labels),
            parsed=bool(kept),
            details={
                "judge": judge,
                "baseline": self.options.baseline,
                **details,
                "style": judging.style,
                "baseline_style": judging.baseline_style,
            },
            judge_usage=usage,
            judge_cost_usd=cost,
        )

    # --- metrics --------------------------------------------------------------------------------------

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        if not scored:
            return {}
        details = [r.score.details for r in scored if r.score is not None]
        return leaderboard(self.edition, {"entry": details}, self.options, pooled=False)["entry"]

    def import_completions(self, path: Path, loaded: LoadedData) -> ImportedCompletions:
        """Published answers, in either of upstream's answer schemas (one model per .jsonl file)."""
        if not path.is_file():
            raise ConfigError(f"{path}: give one answers file (model_answer/<model>.jsonl).")
        answers = read_answers(path.read_bytes(), str(path))
        known = {sample.id for sample in loaded.samples}
        completions = {uid: answer for uid, answer in answers.items() if uid in known}
        if not completions:
            raise DataError(f"{path}: no answers to this task's {len(known)} prompts.")
        info = ImportInfo(
            source_file=str(path),
            source_sha256="",
            records_read=len(answers),
            records_imported=len(completions),
            skipped_unknown_id=len(answers) - len(completions),
        )
        return ImportedCompletions(completions=completions, info=info, model=path.stem)


class ArenaHardV2(ArenaHard):
    """Arena-Hard v2.0, one category per run."""

    name = "arena_hard_v2"
    edition = V2
    options_model: ClassVar[type[TaskOptions]] = ArenaHardV2Options
    options: ArenaHardV2Options

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig(temperature=0.0, max_tokens=16000)

    def _selected(self, sample: Sample) -> bool:
        return bool(sample.data["category"] == self.options.category)

    def _record_category(self, row: Mapping[str, Any]) -> str | None:
        return str(row.get("subcategory") or row.get("category") or "") or None


def outcome_details(edition: str, labels: Sequence[str | None]) -> dict[str, Any]:
    """A prompt's battle outcomes (the entry's scores) from its two games' verdicts, in the order
    upstream lists them: v0.1 game 1 then game 2, each game without a verdict dropped alone; v2.0 game
    2 then game 1, the prompt dropped when either game has no verdict."""
    games = [entry_outcomes(number, label, v01=edition == V01) for number, label in enumerate(labels, 1)]
    unparsed = sum(game is None for game in games)
    if edition == V01:
        kept = [o for game in games if game is not None for o in game]
    elif unparsed or len(games) < 2:
        kept = []
    else:
        kept = [o for game in reversed(games) if game is not None for o in game]
    return {
        "labels": list(labels),
        "unparsed_games": unparsed,
        "outcomes": kept,
        "dropped": None if kept else "no verdict",
    }


def _dropped(style: dict[str, Any], reason: str) -> Score:
    return Score(
        value=0.0,
        parsed=False,
        details={"labels": [], "unparsed_games": 0, "outcomes": [], "dropped": reason, "style": style},
    )


def _request_digest(judge_model: str, config: GenerationConfig, games: Sequence[Game]) -> str:
    payload = [judge_model, config.model_dump(), [[m.model_dump() for m in g.messages] for g in games]]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def leaderboard(
    edition: str,
    details_by_entry: Mapping[str, Sequence[Mapping[str, Any]]],
    options: ArenaHardOptions,
    *,
    pooled: bool = True,
) -> dict[str, dict[str, Metric]]:
    """Each entry's metrics from its prompts' judged outcomes, the entries fitted together.

    `pooled`: style features are centred over the entries' battles, as upstream centres them over a
    judgment folder; one run's entry alone is compared at no style difference from the baseline."""
    entries = sorted(details_by_entry)
    rows: list[tuple[int, float, int]] = []
    own: list[list[float]] = []
    base: list[list[float]] = []
    styled = True
    for index, entry in enumerate(entries):
        for details in details_by_entry[entry]:
            outcomes = details.get("outcomes") or []
            if not outcomes:
                continue
            if details.get("style") and details.get("baseline_style"):
                own.append(style_counts(details["style"]))
                base.append(style_counts(details["baseline_style"]))
            else:
                styled = False
            group = len(own) - 1 if styled else 0
            rows += [(index, float(outcome), group) for outcome in outcomes]
    features = relative_style(np.array(own), np.array(base)) if styled and own else None
    battles = Battles.from_rows(entries, rows, features)
    results: dict[str, dict[str, Metric]] = {entry: {} for entry in entries}
    rounds, seed = options.bootstrap_rounds, options.bootstrap_seed
    kept = battles.counts()
    if battles.size:
        if edition == V01:
            point = mean_outcomes(battles)
            low, high = logit_percentiles(bootstrap_battles(battles, rounds, seed), 2.5, 97.5)
            level = 0.95
        else:
            means = bootstrap_entry_means(battles, rounds, seed)
            point = means.mean(axis=0)
            low, high = np.quantile(means, [0.05, 0.95], axis=0)
            level = 0.90
        fit = style_controlled(battles, rounds, seed, centered=pooled) if features is not None else None
        for j, entry in enumerate(entries):
            if not kept[j]:
                continue
            prompts = sum(1 for d in details_by_entry[entry] if d.get("outcomes"))
            results[entry]["win_rate"] = Metric(
                value=float(point[j]), ci_low=float(low[j]), ci_high=float(high[j]), n=prompts, ci_level=level
            )
            if fit is not None:
                median, lower, upper = np.quantile(fit.win_rates[:, j], [0.5, 0.05, 0.95])
                results[entry]["win_rate_style_controlled"] = Metric(
                    value=float(median), ci_low=float(lower), ci_high=float(upper), n=prompts, ci_level=0.90
                )
    for entry in entries:
        prompts_details = details_by_entry[entry]
        lengths = [float(d["style"]["token_len"]) for d in prompts_details if d.get("style")]
        if lengths:
            results[entry]["mean_token_len"] = Metric(value=float(np.mean(lengths)), n=len(lengths))
        games = [len(d.get("labels") or []) for d in prompts_details]
        unparsed = [int(d.get("unparsed_games") or 0) for d in prompts_details]
        if sum(games):
            results[entry]["unparsed_rate"] = Metric(value=sum(unparsed) / sum(games), n=sum(games))
        if prompts_details:
            results[entry]["dropped_rate"] = proportion([not d.get("outcomes") for d in prompts_details])
    return results


def read_answers(raw: bytes, where: str) -> dict[str, Completion]:
    """Answers by prompt id from a published answers file in either schema: the current one (`uid`,
    `messages[-1].content.answer`) or the older one (`question_id`, `choices[0].turns[0].content`)."""
    answers: dict[str, Completion] = {}
    for number, row in enumerate(_jsonl(raw, where)):
        uid = row.get("uid", row.get("question_id")) if isinstance(row, dict) else None
        text = _answer_text(row) if isinstance(row, dict) else None
        if not isinstance(uid, str) or text is None:
            raise DataError(f"{where}:{number + 1}: not an Arena-Hard answer (needs uid and the answer).")
        reasoning, answer = split_reasoning(text)
        model = row.get("model", row.get("model_id"))
        answers[uid] = Completion(text=answer, reasoning=reasoning, model=str(model) if model else None)
    return answers


def _answer_text(row: Mapping[str, Any]) -> str | None:
    messages = row.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        if isinstance(content, dict):
            content = content.get("answer")
        return content if isinstance(content, str) else None
    choices = row.get("choices")
    try:
        content = choices[0]["turns"][0]["content"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return None
    return content if isinstance(content, str) else None


def _jsonl(raw: bytes, where: str) -> Iterator[Any]:
    # Not str.splitlines: answers contain U+2028 and friends, which it would split on.
    for number, line in enumerate(raw.decode("utf-8").split("\n")):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}:{number + 1}: not valid JSON ({exc.msg}).") from exc


def _fetch(path: str, sha256: str) -> bytes:
    url = f"https://raw.githubusercontent.com/{REPOSITORY}/{UPSTREAM_V2_COMMIT}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            raw: bytes = response.read()
    except OSError as exc:
        raise DataError(
            f"could not fetch {url} ({exc}). Pass --data-dir D where D/arena-hard holds the files of "
            f"{REPOSITORY}'s data/ folder (question.jsonl and model_answer/ per version)."
        ) from exc
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise DataError(f"{url}: the file differs from the pinned one (sha256 {sha256}).")
    return raw
