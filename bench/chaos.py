"""Chaos benchmark: host processes on one hub are SIGKILLed and Azurite restarted during a run.

    .venv/bin/python bench/chaos.py [--chains 800] [--fans 100] [--width 5] [--nested 100] [--hosts 3]
                                    [--kills 8] [--azurite-restarts 2] [--seed 1]

Starts its own on-disk Azurite (free loopback ports, restarted on the same ports) and
``python -m host start`` processes of tests/engine/apps/chaos (chains of 3 activities, fan-outs,
a durable timer then a chain as a sub-orchestration; counter entities signalled by every chain
and fan-out). At random points of the work a random host is
SIGKILLed (a new one is started in its place) or Azurite is stopped for a moment and restarted.
Prints the raw Azurite rate of the same run, then:

* instances, kills, Azurite restarts;
* lost: instances not Completed (with the right output) by the deadline;
* duplicates: TaskScheduled events with more than one completion in the History table (likewise
  sub-orchestrations and timers), and activity executions beyond the scheduled count (activities
  are at-least-once);
* recovery p50/max: from a kill until every partition the killed host owned ran an episode again
  (kills of a host whose partitions had nothing pending do not count).

Every other killed host is started again on its own port (same worker id: it takes its
partitions back at once), the others are replaced by a host on a new port.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from chaos_support import ChaosPlan, ChaosRun, describe  # noqa: E402
from durable_engine import raw_azurite_rate  # noqa: E402


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chains", type=int, default=800)
    parser.add_argument("--fans", type=int, default=100)
    parser.add_argument("--width", type=int, default=5)
    parser.add_argument("--nested", type=int, default=100, help="timer + sub-orchestration instances")
    parser.add_argument("--seconds", type=float, default=0.1, help="how long one activity sleeps")
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--azurite-restarts", type=int, default=2)
    parser.add_argument("--azurite-down", type=float, default=2.0, help="seconds Azurite stays down")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for every instance")
    args = parser.parse_args()

    plan = ChaosPlan(
        chains=args.chains,
        fans=args.fans,
        nested=args.nested,
        width=args.width,
        seconds=args.seconds,
        hosts=args.hosts,
        kills=args.kills,
        azurite_restarts=args.azurite_restarts,
        azurite_down=args.azurite_down,
        seed=args.seed,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    run = ChaosRun(workdir, plan)
    try:
        await run.start()
        seq, conc = await raw_azurite_rate(run.azurite.connection_string)
        print(f"raw Azurite: {seq:.0f} table upserts/s sequential, {conc:.0f}/s with 8 in flight")
        t0 = time.perf_counter()
        await run.run()
        try:
            await run.wait_completed(args.timeout)
            await run.wait_counters(60)
        except AssertionError as err:
            print(f"NOT EVERYTHING DONE: {err}")
        elapsed = time.perf_counter() - t0
        report = await run.report()
    finally:
        await run.aclose()
    print(
        f"{report.instances} instances ({args.chains} chains of 3, {args.fans} fan-outs of {args.width}, "
        f"{args.nested} timer + sub-orchestration), "
        f"{args.hosts} hosts, {len(report.kills)} kills, {len(report.azurite_restarts)} Azurite restarts, "
        f"seed {args.seed}: everything done in {elapsed:.0f} s"
    )
    print(f"lost: {report.lost}")
    print(
        f"duplicates: {report.duplicates} completions in history (missing: {report.missing}); "
        f"activity executions {report.executions} for {report.scheduled} scheduled "
        f"({report.executions - report.scheduled} re-runs)"
    )
    rec = report.recoveries()
    if rec:
        print(
            f"recovery after a kill: p50 {statistics.median(rec):.1f} s, max {max(rec):.1f} s "
            f"(over the {len(rec)} kills whose host's partitions had instances pending)"
        )
    print(f"counters: {report.counters} (expected {report.expected_counters})")
    print(f"kills: {describe(report.kills)}")
    for problem in report.problems[:20]:
        print(f"PROBLEM: {problem}")
    if not report.problems and not report.lost:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"host logs kept in {workdir}")
    return 1 if report.problems or report.lost else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
