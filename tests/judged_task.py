"""A judged task written as one module, the way a benchmark module in `tasks/` would be: it declares
that it needs a judge and a baseline, and the runner hands both over through the scoring context.

Pairwise preference on real Arena-Hard v0.1 prompts: the judge sees the baseline's published answer
and the entry's answer and says which is better; the entry scores 1 for a win, 0.5 for a tie, 0 for
a loss. (The real Arena-Hard protocol is `tasks/arena_hard.py`'s; this one is deliberately small.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from harness.errors import DataError
from harness.grading import BatchGrader, Grader, RecordKey, Submission
from harness.stats import bootstrap_mean
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

QUESTIONS = "arena-hard/v0.1/question_oldfmt.jsonl"
ANSWERS = "arena-hard/v0.1/model_answer"
VERDICT = re.compile(r"\[\[(A|B|tie)\]\]")
JUDGE_TEMPLATE = (
    "Which answer to the question is better? End with [[A]], [[B]] or [[tie]].\n\n"
    "Question: {question}\n\n[Answer A]\n{baseline}\n\n[Answer B]\n{answer}"
)


class PreferenceOptions(TaskOptions):
    judge: str | None = None
    baseline: str = "gpt-4-0314"
    questions: int = 20


class PairwisePreference(Task):
    name = "pairwise_preference"
    version = "1"
    dataset = "lmarena/arena-hard-auto v0.1"
    headline = "win_rate"
    options_model = PreferenceOptions
    needs: ClassVar[frozenset[Need]] = frozenset({"judge", "baseline"})
    options: PreferenceOptions

    def generation_defaults(self) -> GenerationConfig:
        return GenerationConfig(temperature=0.0, max_tokens=64)

    def load(self, data_dir: Path | None) -> LoadedData:
        if data_dir is None:
            raise DataError("pairwise_preference reads its questions from --data-dir only.")
        rows = [json.loads(line) for line in (data_dir / QUESTIONS).read_text().splitlines() if line]
        samples = [
            Sample(
                id=row["question_id"], category=row["category"], data={"question": row["turns"][0]["content"]}
            )
            for row in rows[: self.options.questions]
        ]
        baseline: dict[str, Completion] = {}
        answers = data_dir / ANSWERS / f"{self.options.baseline}.jsonl"
        if answers.is_file():
            for line in answers.read_text().splitlines():
                row = json.loads(line)
                baseline[row["question_id"]] = Completion(text=row["choices"][0]["turns"][0]["content"])
        return LoadedData(
            samples=samples,
            ref=DataRef(dataset=self.dataset, source="local", path=str(data_dir / QUESTIONS)),
            resources={"baselines": {self.options.baseline: baseline}} if baseline else {},
        )

    def build_prompt(self, sample: Sample, epoch: int, seed: int) -> Prompt:
        return Prompt(messages=[Message(role="user", content=sample.data["question"])], target="")

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        grader = self.scorer(context)
        grader.submit(("one", 0), prompt, completion)
        return next(score for _, score in grader.wait())

    def summarize(self, scored: Sequence[SampleRecord]) -> dict[str, Metric]:
        values = [r.score.value for r in scored if r.score is not None]
        return {"win_rate": bootstrap_mean(values)} if values else {}

    def scorer(self, context: ScoringContext) -> Grader:
        judge = context.require_judge(self.name)
        baseline = context.require_baseline(self.name)

        def grade(batch: Sequence[Submission]) -> Iterator[tuple[RecordKey, Score]]:
            requests = [
                GenerationRequest(
                    messages=[
                        Message(
                            role="user",
                            content=JUDGE_TEMPLATE.format(
                                question=prompt.messages[-1].content,
                                baseline=baseline.answers[key[0]].text,
                                answer=completion.text,
                            ),
                        )
                    ],
                    config=GenerationConfig(temperature=0.0, max_tokens=32),
                )
                for key, prompt, completion in batch
            ]
            for index, verdict in judge.complete(requests):
                if verdict.error is not None:
                    continue
                found = VERDICT.findall(verdict.text)
                label = found[-1] if found else None
                value = {"B": 1.0, "tie": 0.5, "A": 0.0}.get(label or "", 0.0)
                yield (
                    batch[index][0],
                    Score(
                        value=value,
                        extracted=label,
                        parsed=label is not None,
                        details={"judge": judge.entry, "judgment": verdict.text},
                        judge_usage=verdict.usage,
                        judge_cost_usd=verdict.cost_usd,
                    ),
                )

        return BatchGrader(grade)
