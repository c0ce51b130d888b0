"""CPU-bound fan-out with 1 and 2 language worker processes in one host (FUNCTIONS_WORKER_PROCESS_COUNT),
or (``--mode hosts``) on one host and on two hosts sharing the task hub.

    .venv/bin/python bench/cpu_fanout.py [--activities 200] [--ms 50] [--processes 1,2]
    .venv/bin/python bench/cpu_fanout.py --mode hosts [--activities 200] [--ms 50] [--hosts 1,2]

Starts its own Azurite and runs bench/apps/cpu_bench in-process: one orchestration fans out N
activities of ~M ms of pure-Python CPU each (calibrated on this machine first), once per worker
process count, after a warm-up fan-out (so process start and app import are not timed); the
counts alternate ``--repeat`` times and the best time of each is compared (other work on a
shared machine only ever slows a run). Prints the
raw Azurite rate of the same run, what a bare process pool gets from this (shared) machine right
now with the same work, how many cores the processes running the activities got (their CPU time
over the wall time: on a shared machine, the reason a speed-up is missing), the load average
before and after, and the speed-up.

``--mode hosts`` starts each host as its own ``python -m host start`` process (one Python process
per host, as on separate machines) on a fresh hub, waits until the hosts share the partitions
evenly, runs a warm-up fan-out, then times one fan-out from the client's start to the Completed
row (alternating the host counts ``--repeat`` times, best of each). The host owning the
orchestration runs what its free activity slots take; the rest waits on the shared work-item
queue for whichever host has a free slot.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from crash_support import HostProcess, HubView, owned_by, partition_rows  # noqa: E402
from durable_engine import raw_azurite_rate  # noqa: E402

from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.testing.app_host import AppHost  # noqa: E402

APP = Path(__file__).parent / "apps" / "cpu_bench"
PARTITIONS = 4
"""Partitions of the hub (the task hub's default)."""
sys.path.insert(0, str(APP))


def calibrate(ms: float) -> int:
    """Loop count of ``burn`` that takes about ``ms`` milliseconds here (best of 5)."""
    # The app folder is on sys.path at run time; mypy sees the repo root's function_app.py instead.
    from function_app import burn  # type: ignore[attr-defined]  # the app's own activity: same work

    loops = 100_000
    best = min(_timed(burn, loops) for _ in range(5))
    return max(1, round(loops * ms / 1000 / best))


def _timed(fn: object, loops: int) -> float:
    t0 = time.perf_counter()
    fn(loops)  # type: ignore[operator]
    return time.perf_counter() - t0


def _burn(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def raw_pool_seconds(processes: int, count: int, loops: int) -> float:
    """Seconds a bare spawn process pool (no host) takes for ``count`` × ``_burn(loops)``."""
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_burn, [1] * processes * 2))
        t0 = time.perf_counter()
        list(pool.map(_burn, [loops] * count))
        return time.perf_counter() - t0


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def run(conn: str, processes: int, count: int, loops: int) -> tuple[float, list[int], float]:
    """(seconds, pids that ran the activities, cores they got on average)."""
    settings = {"FUNCTIONS_WORKER_PROCESS_COUNT": str(processes)}
    async with AppHost(APP, connection_string=conn, virtual_time=False, settings=settings) as host:
        await host.run("burn_fan_out", [max(4, processes * 2), loops], timeout=120)  # warm-up
        workers = host._runtime.invoker.workers
        pids = [os.getpid()] if workers is None else workers.pids
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        status = await host.run("burn_fan_out", [count, loops], timeout=600)
        elapsed = time.perf_counter() - t0
        cores = (cpu_seconds(pids) - cpu0) / elapsed
        assert status.runtime_status == "Completed", status
        return elapsed, list(host.output(status)), cores


