"""The durable client binding in storage-triggered functions (issue 6): a queue-triggered and a
timer-triggered function start an orchestration through the SDK's client; it completes on the
real engine (real Azurite, host served on a free port: the SDK's client calls back over HTTP)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from waiting import eventually

from host.config.settings import load_settings
from host.http.app import build_app
from host.runtime import HostRuntime
from host.storage.azurite import free_port
from host.storage.interface import Storage

WH = "/runtime/webhooks/durabletask"

APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.queue_trigger(arg_name="msg", queue_name="QUEUE", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def start_from_queue(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    order = msg.get_json()
    await client.start_new("process_order", "order-" + str(order["id"]), order)


@app.timer_trigger(arg_name="timer", schedule="* * * * * *", use_monitor=False)
@app.durable_client_input(client_name="client")
async def start_from_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await client.start_new("process_order", None, {"id": "timer", "past_due": timer.past_due})


@app.orchestration_trigger(context_name="context")
def process_order(context: df.DurableOrchestrationContext):
    order = context.get_input()
    return (yield context.call_activity("charge", order))


@app.activity_trigger(input_name="order")
def charge(order: dict) -> str:
    return f"charged order {order['id']}"
"""


@pytest.fixture
async def serve(tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[Callable[..., Any]]:
    """``await serve(functions)``: the test app (only ``functions`` + the orchestration) served."""
    stops: list[Callable[[], Any]] = []

    async def start(queue: str, *functions: str) -> str:
        root = tmp_path / uuid.uuid4().hex[:8]
        root.mkdir()
        (root / "function_app.py").write_text(APP.replace("QUEUE", queue))
        (root / "host.json").write_text(
            json.dumps(
                {"version": "2.0", "extensions": {"durableTask": {"hubName": "trg" + uuid.uuid4().hex[:10]}}}
            )
        )
        port = free_port()
        env = dict(
            os.environ,
            AzureWebJobsStorage=azurite_connection_string,
            TZ="UTC",
            FUNCTIONS_WORKER_RUNTIME="python",
        )
        wanted = [*functions, "process_order", "charge"]
        runtime = HostRuntime(load_settings(root, port=port, azurite=False, environ=env, functions=wanted))
        await runtime.start()
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
            )
        )
        serving = asyncio.create_task(server.serve())
        await eventually(lambda: server.started or serving.done(), timeout=20)
        runtime.mark_running()

        async def stop() -> None:
            from azure.durable_functions.models.utils import http_utils

            await http_utils._close_session()  # bound to this test's event loop
            server.should_exit = True
            await serving
            await runtime.stop()

        stops.append(stop)
        return f"http://127.0.0.1:{port}"

    yield start
    for stop in reversed(stops):
        await stop()


async def _completed(url: str, instance_id: str | None = None) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as c:
        if instance_id is not None:
            r = await c.get(f"{url}{WH}/instances/{instance_id}")
            return [r.json()] if r.status_code == 200 and r.json()["runtimeStatus"] == "Completed" else []
        r = await c.get(f"{url}{WH}/instances/?runtimeStatus=Completed")
        return list(r.json())


async def test_queue_trigger_starts_an_orchestration(
    serve: Callable[..., Any], storage: Storage, unique: Callable[[str], str]
) -> None:
    queue = unique("dq")
    url = await serve(queue, "start_from_queue")
    await storage.create_queue(queue)
    await storage.put_message(queue, base64.b64encode(b'{"id": 42, "amount": 5}').decode())
    [status] = await eventually(lambda: _completed(url, "order-42"), timeout=30)
    assert status["name"] == "process_order" and status["output"] == "charged order 42"
    async with httpx.AsyncClient(timeout=10) as c:  # the queue message was consumed
        assert (await c.get(f"{url}{WH}/instances/")).json()[0]["instanceId"] == "order-42"
    assert await storage.peek_messages(queue) == []


async def test_timer_trigger_starts_an_orchestration(
    serve: Callable[..., Any], unique: Callable[[str], str]
) -> None:
    url = await serve(unique("unused"), "start_from_timer")
    done = await eventually(lambda: _completed(url), timeout=30)
    assert all(s["name"] == "process_order" for s in done)
    assert done[0]["output"] == "charged order timer"
    assert json.loads(done[0]["input"]) == {"id": "timer", "past_due": False}
