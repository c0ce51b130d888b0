"""End to end: a served host (real engine, real Azurite), the SDK's own client from a function.

The HTTP starter of ``samples/http_api.py`` answers 202 with the check-status payload; polling
``statusQueryGetUri`` goes 202 → 200 Completed; client methods called from a function reach the
RPC routes over real HTTP (the SDK uses aiohttp against ``rpcBaseUrl``).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from waiting import eventually

from host.config.settings import load_settings
from host.http.app import build_app
from host.http.server import server_config
from host.runtime import HostRuntime
from host.storage.azurite import free_port

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

APP = f"""
import json, sys
sys.path.insert(0, {str(SAMPLES)!r})
import azure.durable_functions as df
import azure.functions as func
import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api.bp)


@app.route(route="client/run", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_run(req: func.HttpRequest, client) -> func.HttpResponse:
    out = {{}}
    iid = await client.start_new("hello_sequence", None, ["A", "B"])
    done = await client.wait_for_completion_or_create_check_status_response(req, iid, 15000, 100)
    out["wait"] = [done.status_code, json.loads(done.get_body())]
    st = await client.get_status(iid, show_history=True, show_history_output=True)
    out["status"] = [st.runtime_status.name, st.output, [e["EventType"] for e in st.historyEvents]]
    out["missing"] = bool(await client.get_status("no-such-instance"))
    out["all"] = len(await client.get_status_all())
    ap = await client.start_new("approval_workflow", "appr-" + iid, 300)
    await client.raise_event(ap, "Approval", "me")
    fin = await client.wait_for_completion_or_create_check_status_response(req, ap, 15000, 100)
    out["approval"] = json.loads(fin.get_body())
    purged = await client.purge_instance_history(iid)
    out["purged"] = [purged.instances_deleted, bool(await client.get_status(iid))]
    out["mgmt"] = client.create_http_management_payload("X")["statusQueryGetUri"]
    return func.HttpResponse(json.dumps(out), mimetype="application/json")
"""


@pytest.fixture
async def host_url(tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[str]:
    (tmp_path / "function_app.py").write_text(APP)
    hub = "e2e" + uuid.uuid4().hex[:10]
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"hubName": hub}}})
    )
    port = free_port()
    env = dict(os.environ, AzureWebJobsStorage=azurite_connection_string, FUNCTIONS_WORKER_RUNTIME="python")
    settings = load_settings(tmp_path, port=port, azurite=False, environ=env)
    runtime = HostRuntime(settings)
    await runtime.start()
    config = server_config(
        build_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())

    def started() -> bool:
        assert not serving.done(), "the server stopped while starting"
        return bool(server.started)

    await eventually(started, 20, "the server to start", interval=0.01)
    runtime.mark_running()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # the SDK keeps one aiohttp session per process, bound to this test's event loop
        from azure.durable_functions.models.utils import http_utils

        await http_utils._close_session()
        server.should_exit = True
        await serving
        await runtime.stop()


async def test_check_status_flow_on_a_non_default_port(host_url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(f"{host_url}/api/orchestrators/hello_sequence")
        assert r.status_code == 202
        body = r.json()
        assert body["statusQueryGetUri"].startswith(f"{host_url}/runtime/webhooks/durabletask/instances/")
        assert r.headers["Location"] == body["statusQueryGetUri"]
        codes = []

        async def finished() -> httpx.Response | None:
            s = await c.get(body["statusQueryGetUri"])
            codes.append(s.status_code)
            return s if s.status_code == 200 else None

        s = await eventually(finished, 20, "the instance to complete")
        assert s.status_code == 200 and s.json()["runtimeStatus"] == "Completed"
        assert s.json()["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
        assert set(codes[:-1]) <= {202}


async def test_sdk_client_methods_from_a_function(host_url: str) -> None:
    async with httpx.AsyncClient(timeout=60) as c:
        r = await c.post(f"{host_url}/api/client/run")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["wait"] == [200, ["Hello A!", "Hello B!"]]
    assert out["status"] == [
        "Completed",
        ["Hello A!", "Hello B!"],
        ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"],
    ]
    assert out["missing"] is False and out["all"] >= 1
    # as on Azure: raise_event double-encodes, so the orchestrator receives the JSON text of "me"
    assert out["approval"] == {"approved": True, "by": '"me"'}
    assert out["purged"] == [1, False]
    assert out["mgmt"].startswith(f"{host_url}/runtime/webhooks/durabletask/instances/X?taskHub=e2e")
