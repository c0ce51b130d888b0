"""Benchmark of the durable engine on Azurite (issue #3's figures).

    .venv/bin/python bench/durable_engine.py [--chains 200] [--fanout 1000] [--idle 1000]

Starts its own Azurite (on-disk, free loopback ports) and runs the app in bench/apps/durable_bench
in-process. Prints:

* raw Azurite request rate of the same run (sequential and 8-concurrent table upserts), so the
  ratios are visible;
* one 5-activity chain start → Completed: p50/p90 over 20 runs;
* N concurrent 5-activity chains: chains/s and storage requests per chain (counted);
* fan-out/fan-in of M activities: seconds;
* resident memory with K idle orchestrations waiting for an event.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host.durable.taskhub.rows import InstanceStatus  # noqa: E402
from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.storage.factory import open_storage  # noqa: E402
from host.storage.interface import TableOp, WriteMode  # noqa: E402
from host.testing.app_host import AppHost  # noqa: E402

APP = Path(__file__).parent / "apps" / "durable_bench"


async def raw_azurite_rate(conn: str, n: int = 300) -> tuple[float, float]:
    """Table upserts per second: one at a time, and 8 at a time."""
    storage = open_storage(conn)
    table = f"raw{uuid.uuid4().hex[:10]}"
    await storage.create_table(table)
    row = {"PartitionKey": "p", "Data": "x" * 1000}
    t0 = time.perf_counter()
    for i in range(n):
        await storage.write_row(table, TableOp(WriteMode.UPSERT_REPLACE, {**row, "RowKey": str(i)}))
    seq = n / (time.perf_counter() - t0)
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> None:
        async with sem:
            await storage.write_row(table, TableOp(WriteMode.UPSERT_REPLACE, {**row, "RowKey": f"c{i}"}))

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    conc = n / (time.perf_counter() - t0)
    await storage.delete_table(table)
    await storage.close()
    return seq, conc


def per_op(before: dict[str, int], after: dict[str, int], per: int) -> str:
    """``op n, ...`` of the requests sent between two snapshots, divided by ``per``."""
    diff = {op: (n - before.get(op, 0)) / per for op, n in after.items() if n != before.get(op, 0)}
    return ", ".join(f"{op} {n:.2f}" for op, n in sorted(diff.items(), key=lambda kv: -kv[1]))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def wait_all(host: AppHost, ids: list[str], timeout: float) -> list[InstanceStatus]:
    return list(await asyncio.gather(*(host.wait(i, timeout) for i in ids)))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument(
        "--idle-window",
        type=float,
        default=0,
        help="also count the storage requests of an idle host over this many seconds",
    )
    args = parser.parse_args()

    azurite = start_azurite_on_free_ports(Path(tempfile.mkdtemp(prefix="bench-azurite-")))
    try:
        conn = azurite.connection_string
        seq, conc = await raw_azurite_rate(conn)
        print(f"raw Azurite: {seq:.0f} table upserts/s sequential, {conc:.0f}/s with 8 in flight")

        async with AppHost(APP, connection_string=conn, virtual_time=False) as host:
            stats = host.durable.hub.storage.stats
            await host.run("hello5")  # warm-up
            times = []
            for _ in range(args.single):
                t0 = time.perf_counter()
                status = await host.run("hello5")
                times.append((time.perf_counter() - t0) * 1000)
                assert status.runtime_status == "Completed", status
            times.sort()
            print(
                f"one 5-activity chain: p50 {statistics.median(times):.0f} ms, "
                f"p90 {times[int(len(times) * 0.9) - 1]:.0f} ms (n={args.single})"
            )

            before, ops_before = stats.total, stats.snapshot()
            t0 = time.perf_counter()
            ids = await asyncio.gather(*(host.start("hello5") for _ in range(args.chains)))
            done = await wait_all(host, list(ids), timeout=600)
            elapsed = time.perf_counter() - t0
            assert all(s.runtime_status == "Completed" for s in done)
            requests = stats.total - before
            print(
                f"{args.chains} concurrent 5-activity chains: {args.chains / elapsed:.1f} chains/s "
                f"({elapsed:.1f} s), {requests / args.chains:.1f} storage requests per chain "
                f"({requests / elapsed:.0f} requests/s)"
            )
            print("  per chain by operation: " + per_op(ops_before, stats.snapshot(), args.chains))

            before, ops_before = stats.total, stats.snapshot()
            t0 = time.perf_counter()
            status = await host.run("fan_out", args.fanout, timeout=600)
            elapsed = time.perf_counter() - t0
            expected = sum(i * i for i in range(args.fanout))
            assert status.runtime_status == "Completed" and status.output == str(expected), status
            # Work items are deleted after Completed, off the critical path: count them too.
            later = host.durable.engine.later_deletes
            deadline = time.monotonic() + 60
            while later.pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            requests = stats.total - before
            print(
                f"fan-out/fan-in of {args.fanout} activities: {elapsed:.1f} s, "
                f"{requests / args.fanout:.2f} storage requests per activity (with the deletes "
                f"sent after Completed)"
            )
            print("  per activity by operation: " + per_op(ops_before, stats.snapshot(), args.fanout))

            base = rss_mb()
            ids = await asyncio.gather(*(host.start("wait_for_approval") for _ in range(args.idle)))
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                rows = await asyncio.gather(*(host.durable.hub.get_instance(i) for i in ids[-20:]))
                if all(r is not None and r.runtime_status == "Running" for r in rows):
                    break
                await asyncio.sleep(0.5)
            print(
                f"resident memory with {args.idle} idle waiting orchestrations: {rss_mb():.0f} MB "
                f"(before starting them: {base:.0f} MB)"
            )
        if args.idle_window > 0:
            for label, poll in (("local defaults", None), ("maxQueuePollingInterval 30 s", "00:00:30")):
                await idle_requests(conn, args.idle_window, label, poll)
    finally:
        azurite.stop()


async def idle_requests(conn: str, window: float, label: str, poll: str | None) -> None:
    """Storage requests of an idle host (partition table on, as ``func start`` runs) over ``window``."""
    provider = {"maxQueuePollingInterval": poll} if poll else {}
    host_json = {"extensions": {"durableTask": {"storageProvider": provider}}}
    async with AppHost(
        APP, connection_string=conn, virtual_time=False, partition_table=True, host_json=host_json
    ) as host:
        stats = host.durable.hub.storage.stats
        await host.run("hello5")  # the pollers back off from here on
        await asyncio.sleep(min(35.0, window / 2))  # to their idle interval
        before = stats.snapshot()
        await asyncio.sleep(window)
        idle = stats.total - sum(before.values())
        print(
            f"idle host ({label}): {idle} storage requests in {window:.0f} s "
            f"({idle * 3600 / window:.0f} per hour): " + per_op(before, stats.snapshot(), 1)
        )


if __name__ == "__main__":
    asyncio.run(main())
