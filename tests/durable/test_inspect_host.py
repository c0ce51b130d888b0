"""The dashboard data of a running host on Azurite: hub health, entities, function counters and
the admin JSON endpoints (``/admin/durable/…``, ``/admin/host/functions``)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from waiting import eventually

from host.durable.entities.ids import EntityId
from host.durable.inspect.health import hub_health, stuck_instances
from host.durable.inspect.inspector import HubInspector
from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.partitions import PartitionManager, PartitionTimings
from host.durable.taskhub.poison import encode_record, new_record
from host.durable.taskhub.rows import InstanceStatus, sentinel_row
from host.storage.factory import open_storage
from host.storage.interface import TableOp, WriteMode
from host.testing.app_host import AppHost

APP = Path(__file__).parent / "apps" / "inspect"


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(
        APP, connection_string=azurite_connection_string, virtual_time=False, partition_table=True
    ) as h:
        yield h


async def _signal(management: Management, key: str, operation: str, value: Any = None) -> None:
    """Signal Counter ``key`` as the SDK's client does (the JSON text of the value's JSON)."""
    text = None if value is None else json.dumps(json.dumps(value))
    await management.signal_entity(EntityId("counter", key), operation, text)


def _inspector(host: AppHost) -> HubInspector:
    return host.durable.inspector


async def test_hub_health_shows_this_host_owning_every_partition_and_the_poison_queue(host: AppHost) -> None:
    inspector = _inspector(host)
    worker = host.durable.engine.worker_id
    assert inspector.this_host == worker
    hub = host.durable.hub
    put_at = datetime.now(UTC)
    record = new_record(hub.names.workitem_queue, "m-1", 6, "kept failing", put_at, put_at, '{"x": 1}')
    await hub.storage.create_queue(hub.names.poison_queue)  # made by the first quarantine
    await hub.storage.put_message(hub.names.poison_queue, encode_record(record))

    async def owned_by_this_host() -> Any:
        health = await inspector.health()
        return health if all(p.owner == worker for p in health.partitions) else None

    health = await eventually(owned_by_this_host, what="this host owning every partition")
    assert [p.index for p in health.partitions] == list(range(hub.names.partition_count))
    for lease in health.partitions:
        assert lease.lease_age is not None and lease.lease_age >= timedelta(0)
        assert lease.expires_at is not None and lease.expires_at > lease.last_renewal
        assert not lease.expired and lease.queue == hub.names.control_queue(lease.index)
    [me] = health.hosts
    assert me.worker_id == worker and me.is_this_host
    assert me.partitions == tuple(range(hub.names.partition_count))
    queues = {q.name: q for q in health.queues}
    assert set(queues) == {*hub.names.control_queues, hub.names.workitem_queue, hub.names.poison_queue}
    poison = queues[hub.names.poison_queue]
    assert poison.kind == "poison" and poison.exists and poison.length == 1
    # Storage keeps insertion times to the second: the age lies between 0 and our own elapsed time + 1 s.
    assert poison.oldest_age is not None
    assert timedelta(0) <= poison.oldest_age <= health.checked_at - put_at + timedelta(seconds=1)
    assert [(r.message_id, r.reason) for r in health.poison] == [("m-1", "kept failing")]


async def test_queue_depths_count_hidden_messages_and_age_visible_ones(
    azurite_connection_string: str,
) -> None:
    storage = open_storage(azurite_connection_string)
    hub = TaskHub(storage, TaskHubNames(f"queues{uuid.uuid4().hex[:10]}", 2))
    try:
        await hub.create()
        before = datetime.now(UTC)
        await storage.put_message(hub.names.control_queue(1), "visible")
        await storage.put_message(hub.names.workitem_queue, "later", visibility_timeout=600)
        health = await hub_health(hub)
        queues = {q.name: q for q in health.queues}
        empty = queues[hub.names.control_queue(0)]
        assert (empty.length, empty.oldest_age) == (0, None)
        visible = queues[hub.names.control_queue(1)]
        assert visible.length == 1 and visible.partition == 1 and visible.oldest_age is not None
        assert visible.oldest_age <= health.checked_at - before + timedelta(seconds=1)
        hidden = queues[hub.names.workitem_queue]
        assert (hidden.length, hidden.oldest_age) == (1, None)  # counted, but a peek cannot see it
        poison = queues[hub.names.poison_queue]
        assert not poison.exists and poison.length == 0  # created on first quarantine only
        assert [p.owner for p in health.partitions] == [None, None] and health.hosts == []
    finally:
        await hub.delete()
        await storage.close()


async def test_stuck_means_running_without_a_history_write_for_the_threshold(
    azurite_connection_string: str,
) -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    storage = open_storage(azurite_connection_string)
    hub = TaskHub(storage, TaskHubNames(f"stuck{uuid.uuid4().hex[:10]}"), clock=lambda: now)
    hour_ago, moments_ago = now - timedelta(hours=1), now - timedelta(seconds=10)

    async def instance(instance_id: str, status: str, updated: datetime, history: datetime | None) -> None:
        await hub.write_instance(
            InstanceStatus(instance_id, name="flow", runtime_status=status, last_updated_time=updated),
            merge=False,
        )
        if history is not None:
            row = sentinel_row(instance_id, "e1", complete=True, now=history)
            await storage.write_row(hub.names.history_table, TableOp(WriteMode.UPSERT_REPLACE, row))

    try:
        await hub.create()
        await instance("idle-for-an-hour", "Running", hour_ago, hour_ago)
        await instance("row-old-history-fresh", "Running", hour_ago, moments_ago)  # activities progressing
        await instance("just-updated", "Running", moments_ago, moments_ago)
        await instance("finished-long-ago", "Completed", hour_ago, hour_ago)
        await instance("no-history-at-all", "Running", hour_ago - timedelta(hours=1), None)
        await instance("@counter@idle", "Running", hour_ago, hour_ago)  # entities are never "stuck"
        report = await stuck_instances(hub, timedelta(minutes=5))
        assert [(s.instance_id, s.idle, s.last_history_write) for s in report.instances] == [
            ("no-history-at-all", timedelta(hours=2), None),
            ("idle-for-an-hour", timedelta(hours=1), hour_ago),
        ]
        assert not report.truncated and report.threshold == timedelta(minutes=5)
        assert [s.instance_id for s in (await stuck_instances(hub, timedelta(hours=3))).instances] == []
        tight = await stuck_instances(hub, timedelta(seconds=5))
        assert {s.instance_id for s in tight.instances} == {
            "no-history-at-all",
            "idle-for-an-hour",
            "row-old-history-fresh",
            "just-updated",
        }
        assert (await stuck_instances(hub, timedelta(minutes=5), limit=1)).truncated
    finally:
        await hub.delete()
        await storage.close()


async def test_entities_are_listed_by_name_with_state_and_last_operation(host: AppHost) -> None:
    inspector = _inspector(host)
    management = host.management
    for key, amount in (("a", 5), ("b", 7), ("gone", 1)):
        await _signal(management, key, "add", amount)

    async def three() -> Any:
        listing = await inspector.list_entities("Counter")
        return listing if len(listing.entities) == 3 else None

    listing = await eventually(three, what="three counters")
    assert [(e.entity_id.key, e.state, e.exists) for e in listing.entities] == [
        ("a", 5, True),
        ("b", 7, True),
        ("gone", 1, True),
    ]
    assert all(e.last_operation_time is not None and e.queue_size == 0 for e in listing.entities)
    await _signal(management, "gone", "delete")

    async def deleted() -> Any:
        found = await inspector.get_entity(EntityId("counter", "gone"))
        return found is not None and not found.exists

    await eventually(deleted, what="the deleted counter")
    assert [e.entity_id.key for e in (await inspector.list_entities()).entities] == ["a", "b"]
    with_deleted = await inspector.list_entities("counter", include_deleted=True)
    assert [e.entity_id.key for e in with_deleted.entities] == ["a", "b", "gone"]
    assert [e.entity_id.key for e in (await inspector.list_entities("nothing")).entities] == []
    paged = await inspector.list_entities(page_size=1)
    assert [e.entity_id.key for e in paged.entities] == ["a"] and paged.continuation is not None
    one = await inspector.get_entity(EntityId("counter", "b"))
    assert one is not None and one.state == 7
    assert await inspector.get_entity(EntityId("counter", "never")) is None


async def test_function_counters_after_successes_and_failures(host: AppHost) -> None:
    client = host.client
    assert client is not None
    assert (await client.get("/api/greet")).status_code == 200
    assert (await client.get("/api/greet")).status_code == 200
    assert (await client.get("/api/greet", params={"fail": "not today"})).status_code == 500
    failed = await host.run("calls_boom", "the widget broke")
    assert failed.runtime_status == "Failed"
    stats = host.runtime.function_stats  # type: ignore[union-attr]
    greet = stats.get("greet")
    assert (greet.invocations, greet.failures) == (3, 1)
    assert greet.last_error == "ValueError: greeting refused: not today"
    boom = stats.get("boom")
    assert (boom.invocations, boom.failures) == (1, 1)
    assert boom.last_error == "RuntimeError: the widget broke"
    orchestrator = stats.get("calls_boom")
    assert orchestrator.invocations >= 2 and orchestrator.failures == 1  # the episode that failed
    assert orchestrator.last_error is not None and "the widget broke" in orchestrator.last_error

    body = (await client.get("/admin/host/functions")).json()
    by_name = {f["name"]: f for f in body["functions"]}
    assert set(by_name) == {f.name for f in host.registry}
    assert by_name["greet"]["trigger"] == "httpTrigger"
    assert by_name["greet"]["counters"]["invocations"] == 3
    assert by_name["greet"]["counters"]["lastError"] == "ValueError: greeting refused: not today"
    assert by_name["waits_for_approval"]["counters"]["invocations"] == 0
    triggers = [f["trigger"] for f in body["functions"]]
    assert triggers == sorted(triggers)


async def test_admin_endpoints_answer_json_and_name_bad_parameters(host: AppHost) -> None:
    client = host.client
    assert client is not None
    waiting = await host.start("waits_for_approval", instance_id="approval-1")
    done = await host.run("calls_boom", "x")

    async def running() -> Any:
        r = await client.get("/admin/durable/instances", params={"status": "Running"})
        ids = [i["instanceId"] for i in r.json()["instances"]]
        return r.json() if ids == [waiting] else None

    body = await eventually(running, what="the waiting instance listed as Running")
    assert body["counts"]["byStatus"] == {"Failed": 1, "Running": 1} and body["counts"]["total"] == 2
    assert body["matched"] == 1 and body["continuation"] is None
    r = await client.get("/admin/durable/instances", params={"prefix": "appr", "name": "waits_for_approval"})
    assert [i["instanceId"] for i in r.json()["instances"]] == [waiting]
    r = await client.get("/admin/durable/instances", params={"name": "calls_boom", "pageSize": "1"})
    assert [i["instanceId"] for i in r.json()["instances"]] == [done.instance_id]
    assert r.json()["instances"][0]["lastUpdatedTime"].endswith("Z")
    for params, named in (
        ({"status": "Runing"}, "Runing"),
        ({"createdFrom": "yesterday"}, "createdFrom"),
        ({"continuation": "nonsense"}, "continuation token"),
        ({"pageSize": "0"}, "pageSize"),
        ({"order": "name"}, "order"),
        ({"order": "instance_id", "continuation": "t:not-a-table-token"}, "continuation token"),
        ({"prefix": "x" * 300}, "256"),
    ):
        r = await client.get("/admin/durable/instances", params=params)
        assert r.status_code == 400 and named in r.json()["Message"], (params, r.text)
    hub = (await client.get("/admin/durable/hub", params={"stuckAfter": "3600"})).json()
    assert len(hub["partitions"]) == host.durable.hub.names.partition_count
    assert hub["stuck"]["threshold"] == 3600 and hub["stuck"]["instances"] == []
    for bad in ("-1", "1e300", "nan"):  # negative, past what a duration holds, not a number
        r = await client.get("/admin/durable/hub", params={"stuckAfter": bad})
        assert r.status_code == 400 and "stuckAfter" in r.json()["Message"], r.text
    r = await client.get("/admin/durable/entities", params={"continuation": "b\u0086?"})
    assert r.status_code == 400 and "continuation token" in r.json()["Message"], r.text
    await _signal(host.management, "k", "add", 2)

    async def counter() -> Any:
        r = await client.get("/admin/durable/entities/Counter/k")
        return r.json() if r.status_code == 200 and r.json()["state"] == 2 else None

    entity = await eventually(counter, what="the counter's state over the admin endpoint")
    assert entity["entityId"] == {"name": "counter", "key": "k"} and entity["exists"] is True
    listed = (await client.get("/admin/durable/entities", params={"name": "counter"})).json()
    assert [e["entityId"]["key"] for e in listed["entities"]] == ["k"]
    assert (await client.get("/admin/durable/entities/counter/none")).status_code == 404
    r = await client.get("/admin/durable/entities/counter/a/b")  # a key may not hold a slash
    assert r.status_code == 400 and "key" in r.json()["Message"], r.text


async def test_the_instance_listing_shows_the_orchestration_version(host: AppHost) -> None:
    client = host.client
    assert client is not None
    await host.management.start_orchestration("waits_for_approval", "ver-2", version="2.0")
    await host.management.start_orchestration("waits_for_approval", "ver-0")

    async def listed(order: str) -> Any:
        r = await client.get("/admin/durable/instances", params={"prefix": "ver-", "order": order})
        rows = {i["instanceId"]: i["version"] for i in r.json()["instances"]}
        return rows if len(rows) == 2 else None

    for order in ("last_updated", "instance_id"):
        rows = await eventually(functools.partial(listed, order), what=f"both instances listed ({order})")
        assert rows == {"ver-2": "2.0", "ver-0": None}


async def test_hub_health_shows_every_host_sharing_the_hub(azurite_connection_string: str) -> None:
    storage = open_storage(azurite_connection_string)
    hub = TaskHub(storage, TaskHubNames(f"shared{uuid.uuid4().hex[:10]}", 4))
    timings = PartitionTimings(
        renew_interval=0.5, acquire_interval=0.5, lease_interval=4.0, waiting_interval=0.2
    )

    def manager(worker: str) -> PartitionManager:
        return PartitionManager(hub, worker, lambda i: None, lambda i: None, timings)

    first, second = manager("host-a"), manager("host-b")
    try:
        await hub.create()
        await first.start()
        await second.start()

        async def balanced() -> Any:
            health = await hub_health(hub, this_host="host-b")
            return health if [len(h.partitions) for h in health.hosts] == [2, 2] else None

        health = await eventually(balanced, what="two hosts with two partitions each")
        assert [(h.worker_id, h.is_this_host) for h in health.hosts] == [("host-a", False), ("host-b", True)]
        assert sorted(i for h in health.hosts for i in h.partitions) == [0, 1, 2, 3]
        assert all(p.lease_age is not None and not p.expired for p in health.partitions)
        await second.stop()  # a graceful stop hands its partitions back

        async def one_left() -> Any:
            health = await hub_health(hub)
            hosts = [(h.worker_id, h.partitions) for h in health.hosts]
            return health if hosts == [("host-a", (0, 1, 2, 3))] else None

        alone = await eventually(one_left, what="host-a holding every partition after host-b stopped")
        assert {p.owner for p in alone.partitions} == {"host-a"} and not alone.hosts[0].is_this_host
    finally:
        await first.stop()
        await second.stop()
        await hub.delete()
        await storage.close()
