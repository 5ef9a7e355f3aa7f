"""LiveCodeBench: data decoding, the official prompt and extraction, grading against verdicts known in
advance (our own problems and the real upstream row), imports, the leaderboard data, and the embedded
model end to end."""

from __future__ import annotations

import base64
import json
import math
import os
import pickle
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.backends import Admit, ModelClient
from harness.config import ModelEntry
from harness.errors import ConfigError, DataError
from harness.importers.livecodebench_leaderboard import entry_id, import_leaderboard
from harness.runner import ProgressReporter, RunOptions, execute, plan_run
from harness.sandbox import select_isolation
from harness.stats import pass_at_k
from harness.store import RunDir, latest_records
from harness.task import ScoringContext
from harness.types import (
    BackendInfo,
    Completion,
    DataRef,
    GenerationRequest,
    GradingInfo,
    Prompt,
    RunResult,
    RunSpec,
    SampleRecord,
)
from tasks import get_task
from tasks.livecodebench import (
    LiveCodeBench,
    release_files,
    window_pass_at_1,
)
from tasks.livecodebench_grading import (
    LiveCodeBenchGrader,
    ProblemTests,
    compare_stdout,
    decode_tests,
    extract_code,
)
from tasks.livecodebench_prompts import FORMAT_WITHOUT_STARTER_CODE, SYSTEM_MESSAGE_GENERIC
from tests.conftest import run_cli
from tests.lcb_parity import PARITY, UPSTREAM, parity_problem
from tests.lcb_problems import DATA_FILE, PROBLEMS, jsonl_text, known_results
from tests.lcb_support import OWN_DATA, data_dir_with_fixture, require_sandbox, upstream_results

LEADERBOARD = "livecodebench/leaderboard/performances_generation_83b6481.json"
TIMEOUT = "2"
TIMEOUT_S = 2.0
# Reference solutions for the real upstream row 1873_A (Codeforces; its statement allows any letter
# case, but upstream compares exactly, so lower-case answers fail), with upstream's results for them
# (derived as those of tests/lcb_parity.py).
UPSTREAM_SOLUTIONS: dict[str, tuple[str, list[bool | int]]] = {
    "correct": (
        "for _ in range(int(input())):\n    s = input().strip()\n"
        "    print('YES' if sum(a != b for a, b in zip(s, 'abc')) != 3 else 'NO')\n",
        [True, True, True, True, True],
    ),
    "lower_case": (
        "for _ in range(int(input())):\n    s = input().strip()\n"
        "    print('yes' if sum(a != b for a, b in zip(s, 'abc')) != 3 else 'no')\n",
        [-2],
    ),
    "always_yes": ("for _ in range(int(input())):\n    input()\n    print('YES')\n", [-2]),
}


def load(data_dir: Path = OWN_DATA, **options: Any) -> tuple[LiveCodeBench, list[Any]]:
    task = get_task("livecodebench", options)
    assert isinstance(task, LiveCodeBench)
    assert isinstance(task, LiveCodeBench)
    return task, task.load(data_dir).samples


def test_committed_problems_match_their_source() -> None:
    assert DATA_FILE.read_text(encoding="utf-8") == jsonl_text()
    assert len(PROBLEMS) >= 20
    kinds = {(p.functional, p.difficulty) for p in PROBLEMS}
    assert kinds == {(f, d) for f in (False, True) for d in ("easy", "medium", "hard")}
    codes = {code for *_, results in known_results() for code in results}
    assert {True, False, -2, -3, -4} <= codes


def test_the_upstream_row_decodes_with_the_restricted_unpickler(shared_data: Path) -> None:
    row = json.loads((shared_data / "livecodebench/fixtures/lcb_row_1873_A.jsonl").read_text())
    private = decode_tests(row["private_test_cases"], where="1873_A")
    assert len(private) == 4 and {t.testtype for t in private} == {"stdin"}
    assert private[0].input == "1\nabc\n" and private[0].output == "YES\n"


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    encoded = base64.b64encode(zlib.compress(pickle.dumps(Payload()))).decode()
    with pytest.raises(DataError, match=r"refusing to unpickle.*system.*only plain strings and containers"):
        decode_tests(encoded, where="row 7")
    assert not marker.exists()
    row = json.loads(DATA_FILE.read_text().splitlines()[0]) | {"private_test_cases": encoded}
    bad = tmp_path / "livecodebench"
    bad.mkdir()
    (bad / "bad.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:1 \(own001_A\) private_test_cases: refusing"):
        load(tmp_path)
    assert not marker.exists()


