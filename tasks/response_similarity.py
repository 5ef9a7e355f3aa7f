"""Response similarity: how close are an entry's answers to a reference model's answers on the same
prompts? A distillation signal: a model trained on another's outputs writes like it.

Paper: Lee et al., "Distillation Quantification for Large Language Models" (arXiv:2501.12619; code
Aegis1863/LLMs-Distillation-Quantification at 1219df3). Its Response Similarity Evaluation asks a
judge to rate, on a 1-5 scale, how similar a test model's response is to the reference model's
(GPT-4o-0806) in response style, logical structure and content detail, on ArenaHard, Numina and
ShareGPT prompts, and reports the mean per prompt set and overall.

Ours:

- Prompts: Arena-Hard v0.1's 500 (`<data-dir>/arena-hard/v0.1/question.jsonl`), sent exactly as
  Arena-Hard's answer stage sends them (`answer_prompt`, `ANSWER_GENERATION`: the question as one user
  message, temperature 0, at most 4096 new tokens, as upstream arena-hard-auto's v0.1
  `gen_answer_config.yaml`), so an entry that has answered Arena-Hard is answered here from the
  request cache: nothing is generated twice.
- Reference: the published Arena-Hard v0.1 answers of `baseline` (default `gpt-4o-2024-08-06`, the
  paper's reference model) from `<data-dir>/arena-hard/v0.1/model_answer/`; any of the 24 published sets
  can be named, and an entry of the models file is answered from its own run of this task.
- A judge (`-T judge=ENTRY`) rates each pair on the 1-5 scale with our own rubric text (three aspects:
  style, logical structure, content detail; quality deliberately ignored). The headline `similarity`
  is the mean of (rating - 1) / 4, so 0 is "unrelated" and 1 "indistinguishable" and the board can
  show it as a percentage; `judge_score` is the mean rating on the paper's 1-5 scale. Both are over
  the judgments that parsed (`judge_unparsed_rate` beside them; with none parsed they have n = 0).
- Judge-free measures, stored per response: `ngram_f1` (word 1-4-gram overlap F1) and
  `embedding_cosine` (all-MiniLM-L6-v2, offline), both against the reference, and the n-gram F1 against
  every published answer set for that question (`details.neighbours`), from which the site ranks an
  entry's nearest published models. Means with 95% bootstrap CIs.

Deliberate differences from the paper: Arena-Hard prompts only (its Numina and ShareGPT samples are not
published); our own judge rubric, not the paper's prompt; the judge-free measures are ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from harness.errors import DataError
from harness.grading import BatchGrader, Grader, RecordKey, Submission
from harness.stats import bootstrap_mean, proportion
from harness.task import LoadedData, Need, ScoringContext, Task, TaskOptions
from harness.types import (
    Completion,
    DataRef,
    GenerationConfig,
    GenerationRequest,
    Message,
    Metric,
    Prompt,
    Sample,
    SampleRecord,
    Score,
)
from tasks.similarity_measures import Embedder, ngram_counts, ngram_f1_counts

ARENA_DIR = Path("arena-hard") / "v0.1"
QUESTIONS_FILE = ARENA_DIR / "question.jsonl"
ANSWERS_DIR = ARENA_DIR / "model_answer"
DATASET = "lmarena/arena-hard-auto v0.1"
DEFAULT_REFERENCE = "gpt-4o-2024-08-06"
# Arena-Hard's answer stage (arena-hard-auto v0.1 gen_answer_config.yaml: temperature 0.0,
# max_tokens 4096, one choice). Must stay equal to tasks/arena_hard.py's, or the request cache cannot
# answer this task from the Arena-Hard run.
ANSWER_GENERATION = GenerationConfig(temperature=0.0, max_tokens=4096)
RATING = re.compile(r"\[\[\s*([1-5])\s*\]\]")

JUDGE_TEMPLATE = """You compare two answers to the same user request and rate how SIMILAR they are, \
not how good they are. A correct answer and a wrong one can be very similar; two excellent answers can \
be very different.

Weigh three aspects equally:
- Style: tone, wording habits, formatting (headings, lists, bold, code blocks), length, how it opens \
and closes.
- Logical structure: the steps or sections, their order, how the argument or solution is organised.
- Content detail: the facts, examples, code, caveats and recommendations that are included or left out.

