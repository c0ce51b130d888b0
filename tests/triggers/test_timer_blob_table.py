"""Timer, blob and table triggers/bindings through real Azurite storage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from triggers_support import StartHost, app_globals
from waiting import eventually

from host.indexing.registry import Binding, FunctionInfo
from host.invocation import Invoker
from host.storage.interface import Storage
from host.triggers.blob import BlobTriggerListener
from host.triggers.names import HOSTS_CONTAINER, function_id
from host.triggers.timer import TimerListener

# --------------------------------------------------------------------------- timer

TIMER_APP = """
import azure.functions as func
app = func.FunctionApp()
RUNS = []

@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
def yearly(timer: func.TimerRequest) -> None:
    RUNS.append((type(timer).__name__, timer.past_due, timer.schedule_status, timer.schedule))
"""


async def test_run_on_startup_and_status_blob(start_host: StartHost, storage: Storage) -> None:
    runtime = await start_host(TIMER_APP, env={"AzureFunctionsWebHost__hostid": "timerhost1"})
    runs = app_globals(runtime, "yearly")["RUNS"]
    await eventually(lambda: runs)
    kind, past_due, status, schedule = runs[0]
    assert kind == "TimerRequest" and past_due is False and schedule == {"AdjustForDST": True}
    assert status["Last"] == "0001-01-01T00:00:00"
    assert status["Next"] == f"{datetime.now(UTC).year + 1}-01-01T00:00:00+00:00"
    blob = f"timers/timerhost1/{function_id('yearly')}/status"

    async def stored() -> dict | None:
        data, _ = await storage.download_blob(HOSTS_CONTAINER, blob)
        value = json.loads(data)
        return value if value["Last"] != "0001-01-01T00:00:00" else None

    saved = await eventually(stored)
    assert set(saved) == {"Last", "Next", "LastUpdated"} and saved["Next"] == status["Next"]


def _timer_fn(schedule: str, runs: list) -> FunctionInfo:
    async def tick(timer) -> None:
        runs.append(timer)

    trigger = Binding("timer", "timerTrigger", "in", {"schedule": schedule})
    return FunctionInfo("tick", trigger, [trigger], tick)


async def test_past_due_detected_across_a_restart(storage: Storage, unique) -> None:
    host_id = unique("pastdue")
    runs: list = []
    fn = _timer_fn("0 0 * * * *", runs)  # hourly
    invoker = Invoker(log=False)
    start = datetime(2024, 5, 1, 10, 20, tzinfo=UTC)
    first = TimerListener(fn, storage, invoker.invoke, host_id=host_id, tz=UTC, clock=lambda: start)
    await first.start()
    await first.stop()
    assert runs == []  # not due yet: only the status was written
    # the host was down across 11:00: a restart at 11:30 fires once at once, past due
    later = start + timedelta(hours=1, minutes=10)
    second = TimerListener(fn, storage, invoker.invoke, host_id=host_id, tz=UTC, clock=lambda: later)
    await second.start()
    try:
        await eventually(lambda: runs)
        assert runs[0].past_due is True
        assert runs[0].schedule_status["Next"] == "2024-05-01T11:00:00+00:00"
        assert second.status is not None and second.status.next == datetime(2024, 5, 1, 12, tzinfo=UTC)
    finally:
        await second.stop()
    # and a third start before 12:00 is not past due
    third = TimerListener(
        fn, storage, invoker.invoke, host_id=host_id, tz=UTC, clock=lambda: later + timedelta(minutes=5)
    )
    assert await third._check_past_due(later + timedelta(minutes=5)) is False
    await invoker.aclose()


async def test_changed_schedule_is_not_past_due(storage: Storage, unique) -> None:
    host_id = unique("changed")
    invoker = Invoker(log=False)
    t0 = datetime(2024, 5, 1, 10, 20, tzinfo=UTC)
    old = TimerListener(
        _timer_fn("0 0 * * * *", []), storage, invoker.invoke, host_id=host_id, tz=UTC, clock=lambda: t0
    )
    assert await old._check_past_due(t0) is False
    new = TimerListener(
        _timer_fn("0 0 0 * * *", []),
        storage,
        invoker.invoke,
        host_id=host_id,
        tz=UTC,
        clock=lambda: t0 + timedelta(hours=3),
    )
    assert await new._check_past_due(t0 + timedelta(hours=3)) is False
    assert new.status is not None and new.status.next == datetime(2024, 5, 2, tzinfo=UTC)


def test_bad_schedule_is_an_indexing_error() -> None:
    from host.errors import IndexingError

    with pytest.raises(IndexingError, match="not recognized"):
        TimerListener(_timer_fn("every day", []), None, None, host_id="h", tz=UTC)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- blob

BLOB_APP = """
import azure.functions as func
app = func.FunctionApp()
SEEN = []

@app.blob_trigger(arg_name="blob", path="CIN/{name}.txt", connection="AzureWebJobsStorage")
@app.blob_input(arg_name="template", path="CIN-tpl/default", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="result", path="COUT/{name}.out", connection="AzureWebJobsStorage")
def on_upload(blob: func.InputStream, template: str, result: func.Out[bytes]) -> None:
    data = blob.read()
    SEEN.append((blob.name, blob.length, blob.uri, blob.metadata, data))
    result.set((template or "").encode() + data)