def test_prompts_are_the_official_generic_template() -> None:
    task, samples = load()
    by_id = {s.id: s for s in samples}
    stdin = task.build_prompt(by_id["own001_A"], 0, 0)
    assert [m.role for m in stdin.messages] == ["system", "user"]
    assert stdin.messages[0].content == SYSTEM_MESSAGE_GENERIC
    assert stdin.messages[1].content == (
        "### Question:\nRead two integers A and B and print A + B.\n\n"
        f"### Format: {FORMAT_WITHOUT_STARTER_CODE}\n```python\n# YOUR CODE HERE\n```\n\n"
        "### Answer: (use the provided format with backticks)\n\n"
    )
    functional = task.build_prompt(by_id["two-sum-own"], 0, 0).messages[1].content
    assert functional.startswith("### Question:\nReturn the indices")
    assert (
        "### Format: You will use the following starter code to write the solution to the problem and "
        "enclose your code within delimiters.\n```python\nclass Solution:\n    def twoSum(self, nums: "
        "List[int], target: int) -> List[int]:\n        \n```\n\n### Answer: (use the provided format "
        "with backticks)\n\n"
    ) in functional
    assert task.generation_defaults().temperature == 0.2 and task.default_epochs == 10


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("```python\nprint(1)\n```", "print(1)"),
        ("first\n```python\nprint(1)\n```\nthen\n```\nprint(2)\n```\n", "print(2)"),
        ("no fences at all", ""),
        ("```python\nunterminated", ""),
        ("```python\nx = 1\n``` and ```\n", "x = 1"),
    ],
)
def test_code_comes_from_the_last_fenced_block(text: str, code: str) -> None:
    assert extract_code(text) == code


@pytest.mark.parametrize(
    ("got", "expected", "match"),
    [
        ("3\n", "3", True),
        ("  1 2  \n\n", "1 2\n", True),
        ("1  2\n", "1 2\n", True),
        ("2.5\n", "2.500000\n", True),
        ("1e2\n", "100\n", True),
        ("2.5000001\n", "2.5\n", False),
        ("YES\n", "yes\n", False),
        ("1\n2\n", "1\n", False),
        ("", "0\n", False),
        ("sNaN\n", "1\n", False),
    ],
)
def test_stdout_is_compared_like_upstream(got: str, expected: str, match: bool) -> None:
    assert (compare_stdout(got, expected) is None) is match


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    for n, c, k in [(10, 0, 1), (10, 3, 1), (10, 3, 5), (10, 9, 5), (5, 5, 5), (20, 7, 10)]:
        assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 5)


def test_release_window_platform_and_difficulty_filters() -> None:
    assert release_files("release_v3") == ["test.jsonl", "test2.jsonl", "test3.jsonl"]
    assert release_files("v4") == ["test4.jsonl"] and release_files("v2_v3") == ["test2.jsonl", "test3.jsonl"]
    _, everything = load()
    assert len(everything) == len(PROBLEMS)
    task, window = load(start_date=date(2024, 1, 1), end_date=date(2024, 6, 1))
    assert sorted(s.id for s in window) == sorted(
        p.question_id for p in PROBLEMS if "2024-01-01" <= p.contest_date <= "2024-06-01"
    )
    # Both ends are midnight, as upstream: a problem later on the end day is outside.
    with pytest.raises(DataError, match="no problems left after the filters"):
        load(start_date=date(2023, 5, 14), end_date=date(2023, 5, 14))
    _, edge = load(start_date=date(2023, 5, 14), end_date=date(2023, 5, 15))
    assert [s.id for s in edge] == ["two-sum-own"]
    _, chosen = load(platform=["leetcode"], difficulty=["hard", "easy"])
    assert {(s.data["platform"], s.category) for s in chosen} == {("leetcode", "hard"), ("leetcode", "easy")}
    assert task.params()["start_date"] == "2024-01-01" and "workers" not in task.params()