Scale:
1 - unrelated: different style, different structure, little shared content.
2 - a few shared points, but clearly written in a different way.
3 - similar overall approach or content, but style or organisation differ noticeably.
4 - closely matching style and structure, with small differences in detail or wording.
5 - nearly indistinguishable: the same style, structure and details, as if written by the same model.

<<<REQUEST
{question}
REQUEST>>>

<<<ANSWER 1
{reference}
ANSWER 1>>>

<<<ANSWER 2
{answer}
ANSWER 2>>>

Explain your comparison in at most four sentences, then give the rating on the last line in exactly \
this form: Similarity: [[N]] (N from 1 to 5)."""


class SimilarityOptions(TaskOptions):
    judge: str | None = None
    baseline: str = DEFAULT_REFERENCE


def read_answer_set(path: Path) -> dict[str, str]:
    """Published Arena-Hard answers by question id, from either schema (`question_id` + `choices`,
    or `uid` + `messages`). Lines that do not parse or hold no answer text are skipped."""
    answers: dict[str, str] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                row = json.loads(line)
                question = row.get("question_id", row.get("uid"))
                if "choices" in row:
                    text = row["choices"][0]["turns"][0]["content"]
                else:
                    content = row["messages"][-1]["content"]
                    text = content.get("answer") if isinstance(content, dict) else content
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                continue
            if isinstance(question, str) and isinstance(text, str) and text.strip():
                answers.setdefault(question, text)
    return answers


def published_answer_sets(data_dir: Path) -> dict[str, dict[str, str]]:
    folder = data_dir / ANSWERS_DIR
    return {path.stem: read_answer_set(path) for path in sorted(folder.glob("*.jsonl"))}


def read_questions(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / QUESTIONS_FILE
    if not path.is_file():
        raise DataError(
            f"Arena-Hard v0.1 questions not found at {path}. Expected <data-dir>/{QUESTIONS_FILE} (the "
            "arena-hard-auto question file: uid, category, cluster, prompt) and published answers in "
            f"<data-dir>/{ANSWERS_DIR}/<model>.jsonl."
        )
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"uid": str(row["uid"]), "prompt": str(row["prompt"]), **_labels(row)})
        except (ValueError, KeyError) as exc:
            raise DataError(f"{path}:{number}: not an Arena-Hard question ({exc}).") from exc
    return rows


def _labels(row: Mapping[str, Any]) -> dict[str, str]:
    return {"category": str(row.get("category", "")), "cluster": str(row.get("cluster", ""))}


def answer_prompt(question: str) -> Prompt:
    """Arena-Hard's answer-stage prompt: the question as the only user message."""
    return Prompt(messages=[Message(role="user", content=question)], target="")


def parse_rating(text: str) -> int | None:
    """The judge's 1-5 rating: the last `[[N]]` in its reply."""
    found = RATING.findall(text)
    return int(found[-1]) if found else None


