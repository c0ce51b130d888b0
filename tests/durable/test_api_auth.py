"""``--enable-auth`` on a served host (real engine, real Azurite): every route and the URLs it hands out.

The durable HTTP API (webhook and RPC bases) takes the ``durabletask_extension`` system key or the
master key; admin endpoints the master key; HTTP triggers their level's keys. The check-status
URLs an HTTP starter returns work when followed, and the SDK's own client (over ``rpcBaseUrl``)
works from inside a function.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from client_host_support import SAMPLES, served_host, unique_hub
from waiting import eventually

from host.durable.api.backend import TaskHubNotFoundError
from host.durable.api.payloads import rpc_base_url
from host.durable.api.routes import DurableApi
from host.http.auth import DURABLE_SYSTEM_KEY, KeyStore
from host.runtime import HostRuntime

APP = f"""
import json, sys
sys.path.insert(0, {str(SAMPLES)!r})
import azure.durable_functions as df
import azure.functions as func
import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(http_api.bp)


@app.route(route="lvl/anon", auth_level=func.AuthLevel.ANONYMOUS)
def anon(req: func.HttpRequest) -> str:
    return "anon"


@app.route(route="lvl/func")
def func_level(req: func.HttpRequest) -> str:
    return "func"


@app.route(route="lvl/admin", auth_level=func.AuthLevel.ADMIN)
def admin_level(req: func.HttpRequest) -> str:
    return "admin"


@app.route(route="start/{{name}}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def starter(req: func.HttpRequest, client) -> func.HttpResponse:
    iid = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, iid)


