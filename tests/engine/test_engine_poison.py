"""Poison-proof intake on Azurite: messages that can never be processed are quarantined in the
hub's poison queue (logged once), while the instances around them keep running."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from engine_support import APPS, until

from host.durable.management import Management
from host.durable.replay import history as h
from host.durable.taskhub.base import MAX_INFLATED_BYTES
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.messages import encode_message, encode_wrapper, new_message
from host.storage import open_storage
from host.testing.app_host import AppHost

POISON_APP = APPS / "poison"


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(POISON_APP, connection_string=azurite_connection_string, virtual_time=False) as h:
        yield h


def instance_on(hub: TaskHub, partition: int, prefix: str) -> str:
    """An instance id that hashes to ``partition``."""
    n = 0
    while True:
        iid = f"{prefix}-{n}"
        if hub.names.partition_of(iid) == partition:
            return iid
        n += 1


def valid_body(instance_id: str) -> dict[str, Any]:
    event = h.event_raised(h.parse_timestamp("2026-01-01T00:00:00Z"), "Nobody", '"waits"')
    parsed: dict[str, Any] = json.loads(encode_message(new_message(event, instance_id=instance_id)))
    return parsed


async def put_poison(hub: TaskHub, queue: str, tag: str) -> dict[str, str]:
    """Put one message of each poison kind on ``queue``; returns {message id: kind}."""
    bad_type = valid_body(f"ghost-{tag}")
    bad_type["TaskMessage"]["Event"]["EventType"] = "abc"
    bad_sender = valid_body(f"ghost-{tag}")
    bad_sender["Sender"] = "oops"
    bomb = f"poison-test/{tag}-{uuid.uuid4().hex}.json.gz"
    await hub.storage.upload_blob(
        hub.names.large_messages_container,
        bomb,
        gzip.compress(b" " * (MAX_INFLATED_BYTES + 4096), compresslevel=1),
    )
    wrapper = new_message(
        h.event_raised(h.parse_timestamp("2026-01-01T00:00:00Z"), "x", None), instance_id=f"ghost-{tag}"
    )
    bodies = {
        "EventType": json.dumps(bad_type),
        "Sender": json.dumps(bad_sender),
        "JSON": "{this is not json",
        "Base64": "%%% neither JSON nor base64 %%%",
        "inflates": encode_wrapper(wrapper, bomb),
        "missing": encode_wrapper(wrapper, f"poison-test/{tag}-gone.json.gz"),
    }
    sent = {}
    for kind, body in bodies.items():
        msg = await hub.storage.put_message(queue, body)
        sent[msg.id] = kind
    return sent


async def test_poison_messages_are_quarantined_while_instances_complete(
    host: AppHost, caplog: pytest.LogCaptureFixture
) -> None:
    hub: TaskHub = host.durable.hub
    caplog.set_level(logging.WARNING, logger="host")
    expected: dict[str, tuple[str, str]] = {}
    for queue in (*hub.names.control_queues, hub.names.workitem_queue):
        for message_id, kind in (await put_poison(hub, queue, queue[-2:])).items():
            expected[message_id] = (queue, kind)
    # Another client (no in-memory hand-over): every start goes through the control queue poller.
    remote = Management(TaskHub(hub.storage, hub.names))
    ids = [instance_on(hub, p % 4, f"run{p}") for p in range(8)]
    for p, iid in enumerate(ids):
        if p >= 4:
            iid = ids[p] = instance_on(hub, p % 4, f"again{p}")
        await remote.start_orchestration(
            "greet_three", iid, json.dumps(json.dumps(iid))
        )  # as the SDK sends it
    for iid in ids:
        status = await host.wait(iid, 60)
        assert status.runtime_status == "Completed", (iid, status.output)

    async def quarantined() -> dict[str, Any] | None:
        records = {r.message_id: r for r in await hub.peek_poison(32)}
        return records if set(expected) <= set(records) else None

    records = await until(quarantined, 30, what="every poison message in the poison queue")
    assert await hub.poison_count() == len(expected)
    for message_id, (queue, kind) in expected.items():
        record = records[message_id]
        assert record.queue == queue, (kind, record)
        assert kind.lower() in record.reason.lower(), (kind, record.reason)
        logged = [r for r in caplog.records if message_id in r.getMessage()]
        assert len(logged) == 1, (kind, [r.getMessage() for r in logged])
        assert queue in logged[0].getMessage() and "poison" in logged[0].getMessage()
    # The originals are gone from the queues they poisoned.
    for queue in (*hub.names.control_queues, hub.names.workitem_queue):
        await until(lambda q=queue: _empty(hub, q), 30, what=f"{queue} to drain")


async def _empty(hub: TaskHub, queue: str) -> bool:
    return await hub.storage.queue_length(queue) == 0


async def test_a_message_dequeued_too_often_is_quarantined(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="host")
    names = TaskHubNames(f"t{uuid.uuid4().hex[:16]}", 4)
    storage = open_storage(azurite_connection_string)
    try:
        hub = TaskHub(storage, names)
        await hub.create()
        # A well-formed message that some host already received three times without finishing it.
        iid = instance_on(hub, 1, "tired")
        queue = names.control_queue(1)
        sent = await storage.put_message(queue, json.dumps(valid_body(iid)))
        for _ in range(3):
            got = await storage.receive_messages(queue, max_messages=1, visibility_timeout=30)
            assert [m.id for m in got] == [sent.id]
            await storage.update_message(queue, sent.id, got[0].pop_receipt, visibility_timeout=0)
    finally:
        await storage.close()
    settings = {"AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxDequeueCount": "2"}
    async with AppHost(
        POISON_APP,
        connection_string=azurite_connection_string,
        hub_name=names.hub,
        settings=settings,
        virtual_time=False,
    ) as app:
        hub = app.durable.hub

        async def poisoned() -> Any:
            return next((r for r in await hub.peek_poison() if r.message_id == sent.id), None)

        record = await until(poisoned, 30, what="the over-dequeued message in the poison queue")
        assert record.queue == queue and record.dequeue_count == 4
        assert "maxDequeueCount" in record.reason and "2" in record.reason
        assert json.loads(record.content or "")["TaskMessage"]["OrchestrationInstance"]["InstanceId"] == iid
        await until(lambda: _empty(hub, queue), 30, what=f"{queue} to drain")
        logged = [r for r in caplog.records if sent.id in r.getMessage()]
        assert len(logged) == 1, [r.getMessage() for r in logged]


def failing_receive(hub: TaskHub, partition: int, *, times: int | None) -> list[int]:
    """Make ``hub``'s receives of control queue ``partition`` raise (``times`` times, None = always)."""
    original = hub.receive_control
    failures: list[int] = []

    async def receive_control(p: int, *args: Any, **kwargs: Any) -> Any:
        if p == partition and (times is None or len(failures) < times):
            failures.append(p)
            raise RuntimeError("injected poller failure")
        return await original(p, *args, **kwargs)

    hub.receive_control = receive_control  # type: ignore[method-assign,assignment]  # a spy
    return failures


