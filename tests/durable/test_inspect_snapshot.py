"""The listing cache on Azurite: later requests read only rows updated since (plus an overlap),
full scans put the rest right, and a cached listing equals a fresh one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from host.durable.inspect.instances import InstanceFilter, InstancePage, list_instances
from host.durable.inspect.snapshot import ListingCache
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.rows import InstanceStatus
from host.storage.factory import open_storage


@pytest.fixture
async def hub(azurite_connection_string: str) -> AsyncIterator[TaskHub]:
    storage = open_storage(azurite_connection_string)
    task_hub = TaskHub(storage, TaskHubNames(f"snap{uuid.uuid4().hex[:10]}"))
    await task_hub.create()
    yield task_hub
    await task_hub.delete()
    await storage.close()


async def _write(hub: TaskHub, instance_id: str, status: str, updated: datetime, name: str = "flow") -> None:
    row = InstanceStatus(instance_id, name=name, runtime_status=status, last_updated_time=updated)
    await hub.write_instance(row, merge=False)


async def test_refreshes_read_what_changed_and_full_scans_the_rest(hub: TaskHub) -> None:
    now = datetime.now(UTC)
    for i in range(30):
        await _write(hub, f"old-{i:02d}", "Completed", now - timedelta(hours=1, seconds=i))
    clock = [0.0]
    cache = ListingCache(hub, full_every=30.0, overlap=timedelta(seconds=30), monotonic=lambda: clock[0])

    async def statuses() -> dict[str, str]:
        rows, truncated = await cache(InstanceFilter(), 1000)
        assert not truncated
        return {r.partition_key: r["RuntimeStatus"] for r in rows}

    assert len(await statuses()) == 30
    await _write(hub, "new-1", "Running", now)  # a start writes LastUpdatedTime
    await _write(hub, "old-05", "Failed", now + timedelta(seconds=1))  # a status change does too
    seen = await statuses()
    assert (len(seen), seen["new-1"], seen["old-05"]) == (31, "Running", "Failed")
    # A change stamped far before what was seen (a host's clock way behind) waits for a full scan.
    await _write(hub, "old-07", "Terminated", now - timedelta(hours=2))
    assert (await statuses())["old-07"] == "Completed"
    clock[0] += 30.0
    assert (await statuses())["old-07"] == "Terminated"
    # A purged instance does not come back by itself: invalidate() after a purge.
    await hub.purge_instance("old-09")
    assert "old-09" in await statuses()
    cache.invalidate()
    assert "old-09" not in await statuses()


async def test_a_cached_listing_pages_like_a_fresh_one(hub: TaskHub) -> None:
    now = datetime.now(UTC)
    for i in range(40):
        await _write(
            hub, f"i-{i:02d}", ("Running", "Completed")[i % 2], now - timedelta(seconds=i), f"n{i % 3}"
        )
    cache = ListingCache(hub)
    where = InstanceFilter(statuses=frozenset({"Completed"}), name="n1")
    await list_instances(hub, where, source=cache)  # filled
    await _write(hub, "i-01", "Running", now + timedelta(seconds=5), "n1")  # leaves Completed
    await _write(hub, "i-99", "Completed", now + timedelta(seconds=6), "n1")  # a new one at the top
    fresh: list[InstancePage] = []
    cached: list[InstancePage] = []
    for target, source in ((fresh, None), (cached, cache)):
        token = None
        while True:
            page = await list_instances(hub, where, page_size=3, continuation=token, source=source)
            target.append(page)
            token = page.continuation
            if token is None:
                break
    assert [p.instances for p in cached] == [p.instances for p in fresh]
    assert [p.counts for p in cached] == [p.counts for p in fresh]
    assert cached[0].instances[0].instance_id == "i-99"
    assert "i-01" not in {s.instance_id for p in cached for s in p.instances}
