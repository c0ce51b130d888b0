"""TaskHub against real storage: Azurite (session fixture) and MemoryStorage."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from waiting import eventually

from host.durable.replay import history as h
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus
from host.errors import PreconditionFailedError
from host.storage.interface import Storage

T0 = datetime(2024, 1, 1, tzinfo=UTC)


async def receive_until(hub: TaskHub, queue: str, *, timeout: float = 5.0) -> list[TaskMessage]:
    """The first non-empty receive from ``queue`` (fails the test after ``timeout``)."""
    got: list[TaskMessage] = await eventually(
        lambda: hub.receive(queue, 32, 30), timeout, f"a message on {queue}"
    )
    return got


def orchestration(n_tasks: int, instance_id: str, execution_id: str) -> list[dict[str, Any]]:
    """A plausible history: started + n scheduled/completed tasks."""
    events = [
        h.orchestrator_started(T0),
        h.execution_started(
            T0, instance_id=instance_id, execution_id=execution_id, name="Orch", input_text='"in"'
        ),
        h.orchestrator_completed(T0),
    ]
    for i in range(n_tasks):
        events += [h.task_scheduled(T0, i, "Act", f'"{i}"'), h.task_completed(T0, i, f'"r{i}"')]
    return events


# --------------------------------------------------------------------------- create


async def test_create_is_idempotent_and_cheap(storage: Storage) -> None:
    names = TaskHubNames(f"t{uuid.uuid4().hex[:12]}", 2)
    hub = TaskHub(storage, names)
    try:
        await hub.create()
        queues = await storage.list_queues(names.lower)
        assert sorted(queues) == sorted(names.all_queues)
        assert set(names.all_tables) <= set(await storage.list_tables(names.hub))
        before = storage.stats.total
        await hub.create()
        assert storage.stats.total - before == 2
    finally:
        await hub.delete()
    assert await storage.list_queues(names.lower) == []


# --------------------------------------------------------------------------- queues


async def test_send_receive_delete_and_hook(hub: TaskHub) -> None:
    seen: list[tuple[str, int]] = []
    hub.on_sent = lambda queue, msg: seen.append((queue, msg.event_type))
    event = h.event_raised(T0, "go", '{"a": 1}')
    sent = await hub.send(None, event, instance_id="inst-1")
    queue = hub.names.control_queue_for("inst-1")
    assert seen == [(queue, 15)]
    assert sent.queue == queue and sent.message_id
    got = await hub.receive_control(hub.names.partition_of("inst-1"))
    assert len(got) == 1
    msg = got[0]
    assert msg.event == event and msg.instance_id == "inst-1" and msg.execution_id is None
    assert msg.dequeue_count == 1 and msg.pop_receipt and msg.sequence_number == sent.sequence_number
    assert await hub.delete_message(msg)
    assert not await hub.delete_message(msg)  # already gone
    assert await hub.receive_control(hub.names.partition_of("inst-1")) == []


async def test_send_with_delay_is_hidden_until_due(hub: TaskHub) -> None:
    event = h.timer_fired(T0, 0, T0)
    await hub.send(hub.names.workitem_queue, event, instance_id="i", delay=timedelta(milliseconds=300))
    assert await hub.receive_workitem() == []  # rounded up to 1 s
    got = await receive_until(hub, hub.names.workitem_queue)
    assert [m.event for m in got] == [event]


async def test_abandon_makes_message_visible_again(hub: TaskHub) -> None:
    await hub.send(hub.names.workitem_queue, h.task_scheduled(T0, 0, "A", None), instance_id="i")
    [msg] = await hub.receive_workitem()
    assert await hub.abandon_message(msg, timedelta(0))
    [again] = await receive_until(hub, hub.names.workitem_queue)
    assert again.message_id == msg.message_id and again.dequeue_count == 2


async def test_large_message_goes_through_a_blob(hub: TaskHub) -> None:
    big = '"' + "x" * 100_000 + '"'
    event = h.execution_started(T0, instance_id="big/1", execution_id="e1", name="Orch", input_text=big)
    sent = await hub.send(None, event, instance_id="big/1", execution_id="e1")
    assert sent.compressed_blob_name is not None
    assert sent.compressed_blob_name.startswith("big^01/message-")
    assert sent.compressed_blob_name.endswith("-ExecutionStarted.json.gz")
    blobs = await hub.storage.list_blobs(hub.names.large_messages_container)
    assert [b.name for b in blobs] == [sent.compressed_blob_name]
    assert blobs[0].size < 10_000  # gzip
    [msg] = await hub.receive_control(hub.names.partition_of("big/1"))
    assert msg.event == event and msg.execution_id == "e1"
    assert msg.compressed_blob_name == sent.compressed_blob_name


# --------------------------------------------------------------------------- history


async def test_append_is_one_transaction_and_loads_back(hub: TaskHub) -> None:
    events = orchestration(2, "inst", "e1")
    before = dict(hub.storage.stats.counts)
    etag = await hub.append_history("inst", "e1", events, len(events), None)
    delta = {k: v - before.get(k, 0) for k, v in hub.storage.stats.counts.items() if v != before.get(k, 0)}
    assert delta == {"table.transact": 1}
    loaded = await hub.load_history("inst")
    assert loaded.events == events and loaded.execution_id == "e1" and loaded.etag == etag
    assert loaded.checkpoint_complete
    more = [h.orchestrator_started(T0), h.task_completed(T0, 0, '"again"')]
    etag2 = await hub.append_history("inst", "e1", events + more, 2, etag)
    loaded2 = await hub.load_history("inst", "e1")
    assert loaded2.events == events + more and loaded2.etag == etag2 != etag
    sentinel = await hub.storage.get_row(hub.names.history_table, "inst", "sentinel")
    assert sentinel is not None and sentinel["ExecutionId"] == "e1" and sentinel["IsCheckpointComplete"]
    assert isinstance(sentinel["CheckpointCompletedTimestamp"], datetime)


async def test_two_writers_second_gets_precondition_failed(hub: TaskHub) -> None:
    events = orchestration(1, "race", "e1")
    etag = await hub.append_history("race", "e1", events, len(events), None)
    with pytest.raises(PreconditionFailedError):  # a second "first checkpoint"
        await hub.append_history("race", "e1", events, len(events), None)
    a = [*events, h.orchestrator_started(T0)]
    b = [*events, h.orchestrator_started(T0), h.task_completed(T0, 0, '"b"')]
    await hub.append_history("race", "e1", a, 1, etag)
    with pytest.raises(PreconditionFailedError):
        await hub.append_history("race", "e1", b, 2, etag)
    assert (await hub.load_history("race")).events == a


async def test_more_than_99_rows_are_chunked(hub: TaskHub) -> None:
    events = orchestration(125, "long", "e1")  # 253 events
    before = hub.storage.stats.counts.get("table.transact", 0)
    await hub.append_history("long", "e1", events, len(events), None)
    assert hub.storage.stats.counts["table.transact"] - before == 3
    loaded = await hub.load_history("long")
    assert loaded.events == events and loaded.checkpoint_complete


async def test_load_stops_at_other_execution(hub: TaskHub) -> None:
    old = orchestration(5, "can", "e1")
    etag = await hub.append_history("can", "e1", old, len(old), None)
    new = orchestration(1, "can", "e2")
    await hub.rewrite_history("can", "e2", new, etag)
    loaded = await hub.load_history("can")
    assert loaded.execution_id == "e2" and loaded.events == new
    assert (await hub.load_history("can", "e2")).events == new
    other = await hub.load_history("can", "e1")
    assert other.events == [] and other.execution_id == "e2"
    stale = [r async for r in hub.storage.iter_rows(hub.names.history_table)]
    stale_e1 = [r for r in stale if r.get("ExecutionId") == "e1" and r.row_key != "sentinel"]
    assert len(stale_e1) == len(old) - len(new)


async def test_large_property_spill_round_trip(hub: TaskHub) -> None:
    big = '"' + "y" * 40_000 + '"'
    events = [*orchestration(0, "spill", "e1"), h.task_completed(T0, 0, big)]
    await hub.append_history("spill", "e1", events, len(events), None)
    row = await hub.storage.get_row(hub.names.history_table, "spill", "0000000000000003")
    assert row is not None and row["Result"] == "" and row["ResultBlobName"].startswith("spill/history-")
    loaded = await hub.load_history("spill")
    assert loaded.events[-1]["Result"] == big
    assert loaded.blob_names == [row["ResultBlobName"]]


# --------------------------------------------------------------------------- instances


async def test_instance_write_read_merge(hub: TaskHub) -> None:
    status = InstanceStatus(
        "x/1",
        name="Orch",
        version="",
        execution_id="e1",
        runtime_status="Pending",
        created_time=T0,
        input='"in"',
        generation=0,
    )
    await hub.create_instance(status)
    got = await hub.get_instance("x/1")
    assert got is not None and got.runtime_status == "Pending" and got.input == '"in"'
    assert got.custom_status is None and got.last_updated_time is not None
    await hub.write_instance(InstanceStatus("x/1", runtime_status="Running", custom_status='{"p": 1}'))
    got2 = await hub.get_instance("x/1")
    assert got2 is not None and got2.runtime_status == "Running" and got2.name == "Orch"
    assert got2.custom_status == '{"p": 1}' and got2.input == '"in"'
    assert await hub.get_instance("nope") is None


async def test_instance_large_input_round_trip(hub: TaskHub) -> None:
    big = '"' + "z" * 50_000 + '"'
    await hub.create_instance(InstanceStatus("big", name="O", runtime_status="Pending", input=big))
    got = await hub.get_instance("big")
    assert got is not None and got.input == big
    [listed], _ = await hub.query_instances(include_input_output=True)
    assert listed.input == big


async def test_queries_by_status_time_prefix_with_paging(hub: TaskHub) -> None:
    statuses = ["Running", "Completed", "Failed"]

    async def make(i: int) -> None:
        await hub.create_instance(
            InstanceStatus(
                f"{'a' if i % 2 else 'b'}-{i:03d}",
                name="O",
                runtime_status=statuses[i % 3],
                created_time=T0 + timedelta(minutes=i),
                input=f'"{i}"',
            )
        )

    await asyncio.gather(*(make(i) for i in range(120)))
    await hub.create_instance(
        InstanceStatus("@counter@k", name="counter", runtime_status="Running", created_time=T0)
    )
    pages: list[list[InstanceStatus]] = []
    token: str | None = None
    while True:
        page, token = await hub.query_instances(top=50, continuation=token)
        pages.append(page)
        if token is None:
            break
    assert [len(p) for p in pages] == [50, 50, 20]
    ids = [s.instance_id for p in pages for s in p]
    assert len(set(ids)) == 120 and "@counter@k" not in ids
    assert all(s.input is None for s in pages[0])
    completed, _ = await hub.query_instances({"Completed"})
    assert len(completed) == 40 and {s.runtime_status for s in completed} == {"Completed"}
    window, _ = await hub.query_instances(
        created_from=T0 + timedelta(minutes=10), created_to=T0 + timedelta(minutes=19)
    )
    assert sorted(int(s.instance_id[2:]) for s in window) == list(range(10, 20))
    prefixed, _ = await hub.query_instances(
        {"Running", "Failed"}, instance_id_prefix="a-", top=500, include_input_output=True
    )
    expected = [i for i in range(120) if i % 2 and statuses[i % 3] != "Completed"]
    assert sorted(int(s.instance_id[2:]) for s in prefixed) == expected
    assert all(s.input == f'"{int(s.instance_id[2:])}"' for s in prefixed)
    entities, _ = await hub.query_instances(instance_id_prefix="@", exclude_entities=False)
    assert [s.instance_id for s in entities] == ["@counter@k"]


async def test_purge_one_and_by_range(hub: TaskHub) -> None:
    big = '"' + "p" * 40_000 + '"'
    for n, iid in enumerate(("gone", "keep", "old")):
        events = [*orchestration(60, iid, "e1"), h.task_completed(T0, 0, big)]
        await hub.append_history(iid, "e1", events, len(events), None)
        await hub.create_instance(
            InstanceStatus(iid, name="O", runtime_status="Completed", created_time=T0 + timedelta(days=n))
        )
    await hub.send(
        None,
        h.execution_started(
            T0, instance_id="gone", execution_id="e", name="O", input_text='"' + "q" * 60_000 + '"'
        ),
        instance_id="gone",
    )
    assert await hub.purge_instance("gone") == 1
    assert await hub.get_instance("gone") is None
    assert not (await hub.load_history("gone")).exists
    assert await hub.storage.list_blobs(hub.names.large_messages_container, "gone/") == []
    assert await hub.purge_instance("gone") == 0
    await hub.write_instance(InstanceStatus("keep", runtime_status="Running"))
    assert await hub.purge_instances(T0, T0 + timedelta(days=5)) == 1  # "keep" is running
    assert await hub.get_instance("old") is None
    assert (await hub.load_history("keep")).exists
    assert [
        b.name.split("/")[0] for b in await hub.storage.list_blobs(hub.names.large_messages_container)
    ] == ["keep"]
