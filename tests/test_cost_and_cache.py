"""Cost accounting (checked against a hand computation), the spending limit's arithmetic, and the
request cache."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from harness.backends import ModelClient, make_client
from harness.cache import RequestCache, default_cache_path, request_key
from harness.config import ModelEntry, Price
from harness.cost import Budget, SpendGuard, completion_cost, usage_cost
from harness.runner import ClientPool, execute, plan_run
from harness.store import latest_records
from harness.task import Task
from harness.types import Completion, GenerationConfig, GenerationRequest, Message, Usage
from tasks.mmlu_pro import MMLUPro
from tests.api_support import PRICE, api_entry, run_options, write_models
from tests.conftest import run_cli
from tests.fault_server import FaultServer

# 1234 prompt tokens of which 1000 cached, 56 output tokens, at $2.5 / $1.25 (cached) / $10 per million:
# (234 * 2.5 + 1000 * 1.25 + 56 * 10) / 1e6 = (585 + 1250 + 560) / 1e6
HAND_COMPUTED_USD = 0.002395


def test_cost_equals_the_hand_computation_in_records_run_ls_and_show(
    fault_server: FaultServer, shared_data: Path, tmp_path: Path
) -> None:
    fault_server.usage.prompt_tokens = 1234
    fault_server.usage.cached_tokens = 1000
    fault_server.usage.completion_tokens = 56
    entry = api_entry(fault_server)
    models = write_models(tmp_path / "models.yaml", entry)
    output = tmp_path / "results"

    ran = run_cli(
        "run", "-t", "mmlu_pro_0shot", "--limit", "5", "--max-tokens", "64", "--models", str(models),
        "--data-dir", str(shared_data), "-o", str(output),
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert "cost $0.0120 (this command $0.0120)" in " ".join(ran.stdout.split())
    (run_path,) = output.glob("mmlu_pro_0shot/fault-api/*/run.json")
    from harness.store import RunDir

    run = RunDir(run_path.parent)
    result = run.read_result()
    records = list(latest_records(run.read_records()).values())
    assert len(records) == 5
    for record in records:
        assert record.completion.cost_usd == pytest.approx(HAND_COMPUTED_USD, abs=1e-12)
    assert result.cost_usd == pytest.approx(5 * HAND_COMPUTED_USD, abs=1e-12)
    assert result.usage == Usage(input_tokens=5 * 1234, output_tokens=5 * 56, cached_input_tokens=5000)

    listed = run_cli("ls", "-o", str(output))
    assert "$0.0120" in listed.stdout
    shown = run_cli("show", result.spec_hash, "--samples", "2", "-o", str(output))
    assert "cost $0.0120" in shown.stdout and "$0.0024" in shown.stdout
    assert "tokens in 6,170 (cached 5,000) · out 280" in shown.stdout


def test_usage_cost_formula() -> None:
    usage = Usage(input_tokens=1234, cached_input_tokens=1000, output_tokens=56)
    assert usage_cost(usage, PRICE) == pytest.approx(HAND_COMPUTED_USD, abs=1e-15)
    no_cached_price = Price(input_per_mtok=3.0, output_per_mtok=15.0, as_of=date(2026, 1, 1))
    # Without a cached price, cached tokens are billed at the input price.
    assert usage_cost(usage, no_cached_price) == pytest.approx((1234 * 3.0 + 56 * 15.0) / 1e6)
    assert completion_cost(Completion(text="x", usage=usage, cached=True), PRICE) == 0.0
    assert completion_cost(Completion(text="x", usage=usage, usage_missing=True), PRICE) is None
    assert completion_cost(Completion(text="x", usage=usage), None) is None


def request(chars: int, max_tokens: int) -> GenerationRequest:
    return GenerationRequest(
        messages=[Message(role="user", content="x" * chars)], config=GenerationConfig(max_tokens=max_tokens)
    )


def test_budget_reserves_the_worst_case_and_settles_the_actual_cost() -> None:
    price = Price(input_per_mtok=1.0, output_per_mtok=10.0, as_of=date(2026, 1, 1))
    budget = Budget(limit_usd=0.05)
    requests = [request(2000, 1000) for _ in range(10)]
    guard = SpendGuard(budget, price, requests)
    # Before any response the input is bounded by its bytes plus 8 template tokens: 2008 tokens,
    # $0.002008; 1000 output tokens cost $0.01: the worst case is $0.012008.
    assert budget.worst_case(requests[0], price) == pytest.approx(0.012008)
    assert guard.admit([0]) and guard.admit([1]) and guard.admit([2]) and guard.admit([3])
    assert budget.reserved_usd == pytest.approx(4 * 0.012008)
    # A fifth fits once the calls in flight settle: not yet.
    assert guard.admit([4]) is None and not budget.refused
    actual = Completion(text="4", usage=Usage(input_tokens=1500, output_tokens=20))
    guard.settle(0, actual)
    assert budget.spent_usd == pytest.approx(0.0017)
    assert budget.reserved_usd == pytest.approx(3 * 0.012008)
    # Later estimates use 1.25 x the densest ratio seen: 1500 tokens / 2000 bytes -> 1875 tokens.
    assert budget.input_bound(requests[1]) == pytest.approx(1875)
    assert budget.worst_case(requests[1], price) == pytest.approx(0.011875)
    # A response without token counts is charged its reservation.
    guard.settle(1, Completion(text="?", usage_missing=True))
    assert budget.spent_usd == pytest.approx(0.0017 + 0.012008)
    assert guard.admit([4]) is True
    # One that cannot fit even with nothing in flight stops the command.
    huge = SpendGuard(budget, price, [request(2000, 10_000)])
    assert huge.admit([0]) is False and budget.refused
    assert guard.admit([5]) is False  # once refused, the command sends nothing more


def test_spending_limit_holds_at_high_concurrency(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    # Eight calls go out before the first answer, so the first wave is reserved from the prompts'
    # bytes alone; the server bills a realistic 0.3 tokens per byte, as a BPE tokenizer would.
    fault_server.usage.prompt_tokens_per_byte = 0.3
    entry = api_entry(fault_server, concurrency=8)
    budget = Budget(limit_usd=0.012)
    options = run_options(tmp_path, shared_data, limit=16, budget=budget)
    outcome = execute(plan_run(mmlu_0shot, entry, options), options)
    # Only four bytes-bounded reservations fit at first; later calls waited for them to settle and
    # were reserved from the learned density, so more went out, but never past the limit.
    assert budget.refused and 4 < outcome.generated < 16 and outcome.not_sent == 16 - outcome.generated
    assert budget.spent_usd <= 0.012
    assert outcome.cost_usd == pytest.approx(budget.spent_usd)
    assert outcome.result.status == "partial"


def test_cache_answers_repeated_requests_and_costs_nothing(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    entry = api_entry(fault_server)
    small = run_options(tmp_path, shared_data, limit=6)
    first = execute(plan_run(mmlu_0shot, entry, small), small)
    assert first.generated == 6 and first.cached == 0 and len(fault_server.requests) == 6

    # A larger subset is a different run; the six prompts it shares are answered from the cache.
    larger = run_options(tmp_path, shared_data, limit=8)
    second = execute(plan_run(mmlu_0shot, entry, larger), larger)
    assert second.run_dir != first.run_dir
    assert second.generated == 2 and second.cached == 6 and len(fault_server.requests) == 8
    records = latest_records(second.run_dir.read_records()).values()
    cached = [r for r in records if r.completion.cached]
    assert len(cached) == 6 and all(r.completion.cost_usd == 0.0 and r.score is not None for r in cached)
    assert second.result.counts.cached == 6
    assert second.result.cost_usd == pytest.approx(2 * 0.003)

    # A new task version with unchanged prompts costs nothing.
    revised = MMLUPro(shots=0)
    revised.version = MMLUPro.version + ".next"

    def no_model(entry: ModelEntry) -> ModelClient:
        raise AssertionError("the cache answers everything; no client is needed")

    third = execute(plan_run(revised, entry, larger), larger, client_factory=no_model)
    assert third.run_dir not in (first.run_dir, second.run_dir)
    assert third.cached == 8 and third.generated == 0 and len(fault_server.requests) == 8
    assert third.result.status == "complete" and third.result.cost_usd == 0.0

    # --no-cache asks the model again.
    uncached = run_options(tmp_path / "other", shared_data, limit=6, use_cache=False)
    execute(plan_run(mmlu_0shot, entry, uncached), uncached)
    assert len(fault_server.requests) == 14
    assert not default_cache_path(tmp_path / "other").exists()


def test_one_client_serves_every_run_of_a_command(
    fault_server: FaultServer, mmlu_0shot: Task, shared_data: Path, tmp_path: Path
) -> None:
    made: list[str] = []

    def counting(entry: ModelEntry) -> ModelClient:
        made.append(entry.id)
        return make_client(entry)

    entry = api_entry(fault_server)
    with ClientPool(counting) as pool:
        for limit in (2, 3):
            options = run_options(tmp_path, shared_data, limit=limit, use_cache=False)
            assert (
                execute(plan_run(mmlu_0shot, entry, options), options, client_factory=pool).generated == limit
            )
    assert made == ["fault-api"]
    assert len(fault_server.requests) == 5


def test_cache_key_covers_what_changes_the_answer(fault_server: FaultServer) -> None:
    entry = api_entry(fault_server)
    base = request(100, 64)
    key = request_key(entry, base, 0)
    assert key == request_key(entry, request(100, 64), 0)
    assert key != request_key(entry, base, 1)  # another repeat of the sample
    assert key != request_key(entry, request(101, 64), 0)  # other messages
    assert key != request_key(entry, request(100, 65), 0)  # other decoding
    assert key != request_key(entry.model_copy(update={"model": "other"}), base, 0)
    assert key != request_key(entry.model_copy(update={"id": "other-entry"}), base, 0)
    assert key != request_key(entry.model_copy(update={"backend_options": {"max_n": 2}}), base, 0)


def test_cache_stores_only_successes_and_survives_a_corrupt_row(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path / "c.sqlite")
    cache.put("good", Completion(text="A", usage=Usage(input_tokens=3), cost_usd=0.1))
    cache.put("bad", Completion(text="", error="HTTP 500"))
    assert len(cache) == 1
    cache.close()
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        db.execute("INSERT INTO completions (key, completion) VALUES ('torn', '{not json')")
    cache = RequestCache(tmp_path / "c.sqlite")
    found = cache.get_many(["good", "bad", "torn", "missing"])
    assert list(found) == ["good"]
    assert found["good"].cached and found["good"].cost_usd == 0.0 and found["good"].usage.input_tokens == 3
    cache.close()
