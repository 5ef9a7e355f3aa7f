"""Our `mmlu_pro` and lm-eval's bundled `mmlu_pro` (its own task files, reading the shared parquet files)
on the same served embedded model and the same question: the protocol differences the MMLU-Pro task's
docstring lists, observed in what each side sent and how each scored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.store import RunDir, latest_records
from harness.types import SampleRecord
from tasks.mmlu_pro import extract_answer
from tests.lm_eval_support import bundled_mmlu_pro, write_tasks
from tests.test_lm_eval import harness

COT = "Answer: Let's think step by step."


class TaskYaml(yaml.SafeLoader):
    """lm-eval's task YAML, its `!function` references read as their names."""


TaskYaml.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))


def only_record(runs: Path, task: str) -> tuple[RunDir, SampleRecord]:
    (run_file,) = runs.glob(f"{task}/smollm2-server/*/run.json")
    run = RunDir(run_file.parent)
    (record,) = latest_records(run.read_records()).values()
    return run, record


def questions(text: str) -> list[str]:
    return re.findall(r"Question:\n(.*?)\nOptions:", text, flags=re.S)


def test_our_mmlu_pro_and_lm_evals_on_the_same_question(tmp_path: Path, shared_data: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", shared_data)
    runs = tmp_path / "runs"
    common = ("-m", "smollm2-server", "--limit", "1", "--max-tokens", "16", "--runs", str(runs))
    ours = harness("run", "-t", "mmlu_pro", "--data-dir", str(shared_data), *common)
    assert ours.returncode == 0, ours.stderr
    theirs = harness(
        "run", "-t", "lm_eval:local_mmlu_pro", "-T", f"include_path={tasks}", "-T", "id_field=question_id",
        *common,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    our_run, our = only_record(runs, "mmlu_pro")
    _, their = only_record(runs, "lm_eval:local_mmlu_pro")

    # The same question (our subset and lm-eval's documents agree through the question id).
    assert our.sample_id == their.sample_id and our.prompt.target == their.prompt.target
    assert our.category == their.category == "biology"

    # Prompt: ours is one user message; lm-eval sends the description as a system message and each
    # exemplar as a user turn answered by an assistant turn.
    (our_message,) = our.prompt.render(our_run.read_result().prompt_prefixes)
    ours_text = our_message.content
    messages = their.prompt.messages
    assert our_message.role == "user"
    # A self-hosted model gets upstream's local protocol: that text as a raw-text completion.
    assert our.prompt.raw_text and our_run.read_result().spec.task_params["protocol"] == "local"
    assert [m.role for m in messages] == ["system", *["user", "assistant"] * 5, "user"]
    assert ours_text.startswith(messages[0].content)
    # The same five exemplars (the category's first five validation questions), in the same order.
    exemplar_turns = messages[1:-1:2]
    assert questions("".join(m.content + "\n" for m in exemplar_turns)) == questions(ours_text)[:5]
    # lm-eval keeps the dataset's "N/A" padding options; ours drops them.
    assert any("N/A" in m.content for m in exemplar_turns) and "N/A" not in ours_text
    # Each exemplar's reasoning: inline after "Answer: Let's think step by step." in ours; the
    # assistant's whole turn in lm-eval's, its user turn ending with that phrase.
    for user, assistant in zip(messages[1:-1:2], messages[2:-1:2], strict=True):
        assert user.content.endswith(COT)
        assert f"{COT} {assistant.content}" in ours_text
    # The question itself is rendered identically.
    assert ours_text.endswith(messages[-1].content) and messages[-1].content.endswith(COT)

    # Decoding: greedy, stop at "Question:", both; lm-eval's comes from its YAML.
    gen = their.prompt.metadata["lm_eval"]["gen_kwargs"]
    spec = our_run.read_result().spec.generation
    assert spec is not None and spec.stop == gen["until"] == ["Question:"]
    assert spec.temperature == gen["temperature"] == 0.0 and gen["do_sample"] is False
    assert spec.max_tokens == gen["max_gen_toks"] == 16

    # Extraction: lm-eval's filter is the first of our three steps alone, then `take_first`.
    config = yaml.load((bundled_mmlu_pro() / "_default_template_yaml").read_text(), Loader=TaskYaml)
    (extract,) = config["filter_list"]
    pattern = extract["filter"][0]["regex_pattern"]
    assert [step["function"] for step in extract["filter"]] == ["regex", "take_first"]
    found = re.findall(pattern, their.completion.text)
    assert their.score is not None and their.score.extracted == (found[0] if found else "[invalid]")
    assert our.score is not None and our.score.extracted == extract_answer(our.completion.text)[0]
    filter_class = pytest.importorskip("lm_eval.filters.extraction").RegexFilter
    lm_eval_filter = filter_class(regex_pattern=pattern)
    for text, lm_eval_answer, our_answer in [
        ("so the answer is (C).", "C", "C"),
        ("Answer: D", "[invalid]", "D"),
        ("I pick B", "[invalid]", "B"),
    ]:
        (filtered,) = lm_eval_filter.apply([[text]], [{}])
        assert filtered[0] == lm_eval_answer
        assert extract_answer(text)[0] == our_answer
