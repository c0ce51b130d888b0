"""The sample app (the repo's function_app.py), tested with the toolkit on memory and on Azurite.

Every durable pattern runs start to finish in-process; the monitor's polling timers and the
approval's 72-hour timer are skipped on the virtual clock, so the whole file takes seconds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from host.testing import AppHost, DurableClient

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.funchost(app_dir=str(ROOT))


async def test_hello_over_http(func_client: httpx.AsyncClient) -> None:
    resp = await func_client.get("/api/hello/Ada")
    assert resp.status_code == 200 and resp.text == "Hello, Ada!"


async def test_chaining_started_over_http(
    func_app: AppHost, func_client: httpx.AsyncClient, durable_client: DurableClient
) -> None:
    order = {"id": "o-7", "items": {"fig": 2, "kiwi": 0}}
    resp = await func_client.post("/api/patterns/chaining", json=order)
    assert resp.status_code == 202
    status = await durable_client.wait_for_completion(resp.json()["id"])
    assert func_app.output(status) == "Order o-7 confirmed (R-o-7-2)"
    assert [c.name for c in func_app.calls()] == ["validate_order", "reserve_stock", "send_confirmation"]
    assert func_app.calls("reserve_stock")[0].input == {"id": "o-7", "items": {"fig": 2}}


async def test_chaining_fails_on_an_empty_order(func_app: AppHost) -> None:
    status = await func_app.run("order_pipeline", {"id": "empty", "items": {}})
    assert status.runtime_status == "Failed"
    assert "has no items" in (status.output or "")


async def test_fan_out_fan_in_counts_every_document(func_app: AppHost) -> None:
    docs = ["one two", "three", "four five six"]
    status = await func_app.run("word_count", docs, expect="Completed")
    assert func_app.output(status) == {"documents": 3, "words": 6}
    assert sorted(c.input for c in func_app.calls("count_words")) == sorted(docs)


async def test_monitor_polls_on_virtual_time_until_the_job_is_done(func_app: AppHost) -> None:
    answers = iter(["running", "running", "done"])
    check = func_app.stub("check_job", lambda job: next(answers))
    began = func_app.now()
    job = {"job_id": "j1", "poll_seconds": 30, "expiry_seconds": 300}
    status = await func_app.run("job_monitor", job, expect="Completed")
    assert func_app.output(status) == {"job": "j1", "status": "done", "checks": 3}
    assert check.call_count == 3
    assert func_app.now() - began >= timedelta(seconds=60)  # two 30-second polls, skipped
    assert [c.input for c in func_app.calls("notify")] == ["job j1 finished"]


async def test_monitor_gives_up_at_its_expiry(func_app: AppHost) -> None:
    func_app.stub("check_job", result="running")
    status = await func_app.run(
        "job_monitor", {"job_id": "j2", "poll_seconds": 10, "expiry_seconds": 60}, expect="Completed"
    )
    assert func_app.output(status) == {"job": "j2", "status": "expired", "checks": 6}
    assert func_app.calls("notify") == []


async def test_approval_received_in_time(func_app: AppHost) -> None:
    iid = await func_app.start("approval_request", {"subject": "laptop", "amount": 900})
    await func_app.advance(hours=48)
    await func_app.raise_event(iid, "Approval", "alice")
    status = await func_app.wait(iid)
    assert func_app.output(status) == {"approved": True, "by": "alice"}
    assert func_app.calls("escalate") == []


async def test_approval_escalates_after_72_hours(func_app: AppHost) -> None:
    virtual_start = func_app.now()  # 72 virtual hours; how fast that runs is bench/testing_toolkit.py's
    status = await func_app.run("approval_request", {"subject": "laptop", "amount": 900}, expect="Completed")
    assert func_app.output(status) == {"approved": False, "escalated_to": "manager"}
    assert func_app.now() - virtual_start >= timedelta(hours=72)
    assert [c.name for c in func_app.calls()] == ["request_approval", "escalate"]


async def test_approval_history_replays_against_the_current_code(func_app: AppHost) -> None:
    status = await func_app.run("approval_request", expect="Completed")
    history = await func_app.history(status.instance_id)
    timers = [e.type for e in history if e.type in ("TimerCreated", "TimerFired")]
    assert timers == ["TimerCreated", "TimerFired"]
    assert await func_app.durable_client.replay_check(status.instance_id) is None


async def test_aggregator_entity_over_http(func_app: AppHost, func_client: httpx.AsyncClient) -> None:
    for amount in (5, 7):
        assert (await func_client.post("/api/aggregator/cart", json=amount)).status_code == 202
    await func_app.settle()
    resp = await func_client.get("/api/aggregator/cart")
    assert resp.status_code == 200 and resp.json() == {"key": "cart", "value": 12}