class ResponseSimilarity(Task):
    name = "response_similarity"
    version = "1"
    dataset = DATASET
    headline = "similarity"
    options_model = SimilarityOptions
    needs: ClassVar[frozenset[Need]] = frozenset({"judge", "baseline", "data"})
    options: SimilarityOptions

    def error_score(self) -> Score | None:
        # The headline is the mean judged similarity to the baseline: an unanswered prompt is not
        # "dissimilar" (0 would lower the distillation signal). It stays out, counted in `errors`.
        return None

    def generation_defaults(self) -> GenerationConfig:
        return ANSWER_GENERATION.model_copy()

    def load(self, data_dir: Path | None) -> LoadedData:
        if data_dir is None:
            raise DataError(
                "response_similarity reads Arena-Hard v0.1 from a local folder: pass --data-dir D with "
                f"D/{QUESTIONS_FILE} and D/{ANSWERS_DIR}/."
            )
        rows = read_questions(data_dir)
        samples = [
            Sample(
                id=row["uid"],
                category=row["category"],
                data={"question": row["prompt"], "cluster": row["cluster"]},
            )
            for row in rows
        ]
        published = published_answer_sets(data_dir)
        baselines = {
            name: {uid: Completion(text=text, model=name) for uid, text in answers.items()}
            for name, answers in published.items()
        }
        notes = []
        if self.options.baseline not in published:
            notes.append(
                f"reference {self.options.baseline!r} has no published answer set in "
                f"{data_dir / ANSWERS_DIR}; its answers come from its own run of this task."
            )
        return LoadedData(
            samples=samples,
            ref=DataRef(dataset=DATASET, source="local", path=str(data_dir / ARENA_DIR)),
            notes=notes,
            resources={"baselines": baselines, "published": published},
        )

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        prompt = answer_prompt(sample.data["question"])
        return prompt.model_copy(
            update={"metadata": {"uid": sample.id, "cluster": sample.data.get("cluster", "")}}
        )

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        grader = self.scorer(context)
        grader.submit((str(prompt.metadata.get("uid", "")), 0), prompt, completion)
        return next(score for _, score in grader.wait())

    def scorer(self, context: ScoringContext) -> Grader:
        judge = context.require_judge(self.name)
        reference = context.require_baseline(self.name)
        published: Mapping[str, Mapping[str, str]] = context.require_data(self.name).resources.get(
            "published", {}
        )
        # Loaded now, so that a missing embedding extra stops the run before anything is generated.
        Embedder.load()

        def grade(batch: Sequence[Submission]) -> Iterator[tuple[RecordKey, Score]]:
            referenced = [(item, reference.answers.get(item[0][0])) for item in batch]
            for (key, _, _), ref in referenced:
                if ref is None:
                    yield (
                        key,
                        Score(
                            value=0.0,
                            parsed=False,
                            details={"error": "the reference has no answer to this question"},
                        ),
                    )
            pairs = [(item, ref.text) for item, ref in referenced if ref is not None]
            if not pairs:
                return
            vectors = Embedder.embed([c.text for (_, _, c), _ in pairs] + [r for _, r in pairs])
            measures = []
            for index, ((key, _, completion), ref_text) in enumerate(pairs):
                counts = ngram_counts(completion.text)
                neighbours = {
                    name: round(ngram_f1_counts(counts, ngram_counts(answers[key[0]])), 4)
                    for name, answers in published.items()
                    if key[0] in answers
                }
                measures.append(
                    {
                        "reference": reference.entry,
                        "ngram_f1": ngram_f1_counts(counts, ngram_counts(ref_text)),
                        "embedding_cosine": float(vectors[index] @ vectors[len(pairs) + index]),
                        "neighbours": neighbours,
                    }
                )
            requests = [
                GenerationRequest(
                    messages=[
                        Message(
                            role="user",
                            content=JUDGE_TEMPLATE.format(
                                question=prompt.messages[-1].content,
                                reference=ref_text,
                                answer=completion.text,
                            ),
                        )
                    ],
                    config=GenerationConfig(temperature=0.0, max_tokens=512),
                )
                for (_, prompt, completion), ref_text in pairs
            ]
            for index, verdict in judge.complete(requests):
                if verdict.error is not None:
                    continue
                (key, _, _), _ = pairs[index]
                rating = parse_rating(verdict.text)
                yield (
                    key,
                    Score(
                        value=(rating - 1) / 4 if rating is not None else 0.0,
                        extracted=str(rating) if rating is not None else None,
                        parsed=rating is not None,
                        details={
                            "judge": judge.entry,
                            "judgment": verdict.text,
                            "judge_score": rating,
                            **measures[index],
                        },
                        judge_usage=verdict.usage,
                        judge_cost_usd=verdict.cost_usd,
                    ),
                )

        return BatchGrader(grade)

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        if not scored:
            return {}
        rated = [r for r in scored if r.score is not None and r.score.details.get("judge_score") is not None]
        ratings = [float(r.score.details["judge_score"]) for r in rated if r.score is not None]
        clusters = [r.sample_id for r in rated]
        metrics: dict[str, Metric] = {}
        if ratings:
            metrics["similarity"] = bootstrap_mean([(x - 1) / 4 for x in ratings], clusters=clusters)
            metrics["judge_score"] = bootstrap_mean(ratings, clusters=clusters)
        else:
            metrics["similarity"] = Metric(value=0.0, n=0)
        metrics["judge_unparsed_rate"] = proportion(
            [r.score is not None and not r.score.parsed for r in scored]
        )
        for name in ("ngram_f1", "embedding_cosine"):
            measured = [r for r in scored if r.score is not None and name in r.score.details]
            if measured:
                metrics[name] = bootstrap_mean(
                    [float(r.score.details[name]) for r in measured if r.score is not None],
                    clusters=[r.sample_id for r in measured],
                )
        missing = [r.score is not None and "error" in r.score.details for r in scored]
        if any(missing):
            metrics["missing_reference_rate"] = proportion(missing)
        return metrics
