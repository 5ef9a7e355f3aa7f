"""Bad input never costs a user: links that are not http(s), imports past their limits (a real zip bomb),
terminal escape sequences in model output, files that are not UTF-8, out-of-range options, what killed
site builds leave behind, and run directories stopped before they were complete."""

from __future__ import annotations

import json
import os
import shlex
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from harness.cli import main
from harness.config import ModelEntry, get_entry, load_models
from harness.errors import ConfigError, DataError, StoreError
from harness.importers import import_run
from harness.runner import RunOptions, execute, plan_run
from harness.runner.generate import score_inline
from harness.runner.results import build_result, write_run
from harness.store import RunDir, iter_runs
from harness.task import LoadedData, ScoringContext, Task
from harness.types import Completion, DataRef, Prompt, SampleRecord, Score
from tasks.livecodebench import LiveCodeBench
from tasks.mmlu_pro import MMLUPro
from tests.conftest import MODELS_FILE, REPO, run_cli
from tests.site_helpers import HOSTILE_ENTRY, models_yaml, write_hostile_run

PUBLISHED_ZIP = "mmlu-pro/eval_results/model_outputs_Qwen1.5-7B-Chat_5shots.zip"
PUBLISHED_FOLDER = "mmlu-pro/eval_results/deepseek_2024-05"
MOCK_ENTRY = """
  mock-entry:
    display_name: Mock entry
    organisation: test
    backend: mock
    model: mock-entry
    backend_options: {default: "The answer is (A)."}
"""


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_MODELS": str(MODELS_FILE), **extra}


# --- links ----------------------------------------------------------------------------------------


BOARD = """title: Links
entries: [gpt-4o, smollm2]
tasks:
  - id: mmlu_pro
reported:
  - entry: gpt-4o
    task: mmlu_pro
    value: 0.7
    source: a paper
    url: {url}
"""


@pytest.mark.parametrize(
    "url", ["'javascript:alert(1)'", "'data:text/html,<script>alert(1)</script>'", "'JavaScript:x'"]
)
def test_a_reported_figure_takes_only_an_http_link(tmp_path: Path, url: str) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(BOARD.format(url=url), encoding="utf-8")
    (tmp_path / "models.yaml").symlink_to(MODELS_FILE)
    shown = run_cli("board", "show", str(board), "--runs", str(tmp_path / "runs"))
    assert shown.returncode == 2, shown.stderr
    message = " ".join(shown.stderr.split())
    assert f"{board}:10: reported.0.url" in message and "not an http:// or https:// link" in message


def test_models_file_links_must_be_http(tmp_path: Path) -> None:
    base = (
        "default_entry: a\nentries:\n  a:\n    display_name: A\n    organisation: O\n    backend: external\n"
    )
    models = tmp_path / "models.yaml"
    models.write_text(
        base + "    model: m\n    base_url: 'javascript:alert(1)'\n"
        "    price: {input_per_mtok: 1, output_per_mtok: 1, as_of: 2025-01-01, source: 'data:text/html,x'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_models(models)
    assert f"{models}:8: entries.a.base_url" in str(raised.value)
    assert f"{models}:9: entries.a.price.source" in str(raised.value)
    # A source that is text, or starts with an http(s) link, is fine.
    models.write_text(
        base + "    model: m\n    base_url: https://api.example.com/v1\n"
        "    price: {input_per_mtok: 1, output_per_mtok: 1, as_of: 2025-01-01,\n"
        "            source: 'https://example.com/pricing (list price)'}\n",
        encoding="utf-8",
    )
    assert load_models(models).entries["a"].price is not None


# --- bounded imports ------------------------------------------------------------------------------


def write_zip_bomb(path: Path, size: int = 1 << 30) -> None:
    """A real zip bomb: one member that inflates to `size` bytes from about 1 MB. Written by hand,
    because deflating 1 GiB takes a while: each MiB of spaces, deflated after a full flush (a fresh
    state), is the same run of bytes, so the stream is that run repeated."""
    chunk = b" " * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    data = segment * (size // len(chunk)) + deflate.flush()
    crc = 0
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    name = b"model_outputs.json"
    fields = (crc, len(data), size, len(name))
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, *fields, 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, *fields, 0, 0, 0, 0, 0, 0)
    central += name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)