async def test_a_dead_poller_is_restarted_with_a_log_line(
    host: AppHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="host")
    hub: TaskHub = host.durable.hub
    failures = failing_receive(hub, 2, times=1)
    await until(
        lambda: any(
            "poller control-2 died" in r.getMessage() and "restarting" in r.getMessage()
            for r in caplog.records
        ),
        20,
        what="the restart log line",
    )
    assert failures == [2]
    assert host.durable.engine.pollers.running(2)
    # The restarted poller serves its queue: a start that only reaches the engine through it.
    iid = instance_on(hub, 2, "after-restart")
    await Management(TaskHub(hub.storage, hub.names)).start_orchestration(
        "greet_three", iid, json.dumps(json.dumps("x"))
    )
    status = await host.wait(iid, 30)
    assert status.runtime_status == "Completed"


async def test_a_partition_whose_poller_keeps_dying_goes_to_another_host(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="host")
    hub_name = f"t{uuid.uuid4().hex[:16]}"
    lease = {
        "extensions": {
            "durableTask": {
                "storageProvider": {"partitionCount": 4, "leaseInterval": 2, "leaseRenewInterval": 0.5}
            }
        }
    }

    def app(port: int) -> AppHost:
        return AppHost(
            POISON_APP,
            connection_string=azurite_connection_string,
            hub_name=hub_name,
            partition_table=True,
            host_json=lease,
            port=port,
            virtual_time=False,
        )

    async with app(7301) as first:
        engine_a = first.durable.engine
        await until(lambda: engine_a.owned == {0, 1, 2, 3}, 20, what="the first host to own every partition")
        failing_receive(first.durable.hub, 3, times=None)
        await until(
            lambda: any("releasing partition 3" in r.getMessage() for r in caplog.records),
            20,
            what="the first host to give partition 3 up",
        )
        assert 3 not in engine_a.owned
        async with app(7302) as second:
            engine_b = second.durable.engine
            await until(lambda: 3 in engine_b.owned, 20, what="the second host to take partition 3")
            hub: TaskHub = second.durable.hub
            iid = instance_on(hub, 3, "moved")
            await Management(TaskHub(hub.storage, hub.names)).start_orchestration(
                "greet_three", iid, json.dumps(json.dumps("x"))
            )
            status = await second.wait(iid, 30)
            assert status.runtime_status == "Completed"
            assert 3 not in engine_a.owned


