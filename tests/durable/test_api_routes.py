"""The durable HTTP API over a real task hub in Azurite: routes, status codes, bodies, paging.

Instances are seeded straight into the task hub's tables. Instance-changing operations go through
the real management layer; the tests check what it put on the control queues (no engine runs, so
the messages stay there).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from api_test_support import T0, registry, sent_events
from starlette.applications import Starlette

from host.durable.api.routes import ROUTES, DurableApi, api_routes
from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.messages import decode_message
from host.durable.taskhub.rows import InstanceStatus
from host.storage.factory import open_storage

ORIGIN = "http://127.0.0.1:8123"
WH = "/runtime/webhooks/durabletask"
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}
FEB = "createdTimeFrom=2024-02-01T00:00:00Z&createdTimeTo=2024-02-29"


class Env:
    def __init__(self, hub: TaskHub, client: httpx.AsyncClient) -> None:
        self.hub, self.client = hub, client

    async def seed(
        self,
        instance_id: str,
        status: str,
        *,
        created: datetime = T0,
        name: str = "Orch",
        output: str | None = None,
        input: str | None = '"{\\"a\\": 1}"',
    ) -> None:
        await self.hub.write_instance(
            InstanceStatus(
                instance_id,
                name=name,
                runtime_status=status,
                created_time=created,
                last_updated_time=created + timedelta(seconds=5),
                input=input,
                output=output,
                execution_id=uuid.uuid4().hex,
            ),
            merge=False,
        )


@pytest.fixture
async def env(azurite_connection_string: str) -> AsyncIterator[Env]:
    storage = open_storage(azurite_connection_string)
    hub = TaskHub(storage, TaskHubNames("api" + uuid.uuid4().hex[:12]))
    await hub.create()
    backend = Management(hub)

    async def resolve(task_hub: str | None, connection: str | None, *, create: bool = False) -> Management:
        return backend

    api = DurableApi(registry, resolve)
    app = Starlette()
    app.router.routes.extend(_routes(api))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as client:
        yield Env(hub, client)
    await hub.delete()
    await storage.close()


def _routes(api: DurableApi) -> list[Any]:
    return api_routes(api)


async def test_ids_with_line_breaks_reach_the_api(env: Env) -> None:
    """A path segment with an encoded line break is still the API's (Starlette's path pattern is not)."""
    r = await env.client.get(f"{WH}/instances/a%0Ab")
    assert r.status_code == 404 and r.json()["Message"] == "No instance with ID 'a\nb' found."
    r = await env.client.post(f"{WH}/orchestrators/no%0Asuch")
    assert r.status_code == 400 and "no\nsuch" in r.json()["ExceptionMessage"]


async def test_start_returns_check_status_payload(env: Env) -> None:
    r = await env.client.post(f"{WH}/orchestrators/orch/my-id", json={"a": 1})
    assert r.status_code == 202
    body = r.json()
    assert body["id"] == "my-id" and "rewindPostUri" not in body
    query = f"taskHub={env.hub.names.hub}&connection=Storage"
    assert body["statusQueryGetUri"] == f"{ORIGIN}{WH}/instances/my-id?{query}"
    assert r.headers["Location"] == body["statusQueryGetUri"] and r.headers["Retry-After"] == "10"
    assert await sent_events(env.hub) == [(0, "my-id", "orch")]  # ExecutionStarted
    status = await env.client.get(body["statusQueryGetUri"])
    assert status.status_code == 202 and status.json()["runtimeStatus"] == "Pending"
    # stored as the SDK's client sends an input (JSON text in a string): get_input() reads any type
    assert status.json()["input"] == '{"a":1}'
    assert status.headers["Retry-After"] == "5"


async def test_start_errors(env: Env) -> None:
    r = await env.client.post(f"{WH}/orchestrators/Nope")
    assert r.status_code == 400 and "doesn't exist" in r.json()["ExceptionMessage"]
    r = await env.client.post(f"{WH}/orchestrators/Orch", content=b"{bad", headers=JSON)
    assert r.status_code == 400 and "not valid JSON" in r.json()["ExceptionMessage"]
    r = await env.client.post(f"{WH}/orchestrators/Orch/@bad")
    assert r.status_code == 400 and "'@'" in r.json()["ExceptionMessage"]
    r = await env.client.get(f"{WH}/orchestrators/Orch")
    assert r.status_code == 404 and "Orch" in r.json()["orchestrators"]
    assert await sent_events(env.hub) == []


async def test_status_codes_and_show_flags(env: Env) -> None:
    await env.seed("done", "Completed", output='{"r": 1}')
    await env.seed("failed", "Failed", output="Orchestrator function 'Orch' failed: boom")
    await env.hub.append_history(
        "done",
        "e1",
        [
            {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": "2024-03-01T12:00:00.0000000Z"},
            {
                "EventType": 0,
                "EventId": -1,
                "IsPlayed": False,
                "Timestamp": "2024-03-01T12:00:00.0000000Z",
                "Name": "Orch",
                "Version": "",
                "Input": '"x"',
            },
            {
                "EventType": 1,
                "EventId": 0,
                "IsPlayed": False,
                "Timestamp": "2024-03-01T12:00:01.0000000Z",
                "OrchestrationStatus": 1,
                "Result": '{"r": 1}',
            },
            {"EventType": 13, "EventId": -1, "IsPlayed": False, "Timestamp": "2024-03-01T12:00:01.0000000Z"},
        ],
        4,
        None,
    )
    r = await env.client.get(f"{WH}/instances/done")
    assert r.status_code == 200 and r.json()["output"] == {"r": 1} and "historyEvents" not in r.json()
    assert r.json()["createdTime"] == "2024-03-01T12:00:00Z"
    r = await env.client.get(f"{WH}/instances/done?showHistory=true&showHistoryOutput=true&showInput=false")
    body = r.json()
    assert body["input"] is None
    assert [e["EventType"] for e in body["historyEvents"]] == ["ExecutionStarted", "ExecutionCompleted"]
    assert body["historyEvents"][1]["Result"] == {"r": 1}
    assert body["historyEvents"][1]["OrchestrationStatus"] == "Completed"
    r = await env.client.get(f"{WH}/instances/failed")
    assert r.status_code == 200 and r.json()["output"].startswith("Orchestrator function")
    r = await env.client.get(f"{WH}/instances/failed?returnInternalServerErrorOnFailure=true")
    assert r.status_code == 500
    r = await env.client.get(f"{WH}/instances/nope")
    assert r.status_code == 404 and "nope" in r.json()["Message"]


async def test_operations_status_codes(env: Env) -> None:
    await env.seed("run", "Running")
    await env.seed("done", "Completed")
    await env.seed("sus", "Suspended")
    await env.seed("bad", "Failed")
    c = env.client
    assert (await c.post(f"{WH}/instances/run/raiseEvent/Go", json={"ok": True})).status_code == 202
    r = await c.post(f"{WH}/instances/run/raiseEvent/Go", content=b"x", headers=TEXT)
    assert r.status_code == 400 and "application/json" in r.json()["Message"]
    r = await c.post(f"{WH}/instances/run/raiseEvent/Go", content=b"{", headers=JSON)
    assert r.status_code == 400
    assert (await c.post(f"{WH}/instances/done/raiseEvent/Go", json=1)).status_code == 410
    assert (await c.post(f"{WH}/instances/none/raiseEvent/Go", json=1)).status_code == 404
    assert (await c.post(f"{WH}/instances/run/terminate?reason=no+more")).status_code == 202
    assert (await c.post(f"{WH}/instances/done/terminate")).status_code == 410
    assert (await c.post(f"{WH}/instances/run/suspend?reason=pause")).status_code == 202
    r = await c.post(f"{WH}/instances/sus/suspend")
    assert r.status_code == 500
    assert r.json()["ExceptionMessage"] == (
        "Cannot suspend the orchestration instance sus because instance is in the Suspended state."
    )
    assert (await c.post(f"{WH}/instances/sus/resume?reason=go")).status_code == 202
    r = await c.post(f"{WH}/instances/run/resume")
    assert r.status_code == 500
    assert r.json()["ExceptionMessage"] == (
        "Cannot resume the orchestration instance run because instance is in the Running state."
    )
    assert (await c.post(f"{WH}/instances/bad/rewind?reason=fix+it")).status_code == 202
    assert (await c.post(f"{WH}/instances/done/rewind")).status_code == 410
    r = await c.post(f"{WH}/instances/run/rewind")
    assert r.status_code == 500 and "only supported on failed" in r.json()["ExceptionMessage"]
    r = await c.post(f"{WH}/instances/done/restart")
    restarted = r.json()["id"]
    assert r.status_code == 202 and restarted != "done"
    r = await c.post(f"{WH}/instances/none/restart")
    assert r.status_code == 400
    assert (await c.put(f"{WH}/instances/run")).status_code == 404
    # EventRaised, ExecutionTerminated, -Suspended, -Resumed, and the restart's ExecutionStarted
    # (the seeded "bad" instance has no history, so its rewind has nothing to re-issue).
    assert await sent_events(env.hub) == sorted(
        [
            (15, "run", "Go"),
            (3, "run", "no more"),
            (19, "run", "pause"),
            (20, "sus", "go"),
            (0, restarted, "Orch"),
        ],
        key=repr,
    )


async def test_list_filters_and_continuation_over_120_instances(env: Env) -> None:
    import asyncio

    await asyncio.gather(
        *(
            env.seed(f"p{i:03d}", "Completed" if i % 2 else "Running", created=T0 + timedelta(minutes=i))
            for i in range(120)
        )
    )
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        r = await env.client.get(f"{WH}/instances/?top=50", headers={"x-ms-continuation-token": token})
        assert r.status_code == 200 and "x-ms-continuation-token" in r.headers
        seen += [s["instanceId"] for s in r.json()]
        token = r.headers["x-ms-continuation-token"]
        pages += 1
        if not token:
            break
    assert pages >= 3 and sorted(seen) == [f"p{i:03d}" for i in range(120)]
    r = await env.client.get(
        f"{WH}/instances/",
        params={
            "runtimeStatus": "Running,Pending",
            "createdTimeFrom": "2024-03-01T12:10:00Z",
            "createdTimeTo": "2024-03-01T12:19:59Z",
        },
    )
    assert sorted(s["instanceId"] for s in r.json()) == [f"p{i:03d}" for i in range(10, 20, 2)]
    r = await env.client.get(f"{WH}/instances/?instanceIdPrefix=p11")
    assert len(r.json()) == 10
    r = await env.client.get(f"{WH}/instances/?runtimeStatus=Sleeping")
    assert r.status_code == 400 and "Sleeping" in r.json()["ExceptionMessage"]
    r = await env.client.get(f"{WH}/instances/?createdTimeFrom=yesterday")
    assert r.status_code == 400 and "createdTimeFrom" in r.json()["ExceptionMessage"]


async def test_purge_then_404(env: Env) -> None:
    await env.seed("gone", "Completed")
    await env.seed("old1", "Failed", created=T0 - timedelta(days=2))
    await env.seed("old2", "Running", created=T0 - timedelta(days=2))
    r = await env.client.delete(f"{WH}/instances/gone")
    assert r.status_code == 200 and r.json() == {"instancesDeleted": 1}
    assert (await env.client.get(f"{WH}/instances/gone")).status_code == 404
    assert (await env.client.delete(f"{WH}/instances/gone")).status_code == 404
    r = await env.client.delete(f"{WH}/instances/")
    assert r.status_code == 400 and "createdTimeFrom" in r.json()
    r = await env.client.delete(f"{WH}/instances/?{FEB}")
    assert r.status_code == 200 and r.json() == {"instancesDeleted": 1}  # the Running one stays
    r = await env.client.delete(f"{WH}/instances/?{FEB}")
    assert r.status_code == 404


async def test_entity_routes(env: Env) -> None:
    await env.hub.write_instance(
        InstanceStatus(
            "@counter@k1",
            name="counter",
            runtime_status="Running",
            created_time=T0,
            last_updated_time=T0,
            input='{"state":"{\\"count\\": 5}"}',
        ),
        merge=False,
    )
    r = await env.client.get(f"{WH}/entities/Counter/k1")
    assert r.status_code == 200 and r.json() == {"count": 5}
    assert (await env.client.get(f"{WH}/entities/counter/nope")).status_code == 404
    r = await env.client.get(f"{WH}/entities/counter?fetchState=true")
    assert r.status_code == 200 and r.json()[0]["entityId"] == {"name": "counter", "key": "k1"}
    assert r.json()[0]["state"] == {"count": 5}
    assert (await env.client.post(f"{WH}/entities/Counter/k1?op=add", json=5)).status_code == 202
    r = await env.client.post(f"{WH}/entities/Counter/k1?op=say", content=b"hi", headers=TEXT)
    assert r.status_code == 202
    assert (await env.client.delete(f"{WH}/entities/Counter/k1")).status_code == 202
    signals = await env.hub.storage.peek_messages(env.hub.names.control_queue_for("@counter@k1"))
    requests = [json.loads(decode_message(m.content).event["Input"]) for m in signals]
    # a JSON value as the SDK's client encodes it; text/plain is the input's JSON text (as the extension)
    expected = [("add", '"5"'), ("say", '"hi"'), ("delete", None)]
    assert [(r["op"], r.get("input")) for r in requests] == expected
    # entities never show up as orchestration instances
    assert [s["instanceId"] for s in (await env.client.get(f"{WH}/instances/")).json()] == []


async def test_unknown_route_lists_routes_and_orchestrators(env: Env) -> None:
    r = await env.client.get(f"{WH}/nothing/here")
    assert r.status_code == 404
    body = r.json()
    assert body["orchestrators"] == ["Orch"] and len(body["routes"]) == len(ROUTES)
    assert (await env.client.get("/durabletask/hubs/Other/-/makeprimary")).status_code == 200