def test_contamination_free_keeps_problems_after_the_entrys_cutoff(embedded_entry: ModelEntry) -> None:
    task, samples = load(contamination_free=True)
    entry = embedded_entry.model_copy(update={"knowledge_cutoff": date(2024, 6, 30)})
    kept, params = task.samples_for_entry(samples, entry)
    assert kept and all(s.data["contest_date"] > "2024-07" for s in kept)
    assert len(kept) == sum(p.contest_date >= "2024-07" for p in PROBLEMS)
    assert params == {"knowledge_cutoff": "2024-06-30"}
    with pytest.raises(ConfigError, match="knowledge_cutoff"):
        task.samples_for_entry(samples, embedded_entry.model_copy(update={"knowledge_cutoff": None}))


def test_task_options_are_typed_and_checked() -> None:
    with pytest.raises(ConfigError, match=r"start_date: unknown option \(it takes protocol\)"):
        get_task("mmlu_pro", {"start_date": date(2024, 1, 1)})
    with pytest.raises(ConfigError, match=r"release: .*release_v1"):
        get_task("livecodebench", {"release": "v9"})
    with pytest.raises(ConfigError, match=r"difficulty: "):
        get_task("livecodebench", {"difficulty": ["trivial"]})
    with pytest.raises(ConfigError, match="start 2025-01-01 is after end 2024-01-01"):
        get_task("livecodebench", {"start_date": date(2025, 1, 1), "end_date": date(2024, 1, 1)})
    # From the command line: strings, validated and converted by the same options model.
    assert get_task("livecodebench", {"platform": "leetcode,atcoder"}).params()["platform"] == [
        "atcoder",
        "leetcode",
    ]
    result = run_cli("run", "--task", "mmlu_pro", "-T", "platform=leetcode", "--limit", "1")
    assert result.returncode == 2 and "platform: unknown option" in " ".join(result.stderr.split())
    malformed = run_cli("run", "--task", "livecodebench", "-T", "platform")
    assert malformed.returncode == 2 and "KEY=VALUE" in malformed.stderr


def custom_evaluator_file(tmp_path: Path) -> tuple[Path, dict[tuple[str, int], list[bool | int]]]:
    """Every reference solution in upstream's custom-evaluator format, and the results each must get."""
    entries: dict[str, list[str]] = {}
    expected: dict[tuple[str, int], list[bool | int]] = {}
    solutions = [(qid, code, results) for qid, _, code, results in known_results()]
    solutions += [("1873_A", code, results) for code, results in UPSTREAM_SOLUTIONS.values()]
    for question_id, code, results in solutions:
        expected[(question_id, len(entries.setdefault(question_id, [])))] = results
        entries[question_id].append(code)
    path = tmp_path / "custom_outputs.json"
    path.write_text(json.dumps([{"question_id": q, "code_list": codes} for q, codes in entries.items()]))
    return path, expected