async def test_an_activity_whose_work_item_keeps_coming_back_fails_for_its_orchestration(
    azurite_connection_string: str,
) -> None:
    hub_name = f"t{uuid.uuid4().hex[:16]}"
    short_lock = {"extensions": {"durableTask": {"storageProvider": {"controlQueueVisibilityTimeout": 5}}}}
    iid = ""
    queue = ""
    # The first host runs the activity from memory (its start message is the anchor) and "dies";
    # the second receives the anchor, puts the activity on the work-item queue and dies too.
    for attempt in range(2):
        async with AppHost(
            POISON_APP,
            connection_string=azurite_connection_string,
            hub_name=hub_name,
            host_json=short_lock,
            virtual_time=False,
        ) as dying:
            started = asyncio.Event()

            async def hangs(_value: Any, started: asyncio.Event = started) -> None:  # the host "dies"
                started.set()
                await asyncio.Event().wait()

            dying.stub("greet", hangs)
            if attempt == 0:
                iid = await dying.start("greet_three", "x")
            await asyncio.wait_for(started.wait(), 30)
            await dying.durable.engine.stop(timeout=0.1)
            if attempt == 0:
                continue
            hub: TaskHub = dying.durable.hub
            queue = hub.names.workitem_queue

            async def take(hub: TaskHub = hub, queue: str = queue) -> Any:
                got = await hub.storage.receive_messages(queue, max_messages=1, visibility_timeout=30)
                return got[0] if got else None

            for _ in range(3):  # other hosts took it and died too
                item = await until(take, 30, what="the abandoned work item to become visible")
                await hub.storage.update_message(queue, item.id, item.pop_receipt, visibility_timeout=0)
    settings = {"AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxDequeueCount": "2"}
    async with AppHost(
        POISON_APP,
        connection_string=azurite_connection_string,
        hub_name=hub_name,
        settings=settings,
        virtual_time=False,
    ) as second:
        status = await second.wait(iid, 30)
        assert status.runtime_status == "Failed"
        assert "Activity function 'greet' was not run" in (status.output or "")
        assert "maxDequeueCount 2" in (status.output or "")
        records = await second.durable.hub.peek_poison()
        assert [r.queue for r in records] == [queue] and records[0].dequeue_count == 4