@app.route(route="client/run", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_run(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {{}}
    iid = await client.start_new("approval_workflow", None, 300)
    out["running"] = (await client.get_status(iid)).runtime_status.name
    await client.raise_event(iid, "Approval", "me")
    done = await client.wait_for_completion_or_create_check_status_response(req, iid, 15000, 100)
    out["done"] = [done.status_code, json.loads(done.get_body())]
    out["all"] = len(await client.get_status_all()) > 0
    out["entities"] = (await client.read_entity_state(df.EntityId("nobody", "k"))).entity_exists
    out["mgmt"] = client.create_http_management_payload(iid)
    return func.HttpResponse(json.dumps(out), mimetype="application/json")
"""

WH = "/runtime/webhooks/durabletask"
NON_ASCII = "schlüssel-ключ"


@pytest.fixture
async def host(tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[tuple[str, HostRuntime]]:
    async with served_host(
        tmp_path / "app", APP, azurite_connection_string, hub=unique_hub("auth"), enable_auth=True
    ) as found:
        yield found


def _keys(runtime: HostRuntime) -> KeyStore:
    keys = runtime.keys
    assert keys is not None
    return keys


async def _status(client: httpx.AsyncClient, method: str, path: str, key: str | None, via: str) -> int:
    headers: dict[str, Any] = {}
    params: dict[str, str] = {}
    if key is not None and via == "header":
        headers["x-functions-key"] = key.encode()  # bytes: non-ASCII goes out as UTF-8
    elif key is not None:
        params["code"] = key
    r = await client.request(method, path, headers=headers, params=params)
    assert r.status_code != 500, (method, path, r.text)
    return r.status_code


async def test_every_route_takes_exactly_its_keys(host: tuple[str, HostRuntime]) -> None:
    url, runtime = host
    keys = _keys(runtime)
    system = keys.system_key(DURABLE_SYSTEM_KEY)
    assert system
    candidates: dict[str, str | None] = {
        "none": None,
        "wrong": "wrong-key",
        "non-ascii": NON_ASCII,
        "system": system,
        "master": keys.master_key,
        "host": keys.host_keys["default"],
        "function": keys.default_function_key("func_level"),
    }
    durable = {"system", "master"}
    routes: list[tuple[str, str, set[str]]] = [
        ("GET", f"{WH}/instances/", durable),
        ("GET", f"{WH}/instances/no-such-id", durable),
        ("POST", f"{WH}/instances/no-such-id/terminate", durable),
        ("POST", f"{WH}/instances/no-such-id/raiseEvent/Go", durable),
        ("DELETE", f"{WH}/instances/no-such-id", durable),
        ("GET", f"{WH}/entities/", durable),
        ("GET", f"{WH}/entities/counter/k", durable),
        ("GET", f"{WH}/nowhere", durable),
        ("GET", "/durabletask/instances/", durable),
        ("GET", "/durabletask/instances/no-such-id", durable),
        ("POST", "/durabletask/instances/no-such-id/suspend", durable),
        ("GET", "/admin/host/status", {"master"}),
        ("GET", "/admin/functions", {"master"}),
        ("GET", "/admin/functions/anon", {"master"}),
        ("POST", "/admin/functions/nope", {"master"}),
        ("GET", "/admin/durable/instances/no-such-id", {"master"}),
        ("GET", "/admin/host/functions", {"master"}),
        ("GET", "/admin/durable/instances", {"master"}),
        ("GET", "/admin/durable/entities", {"master"}),
        ("GET", "/admin/durable/entities/counter/k", {"master"}),
        ("GET", "/admin/durable/hub", {"master"}),
        ("GET", "/admin/openapi.json", {"master"}),
        ("GET", "/api/lvl/anon", set(candidates)),
        ("GET", "/api/lvl/func", {"master", "host", "function"}),
        ("GET", "/api/lvl/admin", {"master"}),
        ("GET", "/admin/host/ping", set(candidates)),
    ]
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for method, path, allowed in routes:
            for name, key in candidates.items():
                for via in ("header", "query"):
                    status = await _status(client, method, path, key, via)
                    assert (status != 401) == (name in allowed), (method, path, name, via, status)
        # the SDK's RPC base carries the key in its path
        assert (await client.get(f"/durabletask/code/{system}/instances/")).status_code == 200
        assert (await client.get(f"/durabletask/code/{keys.master_key}/instances/")).status_code == 200
        for bad in ("wrong", keys.host_keys["default"], "%C3%BC"):
            assert (await client.get(f"/durabletask/code/{bad}/instances/")).status_code == 401
        r = await client.get(f"/durabletask/code/{system}/nowhere")
        assert r.status_code == 404 and system not in r.text


async def test_check_status_urls_and_the_sdk_client_work_under_auth(host: tuple[str, HostRuntime]) -> None:
    url, runtime = host
    keys = _keys(runtime)
    system = keys.system_key(DURABLE_SYSTEM_KEY)
    fkey = keys.default_function_key("starter")
    assert system and fkey
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.post(f"{url}/api/start/hello_sequence")).status_code == 401
        r = await client.post(f"{url}/api/start/hello_sequence", params={"code": fkey}, json=["Oslo", "Lima"])
        assert r.status_code == 202, r.text
        payload = r.json()
        for name, link in payload.items():
            if name != "id":
                assert f"code={quote(system, safe='')}" in link, name  # the system key, as Azure hands out
        status_url = payload["statusQueryGetUri"]
        assert r.headers["location"] == status_url

        async def completed() -> Any:
            resp = await client.get(status_url)
            assert resp.status_code in (200, 202), resp.text
            return resp.json() if resp.json()["runtimeStatus"] == "Completed" else None

        done = await eventually(completed, what="the started orchestration completes")
        assert done["output"] == ["Hello Oslo!", "Hello Lima!"]
        assert (await client.get(status_url.split("?")[0])).status_code == 401

        r = await client.post(f"{url}/api/start/approval_workflow", params={"code": fkey}, json=300)
        links = r.json()
        send = links["sendEventPostUri"].replace("{eventName}", "Approval")
        assert (await client.post(send, json="alice")).status_code == 202

        async def approved() -> Any:
            body = (await client.get(links["statusQueryGetUri"])).json()
            return body if body["runtimeStatus"] == "Completed" else None

        assert (await eventually(approved, what="the approval completes"))["output"]
        purge = await client.delete(links["purgeHistoryDeleteUri"])
        assert (purge.status_code, purge.json()) == (200, {"instancesDeleted": 1})

        # the SDK's client inside a function: every call goes to rpcBaseUrl under auth
        client_key = keys.default_function_key("client_run")
        r = await client.post(f"{url}/api/client/run", params={"code": client_key})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["running"] in ("Pending", "Running")
        assert out["done"][0] == 200 and out["all"] is True and out["entities"] is False
        mgmt = out["mgmt"]
        assert f"code={quote(system, safe='')}" in mgmt["statusQueryGetUri"]
        followed = await client.get(mgmt["statusQueryGetUri"])
        assert followed.status_code == 200 and followed.json()["runtimeStatus"] == "Completed"
        assert system[:20] not in json.dumps(out).replace(quote(system, safe=""), "")  # no other copy


async def test_the_rpc_base_of_another_hub_carries_key_hub_and_connection(tmp_path: Path) -> None:
    keys = KeyStore.load(tmp_path, [])
    system = keys.system_key(DURABLE_SYSTEM_KEY)
    assert system
    base = rpc_base_url("http://127.0.0.1:7071", "OtherHub", "OtherConn", code=system)
    assert base == f"http://127.0.0.1:7071/durabletask/code/{quote(system, safe='')}/hubs/OtherHub/OtherConn/"
    seen: list[tuple[str | None, str | None]] = []

    async def resolve(task_hub: str | None, connection: str | None, *, create: bool = False) -> Any:
        seen.append((task_hub, connection))
        raise TaskHubNotFoundError(f"Task hub '{task_hub}' does not exist.")

    api = DurableApi(lambda: None, resolve, keys=keys)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:7071") as client:
        r = await client.get(base.removeprefix("http://127.0.0.1:7071") + "instances/x")
        assert r.status_code == 404 and seen == [("OtherHub", "OtherConn")]
        assert system not in r.text
        wrong = base.replace(quote(system, safe=""), "nope")
        assert (
            await client.get(wrong.removeprefix("http://127.0.0.1:7071") + "instances/x")
        ).status_code == 401
        assert len(seen) == 1
