"""``POST /admin/functions/{name}`` through the HTTP app for queue and timer functions.

The route must build the trigger value with the converter the trigger component registered
(real queue message fields and metadata, the timer's monitor status), then run the function.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from triggers_support import StartHost, app_globals, peek
from waiting import eventually

from host.http.app import build_app
from host.runtime import HostRuntime
from host.storage.interface import Storage

APP = """
import azure.functions as func

app = func.FunctionApp()
SEEN = []
TICKS = []

@app.queue_trigger(arg_name="msg", queue_name="QIN", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="QOUT", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage, out: func.Out[str]) -> None:
    body = msg.get_body().decode()
    SEEN.append({"body": body, "id": msg.id, "dequeue_count": msg.dequeue_count,
                 "pop_receipt": msg.pop_receipt, "expiration_time": msg.expiration_time})
    out.set("done:" + body)

@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *")
def yearly(timer: func.TimerRequest) -> None:
    TICKS.append((timer.past_due, timer.schedule_status, timer.schedule))
"""


@pytest.fixture
async def admin_client() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(runtime: HostRuntime) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(runtime)), base_url="http://127.0.0.1:7071"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_admin_invokes_a_queue_function_with_a_converted_message(
    start_host: StartHost, storage: Storage, admin_client: Any, unique: Any
) -> None:
    qin, qout = unique("adminin"), unique("adminout")
    runtime = await start_host(APP.replace("QIN", qin).replace("QOUT", qout))
    registered = runtime.invoker.trigger_converters["queueTrigger"]
    converted: list[dict[str, Any]] = []

    async def recording(fn: Any, text: str) -> tuple[Any, dict[str, Any]]:
        value, meta = await registered(fn, text)
        converted.append(meta)
        return value, meta

    runtime.invoker.trigger_converters["queueTrigger"] = recording
    client = admin_client(runtime)
    r = await client.post("/admin/functions/work", json={"input": "by admin"})
    assert (r.status_code, r.content) == (202, b"")
    seen = app_globals(runtime, "work")["SEEN"]
    await eventually(lambda: seen)
    assert len(converted) == 1 and converted[0]["QueueTrigger"] == "by admin"
    assert seen[0]["id"] == converted[0]["Id"]  # the converter's message is what the function got
    assert seen[0]["body"] == "by admin" and seen[0]["dequeue_count"] == 1 and seen[0]["id"]
    assert seen[0]["expiration_time"] is not None
    # the queue output of an admin-invoked function is written (Base64, the default encoding)
    assert await eventually(lambda: _bodies(storage, qout)) == ["done:by admin"]


async def test_admin_invokes_a_timer_function_with_its_monitor_status(
    start_host: StartHost, admin_client: Any
) -> None:
    runtime = await start_host(
        APP.replace("QIN", "unusedin").replace("QOUT", "unusedout"),
        env={"AzureFunctionsWebHost__hostid": "adminhost1"},
    )
    assert "timerTrigger" in runtime.invoker.trigger_converters
    client = admin_client(runtime)
    r = await client.post("/admin/functions/yearly", json={"input": ""})
    assert r.status_code == 202
    ticks = app_globals(runtime, "yearly")["TICKS"]
    await eventually(lambda: ticks)
    past_due, status, schedule = ticks[0]
    assert past_due is False and schedule == {"AdjustForDST": True}
    # the default (no converter) would give no status; the timer component gives the monitor's
    assert isinstance(status, dict) and status["Next"].endswith("-01-01T00:00:00+00:00")


async def test_admin_invocation_of_an_unknown_function_or_bad_body(
    start_host: StartHost, admin_client: Any
) -> None:
    runtime = await start_host(APP.replace("QIN", "unusedin2").replace("QOUT", "unusedout2"))
    client = admin_client(runtime)
    assert (await client.post("/admin/functions/nope", json={"input": "x"})).status_code == 404
    assert (await client.post("/admin/functions/work", content=b"{")).status_code == 400


async def _bodies(storage: Storage, queue: str) -> list[str]:
    return [base64.b64decode(m.content).decode() for m in await peek(storage, queue)]
