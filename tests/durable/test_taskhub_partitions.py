"""Partition manager on the Partitions table: split, hand-over, takeover of a dead worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from waiting import eventually

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.partitions import PartitionManager, PartitionTimings
from host.storage.interface import TableOp, WriteMode

FAST = PartitionTimings(renew_interval=0.2, acquire_interval=0.2, lease_interval=1.5, waiting_interval=0.1)


async def wait_for(check: Callable[[], bool], timeout: float) -> None:
    await eventually(check, timeout, interval=0.02)


class Worker:
    """A manager plus the set of partitions its callbacks say it is listening to."""

    def __init__(self, hub: TaskHub, name: str) -> None:
        self.listening: set[int] = set()
        self.events: list[tuple[str, int]] = []

        async def acquired(i: int) -> None:
            assert i not in self.listening
            self.listening.add(i)
            self.events.append(("acquired", i))

        def lost(i: int) -> None:
            self.listening.discard(i)
            self.events.append(("lost", i))

        on_lost: Callable[[int], Awaitable[None] | None] = lost
        self.manager = PartitionManager(hub, name, acquired, on_lost, FAST)


async def test_two_workers_split_then_survivor_takes_over(hub: TaskHub) -> None:
    a, b = Worker(hub, "worker-a"), Worker(hub, "worker-b")
    await a.manager.start()
    assert a.listening == {0, 1, 2, 3} == a.manager.owned
    await b.manager.start()
    try:
        await wait_for(lambda: len(a.listening) == 2 and len(b.listening) == 2, timeout=10)
        assert a.listening.isdisjoint(b.listening)
        rows = [r async for r in hub.storage.iter_rows(hub.names.partitions_table)]
        owners = {r.row_key: r["CurrentOwner"] for r in rows}
        assert sorted(owners) == list(hub.names.control_queues)
        assert sorted(owners.values()) == ["worker-a", "worker-a", "worker-b", "worker-b"]
        assert all("ExpiresAt" in r and "LastRenewal" in r and "OwnedSince" in r for r in rows)
        # worker-a dies: it stops renewing without releasing
        await a.manager.stop(release=False)
        # taken over once a's leases expire (the deadline leaves room for one lease interval)
        await wait_for(lambda: b.listening == {0, 1, 2, 3}, timeout=FAST.lease_interval + 3)
    finally:
        await b.manager.stop()
        await a.manager.stop(release=False)


async def test_graceful_stop_hands_partitions_over(hub: TaskHub) -> None:
    a, b = Worker(hub, "worker-a"), Worker(hub, "worker-b")
    await a.manager.start()
    await b.manager.start()
    try:
        await wait_for(lambda: len(b.listening) == 2, timeout=10)
        await a.manager.stop()
        assert a.listening == set()
        lost = {i for kind, i in a.events if kind == "lost"}
        assert lost == {i for kind, i in a.events if kind == "acquired"}
        await wait_for(lambda: b.listening == {0, 1, 2, 3}, timeout=FAST.lease_interval)  # no expiry wait
        rows = [r async for r in hub.storage.iter_rows(hub.names.partitions_table)]
        assert {r["CurrentOwner"] for r in rows} == {"worker-b"}
    finally:
        await b.manager.stop()


async def test_partition_handed_to_a_worker_that_died_is_claimed_after_expiry(hub: TaskHub) -> None:
    a = Worker(hub, "worker-a")
    await a.manager.start()
    try:
        # worker-ghost asked for partition 0, worker-a released it, then the ghost died unclaimed.
        rows = {r.row_key: r async for r in hub.storage.iter_rows(hub.names.partitions_table)}
        row = rows[hub.names.control_queue(0)]
        released = {k: v for k, v in row.items() if k != "CurrentOwner"}
        released["NextOwner"] = "worker-ghost"
        await hub.storage.write_row(hub.names.partitions_table, TableOp(WriteMode.UPSERT_REPLACE, released))
        a.manager.owned.discard(0)
        a.listening.discard(0)
        await wait_for(lambda: 0 in a.listening, timeout=FAST.lease_interval + 3)
        taken = await hub.storage.get_row(hub.names.partitions_table, "", hub.names.control_queue(0))
        assert taken is not None and taken["CurrentOwner"] == "worker-a" and "NextOwner" not in taken
    finally:
        await a.manager.stop()
