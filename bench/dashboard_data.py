"""Benchmark: the dashboard's data over a task hub of many instances (default 10,000).

Seeds Instances rows straight into a fresh task hub (Azurite started on free ports unless
``--connection`` is given; statuses, names and times spread like a busy day), then times, each
``--repeat`` times (median and worst printed):

1. the first page of the instance listing (newest update first, with counts per status), cold
   (one full scan) — what the dashboard renders first;
2. the next page, cold (its continuation token);
3. the first page again through a ``HubInspector`` whose listing cache is filled (it reads only
   rows updated since: what a dashboard polling for live updates costs);
4. a filtered first page (one status and one orchestrator name);
5. a page in instance-id order (the table's own paging; no scan);
6. the counts per status alone;
7. the hub health (partitions, queue depths, poison, stuck instances).

Usage: ``.venv/bin/python bench/dashboard_data.py [--instances 10000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from host.durable.inspect.inspector import HubInspector
from host.durable.inspect.instances import InstanceFilter, list_instances
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.rows import InstanceStatus
from host.storage.azurite import start_azurite_on_free_ports
from host.storage.factory import open_storage

STATUSES = ("Completed",) * 7 + ("Running", "Failed", "Pending", "Terminated")
NAMES = ("order_flow", "approval", "fan_out", "monitor", "nightly_report")


async def seed(hub: TaskHub, count: int, parallel: int = 64) -> float:
    """Write ``count`` Instances rows (as the engine leaves them); returns the seconds it took."""
    rnd = random.Random(1)
    now = datetime.now(UTC)
    gate = asyncio.Semaphore(parallel)

    async def one(i: int) -> None:
        created = now - timedelta(seconds=rnd.randint(0, 86_400))
        status = rnd.choice(STATUSES)
        row = InstanceStatus(
            uuid.uuid4().hex,
            name=rnd.choice(NAMES),
            version="",
            execution_id=uuid.uuid4().hex,
            runtime_status=status,
            created_time=created,
            last_updated_time=created + timedelta(seconds=rnd.randint(1, 600)),
            completed_time=created + timedelta(seconds=600) if status == "Completed" else None,
            input='{"order": 12345, "customer": "contoso", "items": [1, 2, 3]}',
            output='"done"' if status == "Completed" else None,
            custom_status='{"step": 3}',
        )
        async with gate:
            await hub.write_instance(row, merge=False)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - t0


async def timed(what: str, repeat: int, call: Callable[[], Awaitable[Any]]) -> Any:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await call()
        times.append(time.perf_counter() - t0)
    median, worst = statistics.median(times) * 1000, max(times) * 1000
    print(f"  {what:<44} median {median:7.0f} ms   worst {worst:7.0f} ms")
    return result


async def run(connection: str, count: int, repeat: int) -> None:
    storage = open_storage(connection)
    hub = TaskHub(storage, TaskHubNames(f"bench{uuid.uuid4().hex[:10]}"))
    try:
        await hub.create()
        seconds = await seed(hub, count)
        print(f"seeded {count:,} instances in {seconds:.1f} s")
        inspector = HubInspector(hub)
        first = await timed(
            "first page, cold (50, newest first, counts)", repeat, lambda: list_instances(hub)
        )
        print(f"    counts: {first.counts.by_status}  matched {first.matched:,}  truncated {first.truncated}")
        await timed(
            "next page, cold (continuation)",
            repeat,
            lambda: list_instances(hub, continuation=first.continuation),
        )
        await inspector.list_instances()  # fills the inspector's listing cache
        await timed("first page, cached (reads what changed)", repeat, inspector.list_instances)
        where = InstanceFilter(statuses=frozenset({"Running"}), name="approval")
        await timed("filtered page, cold (Running, one name)", repeat, lambda: list_instances(hub, where))
        by_id = InstanceFilter()
        await timed(
            "page in instance-id order", repeat, lambda: list_instances(hub, by_id, order="instance_id")
        )
        await timed("counts per status alone", repeat, inspector.status_counts)
        await timed("hub health", repeat, inspector.health)
    finally:
        await hub.delete()
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--connection", help="a storage connection string (default: a fresh Azurite)")
    args = parser.parse_args()
    if args.connection:
        asyncio.run(run(args.connection, args.instances, args.repeat))
        return
    azurite = start_azurite_on_free_ports(Path(tempfile.mkdtemp(prefix="bench-dashboard-")), in_memory=True)
    try:
        asyncio.run(run(azurite.connection_string, args.instances, args.repeat))
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