"""


async def test_blob_trigger_receipts_and_bindings(start_host: StartHost, storage: Storage, unique) -> None:
    cin, cout = unique("cin"), unique("cout")
    await storage.upload_blob(f"{cin}-tpl", "default", b"TPL:")
    await storage.upload_blob(cin, "old.txt", b"existed before start", metadata={"k": "v"})
    await storage.upload_blob(cin, "skip.bin", b"does not match the pattern")
    app = BLOB_APP.replace("CIN", cin).replace("COUT", cout)
    env = {"AzureFunctionsWebHost__hostid": unique("bh")}
    runtime = await start_host(app, env=env)
    seen = app_globals(runtime, "on_upload")["SEEN"]
    await eventually(lambda: seen)
    name, length, uri, metadata, data = seen[0]
    assert (name, length, metadata, data) == (f"{cin}/old.txt", 20, {"k": "v"}, b"existed before start")
    assert uri.endswith(f"/{cin}/old.txt")
    out, _ = await eventually(lambda: _download(storage, cout, "old.out"))
    assert out == b"TPL:existed before start"
    # a new blob fires, an overwrite (new ETag) fires again
    await storage.upload_blob(cin, "new.txt", b"new")
    await eventually(lambda: len(seen) == 2, timeout=20)
    await storage.upload_blob(cin, "new.txt", b"newer")
    await eventually(lambda: len(seen) == 3, timeout=20)
    assert [s[4] for s in seen[1:]] == [b"new", b"newer"]
    host_id = env["AzureFunctionsWebHost__hostid"]

    async def receipts_complete() -> bool:  # a receipt is completed just after its invocation returns
        receipts = await storage.list_blobs(HOSTS_CONTAINER, f"blobreceipts/{host_id}/")
        return len(receipts) == 3 and all("Incomplete" not in r.metadata for r in receipts)

    await eventually(receipts_complete)
    # a restart (same host id) does not fire any of them again
    await runtime.stop()
    runtime2 = await start_host(app, env=env, folder="app2")
    listener = next(s for s in runtime2.services if isinstance(s, BlobTriggerListener))
    assert await listener.scan() == 0
    assert app_globals(runtime2, "on_upload")["SEEN"] == []


async def _download(storage: Storage, container: str, name: str):
    from host.errors import NotFoundError

    try:
        return await storage.download_blob(container, name)
    except NotFoundError:
        return None


# --------------------------------------------------------------------------- table

TABLE_APP = """
import json
import azure.functions as func
app = func.FunctionApp()
SEEN = []

@app.queue_trigger(arg_name="msg", queue_name="QNAME", connection="AzureWebJobsStorage")
@app.table_input(arg_name="one", table_name="TNAME", partition_key="p1", row_key="{id}",
                 connection="AzureWebJobsStorage")
@app.table_input(arg_name="many", table_name="TNAME", partition_key="p1", filter="Size gt 1",
                 take=2, connection="AzureWebJobsStorage")
@app.table_output(arg_name="row", table_name="TNAME", connection="AzureWebJobsStorage")
def handle(msg: func.QueueMessage, one: str, many: str, row: func.Out[str]) -> None:
    body = msg.get_json()
    SEEN.append((json.loads(one) if one else None, json.loads(many)))
    row.set(json.dumps({"partitionKey": "p1", "RowKey": body["new"], "Size": 9}))
"""


async def test_table_input_and_output(start_host: StartHost, storage: Storage, unique) -> None:
    import base64

    from host.storage.interface import TableOp, WriteMode

    table, queue = unique("tbl"), unique("tq")
    await storage.create_table(table)
    for rk, size in (("1", 1), ("2", 2), ("3", 3), ("4", 4)):
        await storage.write_row(
            table, TableOp(WriteMode.INSERT, {"PartitionKey": "p1", "RowKey": rk, "Size": size})
        )
    await storage.create_queue(queue)
    runtime = await start_host(
        TABLE_APP.replace("QNAME", queue).replace("TNAME", table),
        host={"extensions": {"queues": {"maxDequeueCount": 2}}},
    )
    seen = app_globals(runtime, "handle")["SEEN"]
    await storage.put_message(queue, base64.b64encode(b'{"id": "3", "new": "9"}').decode())
    await eventually(lambda: seen)
    one, many = seen[0]
    assert one["RowKey"] == "3" and one["Size"] == 3 and one["PartitionKey"] == "p1"
    assert one["Timestamp"].startswith(str(datetime.now(UTC).year)) and one["odata.etag"]
    assert [r["RowKey"] for r in many] == ["2", "3"]  # Size > 1, take 2
    await eventually(lambda: storage.get_row(table, "p1", "9"))
    # the same key again: the insert conflicts, so the invocation fails (retried, then poison)
    await storage.put_message(queue, base64.b64encode(b'{"id": "404", "new": "9"}').decode())
    await eventually(lambda: len(seen) == 3, timeout=15)
    assert seen[1][0] is None  # a missing entity is None
    from triggers_support import peek

    await eventually(lambda: peek(storage, f"{queue}-poison"), timeout=15)
