"""CPU-bound fan-out with 1 and 2 language worker processes in one host (FUNCTIONS_WORKER_PROCESS_COUNT).

    .venv/bin/python bench/cpu_fanout.py [--activities 200] [--ms 50] [--processes 1,2]

Starts its own Azurite and runs bench/apps/cpu_bench in-process: one orchestration fans out N
activities of ~M ms of pure-Python CPU each (calibrated on this machine first), once per worker
process count, after a warm-up fan-out (so process start and app import are not timed); the
counts alternate ``--repeat`` times and the best time of each is compared (other work on a
shared machine only ever slows a run). Prints the
raw Azurite rate of the same run, what a bare process pool gets from this (shared) machine right
now with the same work, how many cores the processes running the activities got (their CPU time
over the wall time: on a shared machine, the reason a speed-up is missing), the load average
before and after, and the speed-up.

Two hosts on one hub are not measured here: an orchestration's activities all run on the host that
owns its partition until activities are spread over the hosts of a hub.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from durable_engine import raw_azurite_rate  # noqa: E402

from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.testing.app_host import AppHost  # noqa: E402

APP = Path(__file__).parent / "apps" / "cpu_bench"
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


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=200)
    parser.add_argument("--ms", type=float, default=50.0)
    parser.add_argument("--processes", default="1,2", help="worker process counts to compare")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds over the counts (best of them: the machine is shared)"
    )
    args = parser.parse_args()
    counts = [int(p) for p in args.processes.split(",")]

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
        results: dict[int, list[float]] = {p: [] for p in counts}
        for processes in [p for _ in range(args.repeat) for p in counts]:  # alternating: 1, 2, 1, 2
            elapsed, pids, cores = await run(conn, processes, args.activities, loops)
            results[processes].append(elapsed)
            print(
                f"FUNCTIONS_WORKER_PROCESS_COUNT={processes}: fan-out of {args.activities} CPU-bound "
                f"activities {elapsed:.2f} s ({args.activities / elapsed:.1f} activities/s, "
                f"run by {len(pids)} process(es){', the host among them' if os.getpid() in pids else ''}, "
                f"which got {cores:.2f} cores on average)"
            )
        best = {p: min(times) for p, times in results.items()}
        for processes, elapsed in best.items():
            if 1 in best and processes != 1:
                print(
                    f"speed-up with {processes} worker processes: {best[1] / elapsed:.2f}x "
                    f"(best of {args.repeat}: {best[1]:.2f} s → {elapsed:.2f} s)"
                )
        print("two hosts on one hub: not measured (activities are not spread over hosts yet)")
    finally:
        azurite.stop()
    print(f"load average after: {load()}")


if __name__ == "__main__":
    asyncio.run(main())
