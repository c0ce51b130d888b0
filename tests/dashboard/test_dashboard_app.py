"""The dashboard's pages, login and actions in-process (memory storage, no engine, no browser)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from host.dashboard.app import dashboard_routes
from host.dashboard.source import DashboardSource
from host.durable.entities.ids import EntityId
from host.durable.inspect.inspector import HubInspector
from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.names import TaskHubNames
from host.http.auth import KeyStore
from host.storage.memory import MemoryStorage

MASTER = "the-master-key"


async def _management() -> Management:
    hub = TaskHub(MemoryStorage(), TaskHubNames("DashHub"))
    await hub.create()
    return Management(hub)


def _client(source: DashboardSource) -> httpx.AsyncClient:
    app = Starlette(routes=dashboard_routes(source))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


@pytest.fixture
async def management() -> Management:
    return await _management()


@pytest.fixture
async def client(management: Management) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(DashboardSource(management, HubInspector(management.hub))) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert found is not None
    return found.group(1)


async def test_list_counts_filters_and_pages(management: Management, client: httpx.AsyncClient) -> None:
    for n in range(3):
        await management.start_orchestration("alpha", f"a-{n}")
    await management.start_orchestration("beta", "b-0")
    await management.terminate("a-0", "stop")

    page = (await client.get("/dashboard")).text
    assert re.search(r'data-status="Pending"><span class="n">3</span>', page)
    assert re.search(r'data-status="Terminated"><span class="n">1</span>', page)
    assert sorted(re.findall(r'<tr data-instance="([^"]+)"', page)) == ["a-0", "a-1", "a-2", "b-0"]

    only = (await client.get("/dashboard?status=Terminated")).text
    assert re.findall(r'<tr data-instance="([^"]+)"', only) == ["a-0"]
    named = (await client.get("/dashboard?name=beta&fragment=1")).text
    assert re.findall(r'<tr data-instance="([^"]+)"', named) == ["b-0"]
    assert "<html" not in named  # a fragment is only the live part
    prefixed = (await client.get("/dashboard?prefix=a-&status=Pending")).text
    assert sorted(re.findall(r'<tr data-instance="([^"]+)"', prefixed)) == ["a-1", "a-2"]

    bad = await client.get("/dashboard?status=Sleeping")
    assert bad.status_code == 400 and "unknown status" in bad.text


async def test_pages_follow_the_next_link_newest_update_first(management: Management) -> None:
    for n in range(7):
        await management.start_orchestration("alpha", f"i-{n}")
    source = DashboardSource(management, HubInspector(management.hub))
    app = Starlette(routes=dashboard_routes(source, page_size=3))
    seen: list[str] = []
    pages = 0
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        url: str | None = "/dashboard"
        while url is not None:
            html = (await client.get(url)).text
            seen += re.findall(r'<tr data-instance="([^"]+)"', html)
            pages += 1
            found = re.search(r'href="([^"]+)" rel="next"', html)
            url = found.group(1).replace("&amp;", "&") if found else None
        stale = await client.get("/dashboard?after=bogus")
    assert pages == 3
    assert seen == [f"i-{n}" for n in range(6, -1, -1)]
    assert stale.status_code == 400 and "start over" in stale.text


async def test_actions_need_the_csrf_token_and_refuse_with_the_api_message(
    management: Management, client: httpx.AsyncClient
) -> None:
    await management.start_orchestration("alpha", "x")
    page = await client.get("/dashboard/instance", params={"id": "x"})
    assert page.status_code == 200 and 'id="runtime-status">Pending' in page.text
    token = csrf_of(page.text)

    no_token = await client.post("/dashboard/instance/action", data={"id": "x", "action": "terminate"})
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["message"]
    assert (await management.get_status("x")).runtime_status == "Pending"  # type: ignore[union-attr]

    done = await client.post(
        "/dashboard/instance/action", data={"id": "x", "action": "terminate"}, headers={"X-CSRF-Token": token}
    )
    assert done.status_code == 200 and done.json()["ok"] is True
    assert (await management.get_status("x")).runtime_status == "Terminated"  # type: ignore[union-attr]

    again = await client.post(
        "/dashboard/instance/action", data={"id": "x", "action": "terminate", "csrf": token}
    )
    assert again.status_code == 409
    assert again.json()["message"] == (
        "Cannot terminate the orchestration instance x because instance is in the Terminated state."
    )
    bad_json = await client.post(
        "/dashboard/instance/action",
        data={"id": "x", "action": "raise", "event": "Approval", "data": "alice", "csrf": token},
    )
    assert bad_json.status_code == 400 and "is not JSON" in bad_json.json()["message"]

    restarted = await client.post(
        "/dashboard/instance/action", data={"id": "x", "action": "restart", "csrf": token}
    )
    new_id = restarted.json()["location"].split("id=")[1]
    assert restarted.json()["ok"] is True and new_id != "x"
    again_started = await management.get_status(new_id)
    assert again_started is not None and again_started.name == "alpha"

    purged = await client.post(
        "/dashboard/instance/action", data={"id": "x", "action": "purge", "csrf": token}
    )
    assert purged.json()["ok"] is True and await management.get_status("x") is None
    assert 'data-instance="x"' not in (await client.get("/dashboard")).text
    missing = await client.get("/dashboard/instance", params={"id": "x"})
    assert missing.status_code == 404 and "no orchestration instance" in missing.text


async def test_bad_action_input_is_a_400_naming_the_field(
    management: Management, client: httpx.AsyncClient
) -> None:
    await management.start_orchestration("alpha", "x")
    token = csrf_of((await client.get("/dashboard")).text)

    async def act(**form: str) -> tuple[int, str]:
        answer = await client.post("/dashboard/instance/action", data={**form, "csrf": token})
        assert answer.json()["ok"] is False
        return answer.status_code, answer.json()["message"]

    assert await act(id="x", action="explode") == (
        400,
        "unknown action 'explode' (one of raise, terminate, suspend, resume, rewind, restart, purge)",
    )
    code, message = await act(id="x", action="raise", event="", data="1")
    assert code == 400 and "event needs a name" in message
    code, message = await act(id="x", action="raise", event="e" * 300, data="1")
    assert code == 400 and "event needs a name" in message
    code, message = await act(action="terminate")
    assert code == 400 and message == "the instance id (parameter 'id') is missing"
    code, message = await act(id="a" * 2000, action="terminate")
    assert code == 400 and "the instance id (parameter 'id') is 2000 characters long" in message
    assert await act(id="zz", action="suspend") == (404, "no orchestration instance with id 'zz' exists")
    code, message = await act(id="x", action="rewind")  # the state does not allow it: still a 409
    assert code == 409 and "only Failed instances can be rewound" in message
    assert (await management.get_status("x")).runtime_status == "Pending"  # type: ignore[union-attr]

    async def signal(**form: str) -> tuple[int, str]:
        answer = await client.post("/dashboard/entities/signal", data={**form, "csrf": token})
        return answer.status_code, answer.json()["message"]

    assert (await signal(name="", key="k", operation="add"))[0] == 400
    assert await signal(name="c", key="k", operation="") == (400, "a signal needs an operation name")
    code, message = await signal(name="c", key="k", operation="add", input="five")
    assert code == 400 and "the operation input is not JSON" in message
    code, message = await signal(name="c", key="k" * 1000, operation="add")
    assert code == 400 and "Azure Storage table key" in message
    code, message = await signal(name="c", key="k", operation="o" * 2000)
    assert code == 400 and "must not be longer than 1024 characters" in message


async def test_the_instance_page_without_a_usable_id_is_a_400(client: httpx.AsyncClient) -> None:
    for params in ({}, {"id": ""}, {"id": "  "}):
        page = await client.get("/dashboard/instance", params=params)
        assert page.status_code == 400
        assert "the instance id (parameter &#39;id&#39;) is missing" in page.text
    long = await client.get("/dashboard/instance", params={"id": "a" * 2000})
    assert long.status_code == 400 and "is 2000 characters long" in long.text
    unknown = await client.get("/dashboard/instance", params={"id": "nobody"})
    assert unknown.status_code == 404 and "no orchestration instance with id &#39;nobody&#39;" in unknown.text


async def test_entities_are_listed_and_signalled(management: Management, client: httpx.AsyncClient) -> None:
    token = csrf_of((await client.get("/dashboard/entities")).text)
    sent = await client.post(
        "/dashboard/entities/signal",
        data={"name": "Counter", "key": "k1", "operation": "add", "input": "5", "csrf": token},
    )
    assert sent.json() == {"ok": True, "message": "Signalled 'add' to counter/k1."}
    messages = await management.hub.storage.peek_messages(
        management.hub.names.control_queue_for(EntityId("counter", "k1").instance_id)
    )
    assert any("add" in m.content for m in messages)
    stale = await client.get("/dashboard/entities", params={"after": "not-a-token"})
    assert stale.status_code == 400 and "start over" in stale.text


async def test_under_auth_pages_need_a_login_with_the_master_key(management: Management) -> None:
    keys = KeyStore(MASTER, {}, {})
    async with _client(DashboardSource(management, keys=lambda: keys)) as client:
        locked = await client.get("/dashboard")
        assert locked.status_code == 401 and 'id="login-form"' in locked.text
        assert MASTER not in locked.text
        assert "Log out" not in locked.text  # nobody is logged in yet

        wrong = await client.post("/dashboard/login", data={"key": "nope", "next": "/dashboard"})
        assert wrong.status_code == 401 and "not the master key" in wrong.text
        denied = await client.post("/dashboard/instance/action", data={"id": "x", "action": "purge"})
        assert denied.status_code == 401

        ok = await client.post("/dashboard/login", data={"key": MASTER, "next": "https://evil.example/"})
        assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and MASTER not in cookie
        page = await client.get("/dashboard")
        assert page.status_code == 200 and "Orchestration instances" in page.text
        assert "Log out" in page.text

        token = csrf_of(page.text)
        unsigned = await client.post("/dashboard/instance/action", data={"id": "x", "action": "purge"})
        assert unsigned.status_code == 403
        signed = await client.post(
            "/dashboard/instance/action", data={"id": "x", "action": "purge", "csrf": token}
        )
        assert signed.status_code == 404 and "no orchestration instance" in signed.json()["message"]

        logout = await client.post("/dashboard/logout")
        assert logout.status_code == 303
        assert (await client.get("/dashboard")).status_code == 401


async def test_parent_and_child_orchestrations_link_to_each_other(
    management: Management, client: httpx.AsyncClient
) -> None:
    from datetime import UTC, datetime

    from host.durable.replay import history as h
    from host.durable.taskhub.rows import InstanceStatus

    now = datetime.now(UTC)
    parent = h.parent_instance(name="outer", instance_id="p-1", execution_id="pe", task_id=0)
    stories = {
        "p-1": [
            h.execution_started(now, instance_id="p-1", execution_id="pe", name="outer", input_text=None),
            h.sub_orchestration_created(now, 0, "inner", "c-1", None),
        ],
        "c-1": [
            h.execution_started(
                now, instance_id="c-1", execution_id="ce", name="inner", input_text=None, parent=parent
            )
        ],
    }
    for iid, events in stories.items():
        execution = "pe" if iid == "p-1" else "ce"
        await management.hub.append_history(iid, execution, events, len(events), None)
        row = InstanceStatus(
            iid, name="x", execution_id=execution, runtime_status="Running", created_time=now
        )
        await management.hub.write_instance(row, merge=False)

    outer = (await client.get("/dashboard/instance", params={"id": "p-1"})).text
    assert '<a href="/dashboard/instance?id=c-1">inner</a>' in outer
    inner = (await client.get("/dashboard/instance", params={"id": "c-1"})).text
    assert '<a href="/dashboard/instance?id=p-1" id="parent">p-1</a>' in inner


async def test_the_instance_page_shows_the_orchestration_version(
    management: Management, client: httpx.AsyncClient
) -> None:
    await management.start_orchestration("alpha", "v-1", version="2.0")
    await management.start_orchestration("alpha", "v-0")
    page = (await client.get("/dashboard/instance", params={"id": "v-1"})).text
    assert '<span id="version">version 2.0</span>' in page
    unversioned = (await client.get("/dashboard/instance", params={"id": "v-0"})).text
    assert 'id="version"' not in unversioned


async def test_the_list_has_a_version_column_when_an_instance_on_the_page_has_a_version(
    management: Management, client: httpx.AsyncClient
) -> None:
    await management.start_orchestration("alpha", "v-0")
    plain = (await client.get("/dashboard")).text
    assert "<th>Version</th>" not in plain  # no app that never versions gets an empty column
    await management.start_orchestration("alpha", "v-1", version="2.0")
    page = (await client.get("/dashboard?fragment=1")).text
    assert "<th>Version</th>" in page
    cells = dict(re.findall(r'<tr data-instance="([^"]+)".*?<td class="version">([^<]*)</td>', page, re.S))
    assert cells == {"v-1": "2.0", "v-0": ""}


async def test_a_storage_outage_is_a_503_saying_so() -> None:
    from host.storage.faults import FaultyStorage

    storage = FaultyStorage(MemoryStorage(), rate=0)
    hub = TaskHub(storage, TaskHubNames("DashHub"))
    await hub.create()
    management = Management(hub)
    await management.start_orchestration("alpha", "x")
    async with _client(DashboardSource(management, HubInspector(hub))) as client:
        token = csrf_of((await client.get("/dashboard")).text)
        storage.rate, storage.kinds = 1.0, ("busy",)
        page = await client.get("/dashboard/instance", params={"id": "x"})
        assert page.status_code == 503 and "storage does not answer" in page.text
        act = await client.post(
            "/dashboard/instance/action", data={"id": "x", "action": "suspend", "csrf": token}
        )
        assert act.status_code == 503 and "storage does not answer" in act.json()["message"]