async def run_hosts(
    conn: str, hosts: int, count: int, loops: int, log_dir: Path
) -> tuple[float, list[int], float]:
    """(seconds, pids that ran the activities, cores the hosts got) of one fan-out on ``hosts`` host
    processes sharing a fresh task hub."""
    hub = f"cpu{uuid.uuid4().hex[:10]}"
    procs = [HostProcess(APP, hub, conn, log_dir, f"{hub}-{n}") for n in range(hosts)]
    view = HubView(conn, hub, PARTITIONS)
    try:
        for proc in procs:
            await proc.ready(60)

        async def balanced() -> bool:
            rows = await partition_rows(view)
            return all(owned_by(rows, p) == PARTITIONS // hosts for p in procs)

        await until(balanced, 60)
        await fan_out(view, "warm-up", max(8, hosts * 4), loops)
        pids = [p.proc.pid for p in procs]
        cpu0, t0 = cpu_seconds(pids), time.perf_counter()
        ran_on = await fan_out(view, "measured", count, loops)
        elapsed = time.perf_counter() - t0
        return elapsed, ran_on, (cpu_seconds(pids) - cpu0) / elapsed
    finally:
        for proc in procs:
            proc.stop()
        await view.close()


async def fan_out(view: HubView, instance_id: str, count: int, loops: int) -> list[int]:
    """Start ``burn_fan_out`` and wait for its Completed row; the pids that ran its activities."""
    await view.start("burn_fan_out", instance_id, [count, loops])

    async def output() -> list[int] | None:
        return (await view.completed()).get(instance_id)

    pids: list[int] = await until(output, 600, interval=0.02)
    return pids


async def until(probe: Callable[[], Awaitable[Any]], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await probe()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{probe.__name__}: not done within {timeout:g} s")
        await asyncio.sleep(interval)
    return value


Run = Callable[[int], Awaitable[tuple[float, list[int], float]]]
"""One timed fan-out with ``n`` (worker processes or hosts): (seconds, pids that ran it, cores used)."""


async def compare(run_one: Run, counts: list[int], activities: int, repeat: int, label: str) -> None:
    """Alternate the counts ``repeat`` times (1, 2, 1, 2: a shared machine's load hits both); print
    each run and the speed-up of the best times."""
    results: dict[int, list[float]] = {n: [] for n in counts}
    for n in [n for _ in range(repeat) for n in counts]:
        elapsed, pids, cores = await run_one(n)
        results[n].append(elapsed)
        host_too = ", the host among them" if os.getpid() in pids else ""
        print(
            f"{label.format(n=n)}: fan-out of {activities} CPU-bound activities {elapsed:.2f} s "
            f"({activities / elapsed:.1f} activities/s, run by {len(pids)} process(es){host_too}, "
            f"which got {cores:.2f} cores on average)"
        )
    best = {n: min(times) for n, times in results.items()}
    for n, elapsed in best.items():
        if 1 in best and n != 1:
            print(
                f"speed-up with {label.format(n=n)}: {best[1] / elapsed:.2f}x "
                f"(best of {repeat}: {best[1]:.2f} s → {elapsed:.2f} s)"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=200)
    parser.add_argument("--ms", type=float, default=50.0)
    parser.add_argument(
        "--mode",
        choices=["processes", "hosts"],
        default="processes",
        help="compare worker process counts in one host, or host counts on one hub",
    )
    parser.add_argument("--processes", default="1,2", help="worker process counts to compare")
    parser.add_argument("--hosts", default="1,2", help="host counts to compare (--mode hosts)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds over the counts (best of them: the machine is shared)"
    )
    args = parser.parse_args()
    counts = [int(p) for p in (args.hosts if args.mode == "hosts" else args.processes).split(",")]

    print(f"load average before: {load()} ({os.cpu_count()} cores)")
    loops = calibrate(args.ms)
    print(
        f"calibrated: {loops} loops ≈ {args.ms:.0f} ms of CPU per activity "
        f"({args.activities * args.ms / 1000:.1f} s of CPU in all)"
    )
    azurite = start_azurite_on_free_ports(Path(tempfile.mkdtemp(prefix="bench-azurite-")))
    try:
        conn = azurite.connection_string
        seq, conc = await raw_azurite_rate(conn)
        print(f"raw Azurite: {seq:.0f} table upserts/s sequential, {conc:.0f}/s with 8 in flight")
        raw = {p: min(raw_pool_seconds(p, args.activities // 4, loops) for _ in range(2)) for p in counts}
        print(
            f"bare process pool, {args.activities // 4} of the same activities (best of 2): "
            + ", ".join(f"{p} process(es) {t:.2f} s" for p, t in raw.items())
            + (
                f" ({raw[1] / raw[2]:.2f}x: what this machine gives two processes right now)"
                if 1 in raw and 2 in raw
                else ""
            )
        )
        if args.mode == "hosts":
            log_dir = Path(tempfile.mkdtemp(prefix="bench-hosts-"))
            await compare(
                lambda n: run_hosts(conn, n, args.activities, loops, log_dir),
                counts,
                args.activities,
                args.repeat,
                "{n} host(s) on one hub",
            )
        else:
            await compare(
                lambda n: run(conn, n, args.activities, loops),
                counts,
                args.activities,
                args.repeat,
                "FUNCTIONS_WORKER_PROCESS_COUNT={n}",
            )
    finally:
        azurite.stop()
    print(f"load average after: {load()}")


if __name__ == "__main__":
    asyncio.run(main())