# The peak is the process's own VmHWM, read as it exits: wait4's ru_maxrss would also count the pytest
# process it was spawned from (Linux records the parent's high-water mark at exec after a vfork).
PEAK_REPORTER = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def report():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(report)
sys.argv[0] = "harness"
runpy.run_module("harness.cli", run_name="__main__")
"""


def run_measured(*args: str, peak_file: Path) -> tuple[int, str, int]:
    """Run the real command; its exit status, stderr, and its own peak resident memory in bytes."""
    completed = subprocess.run(
        [sys.executable, "-c", PEAK_REPORTER, str(peak_file), *args],
        cwd=REPO,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    peak_kb = int(peak_file.read_text())
    return completed.returncode, completed.stderr.decode("utf-8", "replace"), peak_kb * 1024


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path: Path, shared_data: Path) -> None:
    bomb = tmp_path / "model_outputs_bomb_5shots.zip"
    write_zip_bomb(bomb)
    (member,) = zipfile.ZipFile(bomb).infolist()
    assert bomb.stat().st_size < 1.2e6 and member.file_size == 1 << 30
    with zipfile.ZipFile(bomb).open(member) as stream:
        assert stream.read(1 << 20) == b" " * (1 << 20)  # it does inflate
    code, stderr, peak = run_measured(
        "import", "mmlu_pro", str(bomb), "--entry", "bomb", "--data-dir", str(shared_data),
        "--runs", str(tmp_path / "runs"), peak_file=tmp_path / "peak",
    )  # fmt: skip
    message = " ".join(stderr.split())
    assert code == 2, stderr
    assert f"{bomb}: member 'model_outputs.json' expands" in message and "HARNESS_IMPORT_MAX_RATIO" in message
    # The dataset is loaded first (a few hundred MB); the member alone would be 1 GiB.
    assert peak < 700e6, f"peak memory {peak / 1e6:.0f} MB"


@pytest.fixture
def mmlu_import() -> Iterator[tuple[MMLUPro, LoadedData]]:
    yield MMLUPro(), LoadedData(samples=[], ref=DataRef(dataset="d"))


def test_import_limits_are_configurable_and_named(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mmlu_import: tuple[MMLUPro, LoadedData],
) -> None:
    task, loaded = mmlu_import
    monkeypatch.setenv("HARNESS_IMPORT_MAX_MB", "5")
    with pytest.raises(
        DataError,
        match=r"member 'model_outputs_Qwen1\.5-7B-Chat_5shots\.json': 15\.7 MB, more "
        r"than the 5\.0 MB an import may read \(set HARNESS_IMPORT_MAX_MB",
    ):
        task.import_completions(shared_data / PUBLISHED_ZIP, loaded)
    monkeypatch.setenv("HARNESS_IMPORT_MAX_MB", "1")
    with pytest.raises(DataError, match=r"more than the 1\.0 MB an import may read"):
        task.import_completions(shared_data / PUBLISHED_FOLDER / "biology_result.json", loaded)
    monkeypatch.delenv("HARNESS_IMPORT_MAX_MB")
    monkeypatch.setenv("HARNESS_IMPORT_MAX_FILES", "3")
    with pytest.raises(
        DataError, match=r"14 files, more than the 3 an import may read.*HARNESS_IMPORT_MAX_FILES"
    ):
        task.import_completions(shared_data / PUBLISHED_FOLDER, loaded)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for number in range(5):
            archive.writestr(f"part{number}.json", "[]")
    with pytest.raises(DataError, match=r"many\.zip: 5 files, more than the 3 an import may read"):
        task.import_completions(many, loaded)
    monkeypatch.setenv("HARNESS_IMPORT_MAX_FILES", "many")
    with pytest.raises(ConfigError, match="HARNESS_IMPORT_MAX_FILES='many': give a positive whole number"):
        task.import_completions(shared_data / PUBLISHED_FOLDER, loaded)
    monkeypatch.delenv("HARNESS_IMPORT_MAX_FILES")
    # JSON nested past what the parser takes is an error about the file, not a RecursionError.
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(DataError, match="nested too deeply"):
        task.import_completions(nested, loaded)
    with pytest.raises(DataError, match="nested too deeply"):
        LiveCodeBench().import_completions(nested, loaded)


# --- terminal-safe output -------------------------------------------------------------------------

# An OSC title change, clear screen and colour, a carriage return and backspaces that overwrite what was
# printed, a C1 CSI, bidi overrides, rich markup and an emoji code.
PAYLOAD = (
    "\x1b]0;pwned title\x07\x1b[2J\x1b[31mred\x1b[0m safe\rOVERWRITTEN\x08\x08X "
    "\u202eevil\u202c \u2066iso\u2069 \x9b31m [bold red]markup[/] [/nope] :smile:"
)
RAW = ("\x1b", "\x07", "\x08", "\r", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069")
VISIBLE = (
    "\\x1b]0;pwned title\\x07\\x1b[2J\\x1b[31mred\\x1b[0m safe\\rOVERWRITTEN\\x08\\x08X",
    "\\u202eevil\\u202c \\u2066iso\\u2069 \\x9b31m [bold red]markup[/] [/nope] :smile:",
)


def mock_entry(models: Path) -> ModelEntry:
    return get_entry(load_models(models), "mock-entry")


@pytest.fixture(scope="module")
def mock_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "models.yaml"
    path.write_text(models_yaml(MODELS_FILE) + MOCK_ENTRY, encoding="utf-8")
    return path


def write_payload_run(runs: Path, data: Path, task: Task, entry: ModelEntry) -> RunDir:
    """A stored run whose completions, reasoning, errors and notes carry terminal escape sequences."""
    options = RunOptions(runs_root=runs, data_dir=data, limit=3)
    plan = plan_run(task, entry, options)
    plan.notes.append("note " + PAYLOAD)
    records = {}
    for number, item in enumerate(plan.items):
        record = SampleRecord(
            sample_id=item.sample.id,
            category=item.sample.category,
            prompt=item.prompt,
            completion=Completion(
                text=PAYLOAD,
                reasoning=PAYLOAD,
                error=PAYLOAD if number == 2 else None,
                latency_s=0.1,
            ),
        )
        records[item.key] = score_inline(task, record, ScoringContext())
    run_dir = RunDir.for_spec(runs, task.name, entry.id, plan.spec.spec_hash())
    with run_dir.lock():
        write_run(run_dir, build_result(plan, records, max_error_rate=1.0), list(records.values()))
    return run_dir


def test_show_and_ls_print_model_text_without_interpreting_it(
    tmp_path: Path, shared_data: Path, mmlu_0shot: Task, mock_models: Path
) -> None:
    runs = tmp_path / "runs"
    run_dir = write_payload_run(runs, shared_data, mmlu_0shot, mock_entry(mock_models))
    env = {"COLUMNS": "2000", "HARNESS_MODELS": str(mock_models)}
    shown = run_cli("show", run_dir.spec_hash, "--runs", str(runs), env=env)
    assert shown.returncode == 0, shown.stderr
    for raw in RAW:
        assert raw not in shown.stdout, repr(raw)
    for visible in VISIBLE:
        assert shown.stdout.count(visible) >= 5  # the notes, and each sample's completion and reasoning
    assert "error: " + VISIBLE[0] in shown.stdout
    # An error message quoting a path of the user's is printed the same way (and its markup cannot break
    # the printer).
    odd_root = tmp_path / "\x1b]0;pwned\x07[/nope]"
    failed = run_cli("show", "nothing", "--runs", str(odd_root), env=env)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "\x1b" not in failed.stderr and "\\x1b]0;pwned\\x07[/nope]" in failed.stderr


# --- encodings ------------------------------------------------------------------------------------

LATIN1 = "café".encode("latin-1")


def test_files_that_are_not_utf8_are_named_with_the_offset(tmp_path: Path, shared_data: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_bytes(b"title: Caf\xe9 board\nentries: [smollm2]\ntasks: [{id: mmlu_pro}]\n")
    listed = run_cli("board", "show", str(board), "--runs", str(tmp_path))
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    message = " ".join(listed.stderr.split())
    assert f"{board}: not UTF-8 text: byte 0xe9 at byte offset 10 (line 1)" in message
    outputs = tmp_path / "model_outputs_x_5shots.json"
    outputs.write_bytes(b'[{"question_id": 70, "model_outputs": "The answer is (A). ' + LATIN1 + b'"}]')
    imported = run_cli(
        "import", "mmlu_pro", str(outputs), "--entry", "x", "--data-dir", str(shared_data), "--runs",
        str(tmp_path / "runs"),
    )  # fmt: skip
    assert imported.returncode == 2 and "Traceback" not in imported.stderr
    message = " ".join(imported.stderr.split())
    assert f"{outputs}: not UTF-8 text: byte 0xe9 at byte offset 61 (line 1)" in message


def test_models_data_and_run_files_that_are_not_utf8(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_bytes(b"default_entry: a\nentries:\n  a:\n    display_name: " + LATIN1 + b"\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text: byte 0xe9 at byte offset 52 \(line 4\)"):
        load_models(models)
    folder = tmp_path / "data" / "livecodebench"
    folder.mkdir(parents=True)
    (folder / "problems.jsonl").write_bytes(
        b'{"question_id": "a"}\n\n{"question_title": "' + LATIN1 + b'"}\n'
    )
    with pytest.raises(
        DataError, match=r"problems\.jsonl: not UTF-8 text: byte 0xe9 at byte offset 45 \(line 3\)"
    ):
        LiveCodeBench().load(tmp_path / "data")
    run = RunDir(tmp_path / "runs" / "t" / "e" / "h")
    run.path.mkdir(parents=True)
    run.run_path.write_bytes(b'{"spec": "' + LATIN1 + b'"}')
    with pytest.raises(StoreError, match=r"run\.json: not UTF-8 text: byte 0xe9 at byte offset 13"):
        run.read_result()


# --- numeric options ------------------------------------------------------------------------------


def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    result = run_cli("run", "-t", "mmlu_pro", "--epochs", "0", "--runs", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Invalid value for '--epochs'" in result.stderr
    result = run_cli("ls", "--no-such-option")
    assert result.returncode == 2 and "Traceback" not in result.stderr and "No such option" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["run", "-t", "none", "--epochs", "0"], "--epochs"),
        (["run", "-t", "none", "--max-tokens", "-1"], "--max-tokens"),
        (["run", "-t", "none", "--temperature", "-1"], "--temperature"),
        (["run", "-t", "none", "--temperature", "inf"], "--temperature"),
        (["run", "-t", "none", "--top-p", "nan"], "--top-p"),
        (["run", "-t", "none", "--max-error-rate", "7"], "--max-error-rate"),
        (["run", "-t", "none", "--limit", "0"], "--limit"),
        (["run", "-t", "none", "--workers", "0"], "--workers"),
        (["run", "-t", "none", "--max-cost", "-1"], "--max-cost"),
        (["run", "-t", "none", "--seed", "-1"], "--seed"),
        (["score", "x", "--workers", "0"], "--workers"),
        (["import", "mmlu_pro", "x", "--workers", "0"], "--workers"),
        (["board", "populate", "b.yaml", "--limit", "0"], "--limit"),
        (["board", "populate", "b.yaml", "--epochs", "0"], "--epochs"),
        (["board", "populate", "b.yaml", "--max-tokens", "-1"], "--max-tokens"),
        (["site", "build", "b.yaml", "--shard-size", "0"], "--shard-size"),
        (["site", "serve", "--port", "70000"], "--port"),
        (["show", "x", "--samples", "-1"], "--samples"),
    ],
)
def test_numeric_options_are_range_checked(
    args: list[str], option: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["harness", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert f"Invalid value for '{option}'" in " ".join(capsys.readouterr().err.split())


def test_task_options_are_range_checked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["harness", "run", "-t", "livecodebench", "-T", "test_timeout=0"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "test_timeout: Input should be greater than 0" in " ".join(capsys.readouterr().err.split())


# --- site builds clean up -------------------------------------------------------------------------

SITE_BOARD = f"""title: Cleanup
models: models.yaml
entries: [{HOSTILE_ENTRY}, smollm2]
tasks:
  - id: mmlu_pro
