"""Queue trigger and queue output through an in-process host on real Azurite."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import datetime

import pytest
from triggers_support import StartHost, app_globals, peek
from waiting import eventually

from host.indexing.registry import Binding, FunctionInfo
from host.invocation import Invoker
from host.storage.interface import Storage
from host.triggers.common import Backoff, QueueOptions
from host.triggers.queue import QueueListener

APP = """
import json, logging
import azure.functions as func

app = func.FunctionApp()
SEEN = []

@app.queue_trigger(arg_name="msg", queue_name="QIN", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="QOUT", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage, out: func.Out[str]) -> None:
    body = msg.get_body().decode()
    SEEN.append({"id": msg.id, "body": body, "dequeue_count": msg.dequeue_count,
                 "insertion_time": msg.insertion_time, "expiration_time": msg.expiration_time,
                 "next_visible": msg.time_next_visible, "pop_receipt": msg.pop_receipt,
                 "type": type(msg).__name__})
    out.set("done:" + body)
    if "fail" in body:
        raise RuntimeError("boom")
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _bodies(storage: Storage, queue: str) -> list[str]:
    return [base64.b64decode(m.content).decode() for m in await storage.peek_messages(queue)]


async def test_delivery_metadata_and_output(start_host: StartHost, storage: Storage, unique) -> None:
    qin, qout = unique("in"), unique("out")
    await storage.create_queue(qin)
    sent = await storage.put_message(qin, b64('{"id": 7}'))
    runtime = await start_host(APP.replace("QIN", qin).replace("QOUT", qout))
    seen = app_globals(runtime, "work")["SEEN"]
    await eventually(lambda: seen)
    m = seen[0]
    assert m["id"] == sent.id and m["body"] == '{"id": 7}' and m["dequeue_count"] == 1
    assert m["type"] == "QueueMessage" and m["pop_receipt"]
    assert isinstance(m["insertion_time"], datetime) and m["insertion_time"].tzinfo is not None
    assert m["next_visible"] > m["insertion_time"]
    assert await eventually(lambda: _bodies(storage, qout)) == ['done:{"id": 7}']
    assert await eventually(lambda: _empty(storage, qin))


async def _empty(storage: Storage, queue: str) -> bool:
    return not await storage.peek_messages(queue)


async def test_failure_retries_then_poison_and_no_output(
    start_host: StartHost, storage: Storage, unique
) -> None:
    qin, qout = unique("in"), unique("out")
    await storage.create_queue(qin)
    await storage.put_message(qin, b64("please fail"))
    runtime = await start_host(
        APP.replace("QIN", qin).replace("QOUT", qout), host={"extensions": {"queues": {"maxDequeueCount": 3}}}
    )
    seen = app_globals(runtime, "work")["SEEN"]
    poison = await eventually(lambda: peek(storage, f"{qin}-poison"))
    assert [s["dequeue_count"] for s in seen] == [1, 2, 3]
    assert base64.b64decode(poison[0].content) == b"please fail" and poison[0].dequeue_count == 0
    assert await _empty(storage, qin)
    assert await peek(storage, qout) == []  # the output of a failed invocation is never written


async def test_invalid_base64_goes_to_poison_without_running(
    start_host: StartHost, storage: Storage, unique
) -> None:
    qin, qout = unique("in"), unique("out")
    await storage.create_queue(qin)
    await storage.put_message(qin, "not base64 at all!")
    runtime = await start_host(APP.replace("QIN", qin).replace("QOUT", qout))
    poison = await eventually(lambda: peek(storage, f"{qin}-poison"))
    assert poison[0].content == "not base64 at all!"
    assert app_globals(runtime, "work")["SEEN"] == []
    assert await _empty(storage, qin)