def test_known_verdicts_through_import_and_regrading(tmp_path: Path, shared_data: Path) -> None:
    require_sandbox()
    data_dir = data_dir_with_fixture(tmp_path, shared_data)
    outputs, expected = custom_evaluator_file(tmp_path)
    out = tmp_path / "results"
    common = ("--data-dir", str(data_dir), "-o", str(out), "-T", f"test_timeout={TIMEOUT}")
    imported = run_cli("import", "livecodebench", str(outputs), "--entry", "reference-solutions", *common)
    assert imported.returncode == 0, imported.stderr
    (run_file,) = out.glob("livecodebench/reference-solutions/*/run.json")
    run = RunDir(run_file.parent)
    result = run.read_result()
    records = latest_records(run.read_records())
    assert graded_as_upstream(records) == expected
    assert result.status == "complete" and result.imported is not None and result.provenance == "imported"
    assert result.grading is not None and result.grading.isolation == "bwrap" and result.grading.workers >= 1
    # pass@1 is the mean over problems of each problem's fraction of passing programs.
    per_problem: dict[str, list[bool]] = {}
    for (question_id, _), results in expected.items():
        per_problem.setdefault(question_id, []).append(all(code is True for code in results))
    metric = result.metrics["pass_at_1"]
    assert metric.value == pytest.approx(
        sum(sum(v) / len(v) for v in per_problem.values()) / len(per_problem)
    )
    assert metric.ci_low is not None and metric.ci_high is not None
    assert 0 <= metric.ci_low <= metric.value <= metric.ci_high <= 1 and metric.n == len(per_problem)
    assert set(result.categories) == {"easy", "medium", "hard"}
    failed = records[("own001_A", 1)].score
    assert failed is not None and failed.details["tests"][0] == {
        "verdict": "wrong_answer",
        "expected": "3\n",
        "got": "-1\n",
        "message": "line 1: -1 != 3",
        "time_s": failed.details["tests"][0]["time_s"],
    }
    assert [t["verdict"] for t in failed.details["tests"]] == ["wrong_answer", "not_run", "not_run"]
    crash = records[("own001_A", 2)].score
    assert crash is not None and "IndexError" in crash.details["message"]

    # Re-grading the stored programs gives the same verdicts.
    regraded = run_cli(
        "score", str(run.path), "--data-dir", str(data_dir), "-T", f"test_timeout={TIMEOUT}", "-o", str(out)
    )
    assert regraded.returncode == 0, regraded.stderr
    again = latest_records(run.read_records())
    assert graded_as_upstream(again) == expected
    assert len(run.read_records()) == len(expected)


def graded_as_upstream(
    records: dict[tuple[str, int], SampleRecord],
) -> dict[tuple[str, int], list[bool | int]]:
    functional = {p.question_id: p.functional for p in PROBLEMS} | {"1873_A": False}
    return {
        key: upstream_results(record.score.details, functional[key[0]])
        for key, record in records.items()
        if record.score is not None
    }


def site_average(performances: pd.DataFrame, model: str, start_ms: int, end_ms: int) -> float:
    """The site's get_pass_at_1: the mean of pass@1 over the model's problems with start <= date <= end."""
    rows = performances[
        (performances["model"] == model)
        & (performances["date"] >= start_ms)
        & (performances["date"] <= end_ms)
    ]
    return float(rows["pass@1"].mean())