"""


def wait_for(condition: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_killed_site_builds_leave_nothing_behind(
    tmp_path: Path, shared_data: Path, mock_models: Path
) -> None:
    (tmp_path / "models.yaml").write_text(mock_models.read_text(encoding="utf-8"), encoding="utf-8")
    board = tmp_path / "board.yaml"
    board.write_text(SITE_BOARD, encoding="utf-8")
    runs, site = tmp_path / "runs", tmp_path / "site"
    hostile = get_entry(load_models(tmp_path / "models.yaml"), HOSTILE_ENTRY)
    run_dir = write_hostile_run(runs, shared_data, hostile, limit=3)
    build = ("site", "build", str(board), "--runs", str(runs), "-o", str(site))
    assert run_cli(*build).returncode == 0
    index = (site / "index.html").read_bytes()
    # A build that blocks while reading the run's records (a FIFO in their place), stopped by a signal.
    records = run_dir.samples_path.read_bytes()
    run_dir.samples_path.unlink()
    os.mkfifo(run_dir.samples_path)

    def stopped_build(sig: signal.Signals) -> tuple[int, str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *build], cwd=REPO, env=cli_env(), stderr=subprocess.PIPE
        )
        staging = tmp_path / f".site.building-{process.pid}"
        wait_for(staging.is_dir)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
        return process.returncode, stderr.decode("utf-8", "replace")

    code, stderr = stopped_build(signal.SIGTERM)
    assert code == 130 and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == []
    assert (site / "index.html").read_bytes() == index  # the previous build is untouched
    code, _ = stopped_build(signal.SIGKILL)
    assert code == -signal.SIGKILL
    (left,) = [p for p in tmp_path.iterdir() if p.name.startswith(".site.building-")]
    # A live process's build folder is a build in progress: it is kept.
    in_progress = tmp_path / f".site.building-{os.getpid()}"
    in_progress.mkdir()
    run_dir.samples_path.unlink()
    run_dir.samples_path.write_bytes(records)
    rebuilt = run_cli(*build)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not left.exists() and in_progress.is_dir()
    assert f"removed 1 folder(s) left by site builds that were killed: {left.name}" in " ".join(
        rebuilt.stderr.split()
    )


# --- nothing on disk is invisible -----------------------------------------------------------------


class StopsScoring(MMLUPro):
    """MMLU-Pro whose scoring is interrupted (as by Ctrl-C) after `after` answers."""

    loaded: ClassVar[dict[tuple[int, Path | None], LoadedData]] = {}

    def __init__(self, after: int, *, shots: int = 5) -> None:
        super().__init__(shots=shots)
        self.after = after

    def load(self, data_dir: Path | None) -> LoadedData:
        if (self.shots, data_dir) not in self.loaded:
            self.loaded[(self.shots, data_dir)] = super().load(data_dir)
        return self.loaded[(self.shots, data_dir)]

    def score(self, prompt: Prompt, completion: Completion, context: ScoringContext) -> Score:
        if self.after == 0:
            raise KeyboardInterrupt
        self.after -= 1
        return super().score(prompt, completion, context)


def to_complete(listing: str) -> dict[str, str]:
    """The commands `harness ls` prints under `to complete:`, by run (one line each)."""
    commands = {}
    for line in listing.split("to complete:\n", 1)[1].splitlines():
        run, _, command = line.strip().partition(": ")
        commands[run] = command
    return commands


def test_an_interrupted_import_is_listed_with_the_command_that_completes_it(
    tmp_path: Path, shared_data: Path
) -> None:
    runs = tmp_path / "runs"
    source = tmp_path / "model_outputs_sample_5shots.json"
    with zipfile.ZipFile(shared_data / PUBLISHED_ZIP) as archive:
        source.write_text(json.dumps(json.loads(archive.read(archive.namelist()[0]))[:6]), encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        import_run(StopsScoring(after=3), source, "sample", RunOptions(runs_root=runs, data_dir=shared_data))
    (run_dir,) = iter_runs(runs)
    assert run_dir.read_result().status == "partial"
    listing = run_cli("ls", "--runs", str(runs), env={"COLUMNS": "2000"})
    assert listing.returncode == 0, listing.stderr
    command = to_complete(listing.stdout)[run_dir.relative()]
    assert command == shlex.join(
        ["harness", "import", "mmlu_pro", str(source), "--entry", "sample", "--data-dir", str(shared_data),
         "--runs", str(runs)]
    )  # fmt: skip
    completed = run_cli(*shlex.split(command)[1:])
    assert completed.returncode == 0, completed.stderr
    assert [r.path for r in iter_runs(runs)] == [run_dir.path]
    assert run_dir.read_result().status == "complete"
    assert "to complete" not in run_cli("ls", "--runs", str(runs)).stdout


def test_an_interrupted_run_is_listed_with_the_command_that_completes_it(
    tmp_path: Path, shared_data: Path, mock_models: Path
) -> None:
    runs = tmp_path / "runs"
    options = RunOptions(runs_root=runs, data_dir=shared_data, limit=4, epochs=2, seed=3,
                         generation={"max_tokens": 64})  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        execute(plan_run(StopsScoring(after=3, shots=0), mock_entry(mock_models), options), options)
    (run_dir,) = iter_runs(runs)
    assert run_dir.read_result().counts.scored == 3
    env = {"COLUMNS": "2000", "HARNESS_MODELS": str(mock_models)}
    listing = run_cli("ls", "--runs", str(runs), env=env)
    command = to_complete(listing.stdout)[run_dir.relative()]
    assert command == shlex.join(
        ["harness", "run", "-t", "mmlu_pro_0shot", "-m", "mock-entry", "--limit", "4", "--epochs", "2",
         "--seed", "3", "--max-tokens", "64", "-T", "protocol=api", "--data-dir", str(shared_data),
         "--runs", str(runs)]
    )  # fmt: skip
    completed = run_cli(*shlex.split(command)[1:], env=env)
    assert completed.returncode == 0, completed.stderr
    assert "reused 3" in " ".join(completed.stdout.split())
    assert [r.path for r in iter_runs(runs)] == [run_dir.path]
    result = run_dir.read_result()
    assert result.status == "complete" and result.counts.scored == 8


def test_run_directories_without_a_readable_run_file_are_listed(
    tmp_path: Path, shared_data: Path, mmlu_0shot: Task, mock_models: Path
) -> None:
    runs = tmp_path / "runs"
    entry = mock_entry(mock_models)
    # An import stopped between its records and its run.json, as imports did before writing run.json
    # first: complete records, no run.json.
    imported = RunDir.for_spec(runs, "mmlu_pro", "old-import", "0123456789ab")
    imported.rewrite_records(
        SampleRecord(sample_id=str(n), prompt=Prompt(messages=[], target="A"),
                     completion=Completion(text="The answer is (A).", model="model_outputs_X_5shots"))
        for n in range(5)
    )  # fmt: skip
    # A run whose run.json is damaged (not even UTF-8), and one stopped before it saved anything.
    damaged = write_payload_run(runs, shared_data, mmlu_0shot, entry)
    damaged.run_path.write_bytes(b'{"spec": "' + LATIN1 + b'"}')
    empty = RunDir.for_spec(runs, "mmlu_pro", "mock-entry", "ba9876543210")
    empty.path.mkdir(parents=True)
    empty.samples_path.write_bytes(b"")
    listing = run_cli("ls", "--runs", str(runs), env={"COLUMNS": "2000", "HARNESS_MODELS": str(mock_models)})
    assert listing.returncode == 0, listing.stderr
    text = " ".join(listing.stdout.split())
    assert "interrupted (no run.json) │ 5 saved" in text and "unreadable: " in text
    assert "not UTF-8 text: byte 0xe9 at byte offset 13" in text
    commands = to_complete(listing.stdout)
    assert commands[imported.relative()].startswith(
        shlex.join(["harness", "import", "mmlu_pro", "FILE", "--entry", "old-import", "--runs", str(runs)])
        + ", where FILE is the published outputs it was importing ('model_outputs_X_5shots')"
    )
    assert commands[damaged.relative()].startswith(
        f"its run.json is damaged: delete {damaged.run_path}, then "
    )
    assert "harness run -t mmlu_pro_0shot -m mock-entry" in commands[damaged.relative()]
    assert commands[empty.relative()].startswith("nothing readable was saved before it stopped")