async def test_encoding_none(start_host: StartHost, storage: Storage, unique) -> None:
    qin, qout = unique("in"), unique("out")
    await storage.create_queue(qin)
    await storage.put_message(qin, "raw text")
    await start_host(
        APP.replace("QIN", qin).replace("QOUT", qout),
        host={"extensions": {"queues": {"messageEncoding": "none"}}},
    )
    out = await eventually(lambda: peek(storage, qout))
    assert out[0].content == "done:raw text"


CHAIN = """
import azure.functions as func
app = func.FunctionApp()
DONE = {}

@app.queue_trigger(arg_name="msg", queue_name="QA", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="QB", connection="AzureWebJobsStorage")
def first(msg: func.QueueMessage, out: func.Out[list]) -> None:
    out.set(["m1", "m2", "m3"])

@app.queue_trigger(arg_name="msg", queue_name="QB", connection="AzureWebJobsStorage")
def second(msg: str) -> None:
    DONE.setdefault("second", []).append(msg)
"""


async def test_host_written_messages_wake_the_listener(
    start_host: StartHost, storage: Storage, unique, monkeypatch: pytest.MonkeyPatch
) -> None:
    idle: list[Backoff] = []

    def ten_minutes(self: Backoff) -> float:
        idle.append(self)
        return 600.0

    # After an empty poll a listener waits 10 minutes: only a wake-up can make it poll again in time.
    monkeypatch.setattr(Backoff, "next_delay", ten_minutes)
    qa, qb = unique("qa"), unique("qb")
    await storage.create_queue(qa)
    await storage.create_queue(qb)
    runtime = await start_host(CHAIN.replace("QA", qa).replace("QB", qb))
    await eventually(lambda: len(idle) >= 2, what="both listeners to find their queues empty")
    fn = runtime.registry.get("first")
    assert fn is not None
    value, meta = await runtime.invoker.trigger_converters["queueTrigger"](fn, "go")
    await runtime.invoker.invoke(fn, value, trigger_metadata=meta)  # writes three messages to QB
    done = app_globals(runtime, "second")["DONE"]
    # a list output writes one message per element; the woken listener runs them long before its
    # next poll (10 minutes away)
    await eventually(lambda: len(done.get("second", [])) == 3, timeout=15)
    assert sorted(done["second"]) == ["m1", "m2", "m3"]


async def test_slow_function_keeps_message_invisible(storage: Storage, unique) -> None:
    queue = unique("slow")
    await storage.create_queue(queue)
    calls: list[float] = []

    async def slow(msg: str) -> None:
        calls.append(time.monotonic())
        await asyncio.sleep(3.5)

    trigger = Binding("msg", "queueTrigger", "in", {"queueName": queue})
    fn = FunctionInfo("slow", trigger, [trigger], slow)
    invoker = Invoker(log=False)
    options = QueueOptions(message_lease=2, max_polling_interval=0.2, message_encoding="none")
    listener = QueueListener(fn, storage, invoker.invoke, options)
    await storage.put_message(queue, "hello")
    await listener.start()
    try:
        await eventually(lambda: calls)
        for _ in range(3):  # past the 2 s lease, the message is still hidden (renewed every 1 s)
            await asyncio.sleep(1.0)
            assert await storage.receive_messages(queue, visibility_timeout=1) == []
        await eventually(lambda: _empty(storage, queue))
        assert len(calls) == 1
    finally:
        await listener.stop()
        await invoker.aclose()


async def test_admin_invocation_of_a_queue_function(start_host: StartHost, storage: Storage, unique) -> None:
    qin, qout = unique("in"), unique("out")
    runtime = await start_host(APP.replace("QIN", qin).replace("QOUT", qout))
    fn = runtime.registry.get("work")
    assert fn is not None
    value, meta = await runtime.invoker.trigger_converters["queueTrigger"](fn, "by hand")
    await runtime.invoker.invoke(fn, value, trigger_metadata=meta)
    assert app_globals(runtime, "work")["SEEN"][0]["body"] == "by hand"
    assert await eventually(lambda: _bodies(storage, qout)) == ["done:by hand"]