def test_leaderboard_import_gives_the_sites_averages(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / LEADERBOARD
    raw = json.loads(source.read_text())
    performances = pd.DataFrame(raw["performances"])
    outcomes = import_leaderboard(source, runs_root=tmp_path)
    assert len(outcomes) == performances["model"].nunique() == 16
    marks: list[int] = raw["date_marks"]
    windows = [(marks[4], marks[-1]), (marks[0], marks[-1]), (marks[10], marks[16]), (marks[18], marks[20])]
    for outcome in outcomes:
        run = outcome.run_dir
        result = run.read_result()
        assert result.provenance == "reported" and result.notes and "reported" in result.notes[0]
        records = list(latest_records(run.read_records()).values())
        assert all(r.completion.text == "" and r.score and r.score.details["reported"] for r in records)
        assert result.imported is not None and result.imported.reported_model is not None
        model = result.imported.reported_model.display_name
        assert result.spec.entry == entry_id(model)
        for start_ms, end_ms in windows:
            start = datetime.fromtimestamp(start_ms / 1000, tz=UTC).replace(tzinfo=None)
            end = datetime.fromtimestamp(end_ms / 1000, tz=UTC).replace(tzinfo=None)
            ours = window_pass_at_1(records, start, end)
            expected = site_average(performances, model, start_ms, end_ms)
            assert ours.value * 100 == pytest.approx(expected, abs=1e-9)
            rows = performances[
                (performances["model"] == model) & performances["date"].between(start_ms, end_ms)
            ]
            assert ours.n == len(rows)
        for difficulty, metrics in result.categories.items():
            rows = performances[(performances["model"] == model) & (performances["difficulty"] == difficulty)]
            assert metrics["pass_at_1"].value * 100 == pytest.approx(rows["pass@1"].mean(), abs=1e-9)
    # Reported results have nothing to grade again.
    refused = run_cli("score", str(outcomes[0].run_dir.path), "-o", str(tmp_path))
    assert refused.returncode == 2 and "reported by others" in refused.stderr


def test_one_leaderboard_model_through_the_cli(tmp_path: Path, shared_data: Path) -> None:
    result = run_cli(
        "import",
        "livecodebench_leaderboard",
        str(shared_data / LEADERBOARD),
        "--entry",
        "deepseek-v3",
        "-o",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "deepseek-v3" in result.stdout and len(list(tmp_path.glob("livecodebench/*/*/run.json"))) == 1


def test_windowed_import_of_one_model_under_a_board_entry(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / LEADERBOARD
    result = run_cli(
        "import",
        "livecodebench_leaderboard",
        str(source),
        "--model",
        "DeepSeek-V3",
        "--entry",
        "my-v3",
        "-T",
        "start_date=2024-08-01",
        "-T",
        "end_date=2024-11-30",
        "-o",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    (run_json,) = tmp_path.glob("livecodebench/my-v3/*/run.json")
    run = RunDir(run_json.parent)
    stored = run.read_result()
    assert stored.spec.task_params["start_date"] == "2024-08-01"
    assert stored.spec.task_params["end_date"] == "2024-11-30"
    performances = pd.DataFrame(json.loads(source.read_text())["performances"])
    start_ms = int(datetime(2024, 8, 1, tzinfo=UTC).timestamp() * 1000)
    end_ms = int(datetime(2024, 11, 30, tzinfo=UTC).timestamp() * 1000)
    inside = performances[
        (performances["model"] == "DeepSeek-V3") & performances["date"].between(start_ms, end_ms)
    ]
    assert stored.metrics["pass_at_1"].n == len(inside) == len(run.read_records())
    assert stored.metrics["pass_at_1"].value * 100 == pytest.approx(inside["pass@1"].mean(), abs=1e-9)
    wrong = run_cli(
        "import", "livecodebench_leaderboard", str(source), "--model", "DeepSeek-V4", "-o", str(tmp_path)
    )
    assert wrong.returncode == 2 and "--model 'DeepSeek-V4': no such model" in " ".join(wrong.stderr.split())


class CannedAnswers:
    """Calls the real model, then answers with a known program instead (a fault injector for grading)."""

    def __init__(self, inner: ModelClient, answers: dict[str, str]) -> None:
        self.inner = inner
        self.answers = answers
        self.calls = 0

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        for index, completion in self.inner.generate(requests, admit):
            self.calls += 1
            content = requests[index].messages[-1].content
            question = next(q for q in self.answers if PROBLEM_TEXT[q] in content)
            yield index, completion.model_copy(update={"text": f"```python\n{self.answers[question]}```"})

    def info(self) -> BackendInfo:
        return self.inner.info()

    def close(self) -> None:
        pass


PROBLEM_TEXT = {p.question_id: p.content for p in PROBLEMS}


class InterruptWhenGradingStarts:
    """Ctrl-C just as the run starts waiting for its outstanding grades."""

    def start(self, description: str, total: int, completed: int) -> None:
        if description.startswith("grading"):
            raise KeyboardInterrupt

    def advance(self, record: SampleRecord) -> None:
        pass

    def finish(self) -> None:
        pass


def test_grading_interrupted_resumes_without_generating_again(
    tmp_path: Path, embedded_entry: ModelEntry, embedded_client: ModelClient
) -> None:
    require_sandbox()
    answers = {
        "own001_A": "while True:\n    pass\n",
        "own002_B": "print(max(map(int, open(0).read().split()[1:])))\n",
    }
    answers |= {"own003_A": "s = input()\nprint(sum(c in 'aeiou' for c in s))\n"}
    options = RunOptions(runs_root=tmp_path, data_dir=OWN_DATA, epochs=1, generation={"max_tokens": 4})
    # The endless loop is still being graded when generation ends (4 s against about one).
    task = get_task("livecodebench", {"test_timeout": 4.0})
    options.workers = 2
    plan = plan_run(task, embedded_entry, options)
    plan.items = [item for item in plan.items if item.sample.id in answers]
    client = CannedAnswers(embedded_client, answers)
    progress: ProgressReporter = InterruptWhenGradingStarts()
    with pytest.raises(KeyboardInterrupt):
        execute(plan, options, progress=progress, client_factory=lambda entry: client)
    run = RunDir.for_spec(tmp_path, "livecodebench", "smollm2", plan.spec.spec_hash())
    stored = latest_records(run.read_records())
    assert len(stored) == 3 and client.calls == 3
    assert run.read_result().status == "partial"
    assert sum(r.score is None for r in stored.values()) >= 1

    resumed = CannedAnswers(embedded_client, answers)
    outcome = execute(plan, options, client_factory=lambda entry: resumed)
    assert resumed.calls == 0 and outcome.generated == 0
    assert outcome.result.status == "complete" and outcome.result.counts.scored == 3
    lines = run.read_records()
    assert sorted(r.key for r in lines) == sorted(item.key for item in plan.items)
    verdicts = {r.sample_id: r.score.details["verdict"] for r in lines if r.score is not None}
    assert verdicts == {"own001_A": "time_limit", "own002_B": "runtime_error", "own003_A": "passed"}


@pytest.mark.slow
def test_embedded_model_end_to_end(tmp_path: Path) -> None:
    require_sandbox()
    data = [
        "--data-dir",
        str(OWN_DATA),
        "-o",
        str(tmp_path),
        "-T",
        f"test_timeout={TIMEOUT}",
        "--workers",
        "1",
    ]
    args = ["run", "--task", "livecodebench", "--model", "smollm2", *data]
    args += ["--limit", "2", "--epochs", "2", "--max-tokens", "96"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "grading: isolation bwrap" in first.stderr
    (run_file,) = tmp_path.glob("livecodebench/smollm2/*/run.json")
    run = RunDir(run_file.parent)
    result = run.read_result()
    assert result.status == "complete" and result.counts.planned == 4 == result.counts.scored
    assert 0.0 <= result.metrics["pass_at_1"].value <= 1.0 and result.metrics["pass_at_1"].n == 2
    assert result.grading is not None and result.grading.isolation == "bwrap"
    assert result.spec.task_params["release"] == "release_v6"
    for record in run.read_records():
        assert record.score is not None and record.score.details["verdict"]
        assert record.prompt.metadata["contest_date"] and record.category in ("easy", "medium", "hard")
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert run.read_result().counts.generated == 4


def test_unreachable_hub_says_how_to_use_local_data(tmp_path: Path) -> None:
    offline = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = run_cli("run", "--task", "livecodebench", "--limit", "1", "-o", str(tmp_path), env=offline)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "could not load livecodebench/code_generation_lite" in message
    assert "livecodebench/test*.jsonl" in message and "--data-dir" in message


def test_without_a_sandbox_the_run_is_refused_before_anything_runs(tmp_path: Path) -> None:
    no_sandbox = {"HARNESS_SANDBOX_PYTHON": "/opt/elsewhere/python3"}
    args = (
        "run",
        "--task",
        "livecodebench",
        "--data-dir",
        str(OWN_DATA),
        "--limit",
        "1",
        "-o",
        str(tmp_path),
    )
    result = run_cli(*args, env=no_sandbox)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "no sandbox available" in message and "--unsandboxed" in message
    assert not list(tmp_path.glob("**/run.json")) and not list(tmp_path.glob("**/samples.jsonl"))


def test_one_answer_graded_in_process_against_the_upstream_row(tmp_path: Path, shared_data: Path) -> None:
    require_sandbox()
    task = get_task("livecodebench", {"test_timeout": 2.0})
    loaded = task.load(data_dir_with_fixture(tmp_path, shared_data))
    (row,) = [s for s in loaded.samples if s.id == "1873_A"]
    assert row.data["tests"] == 5 and row.data["contest_date"] == "2023-08-21T00:00:00"
    prompt = task.build_prompt(row, 0, 0)
    answer = Completion(text=f"Here it is:\n```python\n{UPSTREAM_SOLUTIONS['correct'][0]}```\nDone.")
    context = ScoringContext(data=loaded, isolation=select_isolation(unsandboxed_ok=False))
    score = task.score(prompt, answer, context)
    assert score.value == 1.0 and score.details["tests_passed"] == 5
    assert (
        task.score(prompt, Completion(text="I cannot solve this."), context).details["verdict"] == "no_code"
    )


def test_the_hub_reader_parses_the_files_like_the_local_one(tmp_path: Path) -> None:
    """The hub path reads the release's JSONL files through `datasets`; the same reader on our own
    file (a local path instead of an hf:// URL) gives the same problems as the local reader."""
    from tasks.livecodebench import parse_row, read_with_datasets

    rows = read_with_datasets([str(DATA_FILE)], cache_dir=tmp_path / "cache")
    _, local = load()
    through_datasets = [parse_row(row, f"row {i}")[0] for i, row in enumerate(rows)]
    assert through_datasets == local


def test_common_idioms_get_upstreams_results() -> None:
    """The parity suite: every program gets exactly the per-test results upstream's grader gave it."""
    isolation = require_sandbox()
    questions = sorted({question_id for question_id, _, _ in PARITY})
    problems = {}
    for question_id in questions:
        problem = parity_problem(question_id)
        row = problem.row()
        problems[question_id] = ProblemTests(
            row["public_test_cases"],
            row["private_test_cases"],
            "functional" if problem.functional else "stdin",
            problem.func_name,
        )
    grader = LiveCodeBenchGrader(problems, isolation, workers=2, timeout_s=TIMEOUT_S)
    try:
        for index, (question_id, idiom, code) in enumerate(PARITY):
            prompt = Prompt(
                messages=[], target="", metadata={"question_id": question_id, "code_is_extracted": True}
            )
            grader.submit((f"{question_id}/{idiom}", index), prompt, Completion(text=code))
        scores = {key[0]: score for key, score in grader.wait()}
    finally:
        grader.close()
    assert not grader.failures
    ours = {
        (question_id, idiom): upstream_results(
            scores[f"{question_id}/{idiom}"].details, parity_problem(question_id).functional
        )
        for question_id, idiom, _ in PARITY
    }
    assert ours == {key: UPSTREAM[key] for key in ours}
    assert len(ours) == len(UPSTREAM)


FORGE = (
    "import json, posix, struct\n"
    "def forge(head, output=b''):\n"
    "    body = struct.pack('>I', len(head)) + head + output\n"
    "    for fd in range(3, 16):\n"
    "        try:\n            posix.write(fd, struct.pack('>I', len(body)) + body)\n"
    "        except OSError:\n            pass\n"
)
SUM_ANSWER = "a, b = map(int, input().split())\nprint(a + b)\n"
TWO_SUM_ANSWER = (
    "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
    "        for i, v in enumerate(nums):\n            if target - v in seen:\n"
    "                return [seen[target - v], i]\n            seen[v] = i\n"
)
TWO_SUM_HEAD = "class Solution:\n    def twoSum(self, nums, target):\n"
# (problem, program): every shape of reply a program can make up, and one that needs no forging.
HOSTILE = {
    "time_as_text": ("own001_A", FORGE + 'forge(b\'{"status": "ok", "time_s": "fast"}\', b\'no\')\n'),
    "not_json": ("own001_A", FORGE + "forge(b'{\"status\": ok')\n"),
    "not_an_object": ("own001_A", FORGE + "forge(b'[1, 2, 3]')\n"),
    "invalid_utf8": ("own001_A", FORGE + "forge(b'\\xff\\xfe{}')\n"),
    "integer_past_every_limit": ("own001_A", FORGE + "forge(b'9' * 60000)\n"),
    "nested_100000_deep": ("own001_A", FORGE + "forge(b'[' * 100000 + b']' * 100000)\n"),
    "header_longer_than_reply": (
        "own001_A",
        "import posix, struct\nposix.write(4, struct.pack('>II', 4, 99))\n",
    ),
    "announces_2_gb": ("own001_A", "import posix, struct\nposix.write(4, struct.pack('>I', 1 << 31))\n"),
    "stops_mid_frame": (
        "own001_A",
        "import posix, struct\nposix.write(4, struct.pack('>I', 100) + b'{')\nposix._exit(0)\n",
    ),
    "flood_of_frames": (
        "own001_A",
        FORGE + "for _ in range(20000):\n    forge(b'{\"status\": \"ok\"}', b'1')\n",
    ),
    "status_not_text": ("own001_A", FORGE + 'forge(b\'{"status": ["ok"]}\')\n'),
    "error_not_text": ("own001_A", FORGE + 'forge(b\'{"status": "error", "error": {"deep": [1, 2]}}\')\n'),
    "forged_load_event": ("own001_A", FORGE + 'forge(b\'{"event": ["loaded"]}\')\n'),
    "fraction_over_zero": (
        "two-sum-own",
        FORGE
        + TWO_SUM_HEAD
        + '        forge(b\'{"status": "ok", "value": {"$": "fraction", "v": [1, 0]}}\')\n',
    ),
    "malformed_decimal": (
        "two-sum-own",
        FORGE
        + TWO_SUM_HEAD
        + '        forge(b\'{"status": "ok", "value": {"$": "decimal", "v": "1.2.3"}}\')\n',
    ),
    "malformed_hex_integer": (
        "two-sum-own",
        FORGE + TWO_SUM_HEAD + '        forge(b\'{"status": "ok", "value": {"$": "int", "hex": "zz"}}\')\n',
    ),
    "returns_10_to_the_5000": (
        "two-sum-own",
        TWO_SUM_HEAD
        + "        import sys\n        sys.set_int_max_str_digits(0)\n        return 10 ** 5000\n",
    ),
}


def test_hostile_replies_never_stop_grading(tmp_path: Path) -> None:
    """Each made-up reply is its own program's failure, with a message; the honest programs graded
    beside them pass; every record is stored and the import completes without a traceback."""
    require_sandbox()
    entries: dict[str, list[str]] = {}
    names: dict[tuple[str, int], str] = {}
    for name, (question_id, code) in HOSTILE.items():
        codes = entries.setdefault(question_id, [])
        names[(question_id, len(codes))] = name
        codes.append(code)
        names[(question_id, len(codes))] = "honest"
        codes.append(SUM_ANSWER if question_id == "own001_A" else TWO_SUM_ANSWER)
    outputs = tmp_path / "hostile.json"
    outputs.write_text(json.dumps([{"question_id": q, "code_list": codes} for q, codes in entries.items()]))
    out = tmp_path / "results"
    imported = run_cli(
        "import",
        "livecodebench",
        str(outputs),
        "--entry",
        "hostile",
        "--data-dir",
        str(OWN_DATA),
        "-o",
        str(out),
        "-T",
        f"test_timeout={TIMEOUT}",
    )
    assert imported.returncode == 0, imported.stderr
    assert "Traceback" not in imported.stderr + imported.stdout
    (run_file,) = out.glob("livecodebench/hostile/*/run.json")
    run = RunDir(run_file.parent)
    result = run.read_result()
    records = latest_records(run.read_records())
    assert result.status == "complete" and result.grading is not None and result.grading.failed == 0
    assert set(records) == set(names) and all(r.score is not None for r in records.values())
    for key, record in records.items():
        assert record.score is not None
        details = record.score.details
        if names[key] == "honest":
            assert details["verdict"] == "passed", details
        else:
            assert record.score.value == 0.0, (names[key], details)
            assert details["verdict"] in ("runtime_error", "wrong_answer", "output_limit"), (
                names[key],
                details,
            )
            assert details.get("message") or details["tests"][0].get("got"), (names[key], details)


def test_runs_recorded_before_grading_info_was_typed_still_load() -> None:
    old = {
        "isolation": "bwrap",
        "mechanism": "bubblewrap 0.8.0",
        "python": "/usr/bin/python3",
        "workers": 2,
        "timeout_s": 6.0,
        "limits": {"cpu_s": 60},
        "failed": 1,
        "failures": ["x"],
    }
    info = GradingInfo.model_validate(old | {"bwrap_version": "0.8.0"})
    assert info.isolation == "bwrap" and info.workers == 2 and info.failures == ["x"]
    spec = RunSpec(
        task="livecodebench",
        task_version="1",
        entry="e",
        model="m",
        backend="import",
        generation=None,
        epochs=1,
        task_params={},
        data=DataRef(dataset="d"),
    )
    for grading, expected in (({}, None), (old, info)):
        result = RunResult.model_validate(
            {"spec": spec.model_dump(), "spec_hash": "h", "status": "complete", "grading": grading}
        )
        assert result.grading == expected
