"""Every SDK client method called from a real function against the real engine (Azurite).

Each HTTP function of the test app runs one scenario with the SDK's own
``DurableOrchestrationClient`` and returns what the client methods returned; the tests assert on
those objects and on the engine's effect (statuses, outputs, history, entity state, purges).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_host_support import FLAKY_APP, served_host, unique_hub

APP = (
    FLAKY_APP
    + """


@app.entity_trigger(context_name="context")
def Counter(context):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)


async def until(client, iid, *statuses, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        st = await client.get_status(iid)
        if st.runtime_status is not None and st.runtime_status.name in statuses:
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"{iid} stayed {st.runtime_status}, wanted {statuses}")
        await asyncio.sleep(0.05)


async def error_of(call):
    try:
        await call
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def reply(out):
    return func.HttpResponse(json.dumps(out, default=str), mimetype="application/json")


@app.route(route="client/lifecycle", methods=["POST"])
@app.durable_client_input(client_name="client")
async def lifecycle(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {}
    iid = await client.start_new("approval_workflow", None, 300)
    await until(client, iid, "Running")
    out["suspend"] = await client.suspend(iid, "pause")
    out["suspended"] = (await until(client, iid, "Suspended")).runtime_status.name
    out["suspend_again"] = await error_of(client.suspend(iid, "again"))
    out["resume"] = await client.resume(iid, "go on")
    out["resumed"] = (await until(client, iid, "Running")).custom_status
    out["terminate"] = await client.terminate(iid, "enough")
    st = await until(client, iid, "Terminated")
    out["terminated"] = [st.runtime_status.name, st.output]
    out["terminate_again"] = await client.terminate(iid, "again")
    out["terminate_missing"] = await error_of(client.terminate("no-such-instance", "x"))
    out["raise_finished"] = await error_of(client.raise_event(iid, "Approval", 1))
    out["raise_missing"] = await error_of(client.raise_event("no-such-instance", "Approval", 1))
    hist = await client.get_status(iid, show_history=True)
    out["history"] = [e["EventType"] for e in hist.historyEvents]  # the SDK keeps the key as sent
    return reply(out)


@app.route(route="client/rewind", methods=["POST"])
@app.durable_client_input(client_name="client")
async def rewind(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {}
    iid = await client.start_new("flaky", None, None)
    failed = await client.wait_for_completion_or_create_check_status_response(req, iid, 20000, 50)
    out["failed"] = [failed.status_code, json.loads(failed.get_body())["runtimeStatus"]]
    out["rewind"] = await client.rewind(iid, "try again")
    st = await until(client, iid, "Completed")
    out["completed"] = st.output
    out["rewind_completed"] = await error_of(client.rewind(iid, "again"))
    out["rewind_missing"] = await error_of(client.rewind("no-such-instance", "x"))
    return reply(out)


@app.route(route="client/restart", methods=["POST"])
@app.durable_client_input(client_name="client")
async def restart(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {}
    iid = await client.start_new("hello_sequence", None, ["X"])
    await until(client, iid, "Completed")
    fresh = await client.restart(iid)
    out["fresh"] = fresh
    new_id = fresh["id"] if isinstance(fresh, dict) else fresh
    out["fresh_output"] = (await until(client, new_id, "Completed")).output
    same = await client.restart(iid, restart_with_new_instance_id=False)
    out["same_id"] = same["id"] if isinstance(same, dict) else same
    st = await until(client, iid, "Completed")
    out["same"] = [st.output, iid]
    out["restart_missing"] = await error_of(client.restart("no-such-instance"))
    return reply(out)


@app.route(route="client/entity", methods=["POST"])
@app.durable_client_input(client_name="client")
async def entity(req: func.HttpRequest, client) -> func.HttpResponse:
    eid = df.EntityId("Counter", "k1")
    before = await client.read_entity_state(eid)
    sent = [await client.signal_entity(eid, "add", 5), await client.signal_entity(eid, "add", 2)]
    deadline = time.monotonic() + 20
    while True:
        after = await client.read_entity_state(eid)
        if after.entity_state == 7 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return reply({"before": [before.entity_exists, before.entity_state], "sent": sent,
                  "after": [after.entity_exists, after.entity_state]})


@app.route(route="client/query", methods=["POST"])
@app.durable_client_input(client_name="client")
async def query(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {}
    t0 = datetime.now(timezone.utc) - timedelta(minutes=1)
    ids = [await client.start_new("hello_sequence", f"q-{i}", ["Q"]) for i in range(3)]
    for i in ids:
        await until(client, i, "Completed")
    await client.start_new("approval_workflow", "r-running", 300)
    await until(client, "r-running", "Running")
    t1 = datetime.now(timezone.utc) + timedelta(minutes=1)
    Completed, Running = df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Running
    by = await client.get_status_by(t0, t1, [Completed])
    out["by_completed"] = sorted(s.instance_id for s in by)
    out["by_running"] = [s.instance_id for s in await client.get_status_by(t0, t1, [Running])]
    out["by_prefix"] = sorted(s.instance_id for s in await client.get_status_by(instance_id_prefix="q-"))
    out["by_past"] = len(await client.get_status_by(t0 - timedelta(days=1), t0, [Completed]))
    purged = await client.purge_instance_history_by(t0, t1, [Completed])
    out["purged"] = purged.instances_deleted
    out["after"] = [bool(await client.get_status(i)) for i in ids]
    out["left"] = sorted(s.instance_id for s in await client.get_status_all())
    out["purge_none"] = (await client.purge_instance_history_by(t0, t1, [Completed])).instances_deleted
    out["purge_one"] = (await client.purge_instance_history("r-running")).instances_deleted
    out["purge_missing"] = (await client.purge_instance_history("r-running")).instances_deleted
    return reply(out)


@app.route(route="client/history", methods=["POST"])
@app.durable_client_input(client_name="client")
async def history(req: func.HttpRequest, client) -> func.HttpResponse:
    iid = await client.start_new("hello_sequence", None, ["H"])
    await until(client, iid, "Completed")
    plain = await client.get_status(iid, show_history=True)
    full = await client.get_status(iid, show_history=True, show_history_output=True)
    bare = await client.get_status(iid, show_input=False)
    done = lambda s: [e for e in s.historyEvents if e["EventType"] == "TaskCompleted"]
    return reply({"plain": [e.get("Result") for e in done(plain)],
                  "full": [e.get("Result") for e in done(full)],
                  "bare_history": getattr(bare, "historyEvents", None), "history": full.history,
                  "inputs": [full.input_, bare.input_],
                  "end": full.historyEvents[-1]})


@app.route(route="client/wait", methods=["POST"])
@app.durable_client_input(client_name="client")
async def wait(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {}
    iid = await client.start_new("hello_sequence", None, ["W"])
    t = time.monotonic()
    done = await client.wait_for_completion_or_create_check_status_response(req, iid, 15000, 50)
    out["done"] = [done.status_code, json.loads(done.get_body()), round(time.monotonic() - t, 3)]
    slow = await client.start_new("approval_workflow", None, 300)
    t = time.monotonic()
    late = await client.wait_for_completion_or_create_check_status_response(req, slow, 600, 100)
    out["late"] = [late.status_code, json.loads(late.get_body()), dict(late.headers),
                   round(time.monotonic() - t, 3)]
    await client.terminate(slow, "test over")
    return reply(out)
"""
)


@pytest.fixture
async def host(tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[tuple[str, str]]:
    hub = unique_hub("cm")
    async with served_host(tmp_path / "app", APP, azurite_connection_string, hub=hub) as (url, _):
        yield url, hub


async def _run(url: str, scenario: str) -> Any:
    async with httpx.AsyncClient(timeout=90) as c:
        r = await c.post(f"{url}/api/client/{scenario}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_suspend_resume_terminate(host: tuple[str, str]) -> None:
    out = await _run(host[0], "lifecycle")
    assert out["suspend"] is None and out["resume"] is None and out["terminate"] is None
    assert out["suspended"] == "Suspended"
    assert out["suspend_again"] is not None  # already Suspended: the extension's 500
    assert out["resumed"] == "waiting for approval"
    assert out["terminated"] == ["Terminated", "enough"]
    assert out["terminate_again"] is None  # 410: the SDK swallows it, as on Azure
    assert "no-such-instance" in out["terminate_missing"] or "404" in out["terminate_missing"]
    assert "gone" in out["raise_finished"]
    assert "No instance with ID no-such-instance found" in out["raise_missing"]
    history = out["history"]
    assert history[0] == "ExecutionStarted" and history[-2:] == ["ExecutionTerminated", "ExecutionCompleted"]
    assert history.index("ExecutionSuspended") < history.index("ExecutionResumed")
    assert history.index("ExecutionResumed") < history.index("ExecutionTerminated")


async def test_rewind_a_failed_instance(host: tuple[str, str]) -> None:
    out = await _run(host[0], "rewind")
    assert out["failed"] == [500, "Failed"]
    assert out["rewind"] is None
    assert out["completed"] == "ok after 2"
    assert "only supported on failed" in out["rewind_completed"]
    assert "No instance with ID no-such-instance found" in out["rewind_missing"]


async def test_restart_with_and_without_a_new_id(host: tuple[str, str]) -> None:
    out = await _run(host[0], "restart")
    fresh = out["fresh"]  # the extension answers 202 + check-status payload; the SDK returns it
    assert isinstance(fresh, dict) and fresh["id"] and fresh["statusQueryGetUri"].startswith(host[0])
    assert out["fresh_output"] == ["Hello X!"]
    assert out["same"][0] == ["Hello X!"] and out["same_id"] == out["same"][1]
    assert out["restart_missing"] is not None


async def test_signal_and_read_entity(host: tuple[str, str]) -> None:
    out = await _run(host[0], "entity")
    assert out["before"] == [False, None]
    assert out["sent"] == [None, None]
    assert out["after"] == [True, 7]


async def test_status_by_and_purge_by(host: tuple[str, str]) -> None:
    out = await _run(host[0], "query")
    assert out["by_completed"] == ["q-0", "q-1", "q-2"]
    assert out["by_running"] == ["r-running"]
    assert out["by_prefix"] == ["q-0", "q-1", "q-2"]
    assert out["by_past"] == 0
    assert out["purged"] == 3 and out["after"] == [False, False, False]
    assert out["left"] == ["r-running"]
    assert out["purge_none"] == 0
    assert out["purge_one"] == 1 and out["purge_missing"] == 0


async def test_status_with_history_and_history_output(host: tuple[str, str]) -> None:
    out = await _run(host[0], "history")
    assert out["plain"] == [None]
    assert out["full"] == ["Hello H!"]
    assert out["bare_history"] is None and out["history"] is None  # SDK: only .historyEvents is set
    # the client double-encodes inputs, and never sends showInput=false (falsy flags are dropped)
    assert out["inputs"] == ['["H"]', '["H"]']
    end = out["end"]
    assert end["EventType"] == "ExecutionCompleted" and end["OrchestrationStatus"] == "Completed"


async def test_wait_for_completion_both_paths(host: tuple[str, str]) -> None:
    out = await _run(host[0], "wait")
    code, body, _ = out["done"]
    assert [code, body] == [200, ["Hello W!"]]
    code, body, headers, _ = out["late"]
    assert code == 202  # the 600 ms timeout ran out: the instance waits 300 s for an approval
    assert body["statusQueryGetUri"].startswith(f"{host[0]}/runtime/webhooks/durabletask/instances/")
    assert headers["Location"] == body["statusQueryGetUri"]


async def test_http_api_start_waits_with_timeout_and_polling_interval(host: tuple[str, str]) -> None:
    url, hub = host
    base = f"{url}/runtime/webhooks/durabletask/orchestrators"
    async with httpx.AsyncClient(timeout=60) as c:
        # a 10-minute polling interval, yet the answer comes as soon as the engine finishes (a wait
        # for the next poll would run into the client's 60 s timeout)
        # a plain JSON list reaches get_input() as the list (the host encodes it as the SDK's client)
        r = await c.post(f"{base}/hello_sequence?timeout=1200&pollingInterval=600", json=["T"])
        assert r.status_code == 200 and r.json() == ["Hello T!"], r.text
        r = await c.post(f"{base}/flaky/fails-once?timeout=20&pollingInterval=5")
        assert r.status_code == 200 and r.json()["runtimeStatus"] == "Failed"
        # the instance waits 300 s for an approval: the 0.4 s timeout runs out first
        r = await c.post(f"{base}/approval_workflow/waits?timeout=0.4&pollingInterval=0.1", json="300")
        assert r.status_code == 202
        assert r.json()["id"] == "waits" and r.headers["Location"] == r.json()["statusQueryGetUri"]
        assert f"taskHub={hub}" in r.headers["Location"]
        r = await c.get(r.headers["Location"])
        assert r.status_code == 202 and r.json()["runtimeStatus"] == "Running"
