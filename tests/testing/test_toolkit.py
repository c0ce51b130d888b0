"""The toolkit end to end, on memory and on Azurite: fixtures, virtual time, stubs, history, entities."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from host.errors import InvocationError
from host.testing import AppHost, DurableClient, activity_names

APP = Path(__file__).parent / "apps" / "toolkit"
pytestmark = pytest.mark.funchost(app_dir=str(APP))


async def test_chain_runs_with_app_settings_and_records_every_activity_call(func_app: AppHost) -> None:
    status = await func_app.run("chain", ["A", "B", "C", "D", "E"], expect="Completed")
    assert func_app.output(status) == ["Hello A", "Hello B", "Hello C", "Hello D", "Hello E"]
    calls = func_app.calls("greet")
    assert [c.input for c in calls] == ["A", "B", "C", "D", "E"]
    assert all(c.succeeded and not c.stubbed for c in calls)
    assert calls[0].result == "Hello A"


async def test_history_reads_as_typed_events(func_app: AppHost) -> None:
    status = await func_app.run("chain", ["X", "Y"], expect="Completed")
    history = await func_app.history(status.instance_id)
    assert activity_names(history) == ["greet", "greet"]
    types = [e.type for e in history]
    assert types[:2] == ["OrchestratorStarted", "ExecutionStarted"]
    assert types[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]
    completed = [e for e in history if e.type == "TaskCompleted"]
    assert [e.result for e in completed] == ["Hello X", "Hello Y"]
    assert [e.input for e in history if e.type == "TaskScheduled"] == ["X", "Y"]


async def test_approval_times_out_after_72_virtual_hours(func_app: AppHost) -> None:
    virtual_start = func_app.now()  # how fast 72 virtual hours run is measured in bench/testing_toolkit.py
    status = await func_app.run("approval", expect="Completed")
    assert func_app.output(status) == "escalated: no answer in 72 hours"
    assert func_app.now() - virtual_start >= timedelta(hours=72)
    assert [c.name for c in func_app.calls()] == ["escalate"]


async def test_approval_in_time_takes_the_approved_path(func_app: AppHost) -> None:
    iid = await func_app.start("approval")
    await func_app.advance(hours=24)
    await func_app.raise_event(iid, "Approval", "alice")
    status = await func_app.wait(iid)
    assert func_app.output(status) == "approved by alice"
    assert func_app.now() - (await func_app.history(iid))[0].timestamp < timedelta(hours=25)  # type: ignore[operator]
    assert [c.name for c in func_app.calls()] == ["record"]


@pytest.mark.funchost(auto_advance=False)
async def test_manual_advance_fires_the_timer_exactly_at_its_time(func_app: AppHost) -> None:
    iid = await func_app.start("approval")
    await func_app.advance(hours=71, minutes=59)
    status = await func_app.durable_client.get_status(iid)
    assert status is not None and status.runtime_status == "Running"
    await func_app.advance(minutes=1)
    status = await func_app.wait(iid, timeout=10)
    assert func_app.output(status) == "escalated: no answer in 72 hours"


async def test_stub_replaces_an_activity_and_records_its_inputs(func_app: AppHost) -> None:
    stub = func_app.stub("escalate", lambda reason: f"paged on-call: {reason}")
    status = await func_app.run("approval", expect="Completed")
    assert func_app.output(status) == "paged on-call: no answer in 72 hours"
    assert stub.calls == ["no answer in 72 hours"]
    assert func_app.calls("escalate")[0].stubbed


async def test_stub_with_a_fixed_result_and_retries_on_virtual_time(func_app: AppHost) -> None:
    attempts: list[str] = []

    def flaky(value: str) -> str:
        attempts.append(value)
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)} failed")
        return "third time lucky"

    func_app.stub("flaky", flaky)
    began = func_app.now()
    status = await func_app.run("flaky_chain", expect="Completed")
    assert func_app.output(status) == "third time lucky"
    assert attempts == ["x", "x", "x"]
    assert func_app.now() - began >= timedelta(minutes=2)  # two 60 s back-offs, skipped
    assert [c.succeeded for c in func_app.calls("flaky")] == [False, False, True]
    func_app.stub("greet", result="stubbed")
    out = await func_app.run("chain", ["A", "B"], expect="Completed")
    assert func_app.output(out) == ["stubbed", "stubbed"]


async def test_stub_of_an_unknown_activity_names_the_known_ones(func_app: AppHost) -> None:
    with pytest.raises(Exception, match="greet"):
        func_app.stub("no_such_activity", result=1)


async def test_timer_trigger_fires_on_virtual_time(func_app: AppHost) -> None:
    assert func_app.invocations("hourly") == []
    await func_app.advance(hours=3)
    assert func_app.invocations("hourly") == ["hourly"] * 3


async def test_entities_are_signalled_and_read(func_app: AppHost, durable_client: DurableClient) -> None:
    status = await func_app.run("count_to", {"key": "k1", "n": 3}, expect="Completed")
    assert func_app.output(status) == 3
    await durable_client.signal_entity("counter", "k1", "add", 10)
    await func_app.settle()
    assert await durable_client.read_entity_state("counter", "k1") == (True, 13)
    assert await durable_client.read_entity_state("counter", "nobody") == (False, None)
    # entity batches are invocations of the entity function, like any trigger's
    assert func_app.invocations("counter")
    assert func_app.invocations().count("counter") == len(func_app.invocations("counter"))


async def test_http_starter_uses_the_sdk_client_in_process(
    func_client: httpx.AsyncClient, durable_client: DurableClient
) -> None:
    resp = await func_client.post("/api/start/chain", json=["Q"])
    assert resp.status_code == 202
    payload = resp.json()
    status = await durable_client.wait_for_completion(payload["id"])
    assert status.output == '["Hello Q"]'
    check = await func_client.get(payload["statusQueryGetUri"])
    assert check.status_code == 200 and check.json()["runtimeStatus"] == "Completed"


async def test_replay_check_of_an_unchanged_app_passes(func_app: AppHost) -> None:
    status = await func_app.run("approval", expect="Completed")
    assert await func_app.durable_client.replay_check(status.instance_id) is None


async def test_events_held_while_suspended_show_once_delivered(func_app: AppHost) -> None:
    iid = await func_app.start("approval")
    await func_app.settle()
    await func_app.management.suspend(iid, "hold on")
    await func_app.raise_event(iid, "Approval", "carol")
    await func_app.settle()
    raw = await func_app.management.get_history(iid)
    assert 17 in [e["EventType"] for e in raw]  # the engine's durable record of the held event
    assert "EventRaised" not in [e.type for e in await func_app.history(iid)]
    assert "GenericEvent" not in [e.type for e in await func_app.history(iid)]
    await func_app.management.resume(iid, "go")
    status = await func_app.wait(iid)
    assert func_app.output(status) == "approved by carol"
    types = [e.type for e in await func_app.history(iid)]
    assert types.count("EventRaised") == 1 and "GenericEvent" not in types


async def test_starting_an_unknown_orchestrator_names_the_ones_the_app_has(func_app: AppHost) -> None:
    with pytest.raises(InvocationError, match="no orchestrator function named 'no_such'") as raised:
        await func_app.start("no_such")
    assert "approval" in str(raised.value) and "chain" in str(raised.value)
    with pytest.raises(InvocationError, match="'no_such'"):
        await func_app.durable_client.start_new("no_such")
