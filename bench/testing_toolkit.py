"""The testing toolkit's speed: sample test file per storage, fixed cost per test, a 5-activity chain.

* ``sample-file``: wall time of ``pytest tests/sample`` on each storage (a fresh pytest process;
  the Azurite run includes starting the session's Azurite), and the number of tests;
* ``fixed-cost``: start + stop of the sample app in-process on a fresh task hub (what every test
  pays), median over ``--runs``;
* ``chain``: a 5-activity chain, start to finish (``app.run``), median over ``--runs`` on a warm
  app, on memory (target: under 10 ms) and on Azurite; also with the activity stubbed.

Usage: ``.venv/bin/python bench/testing_toolkit.py [--runs 30] [--skip-files]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.testing import AppHost  # noqa: E402

CHAIN_APP = REPO / "tests" / "testing" / "apps" / "toolkit"


def sample_file(storage: str) -> dict[str, float]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/sample", "-k", storage],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - began
    last = (done.stdout.strip().splitlines() or [""])[-1]
    passed = int(last.split(" passed")[0].split()[-1]) if " passed" in last else 0
    if done.returncode != 0:
        print(done.stdout[-2000:], file=sys.stderr)
    return {"seconds": round(wall, 2), "tests": passed, "ok": done.returncode == 0}


async def fixed_cost(storage: str, conn: str | None, runs: int) -> float:
    samples = []
    for _ in range(runs + 1):
        began = time.perf_counter()
        async with AppHost(REPO, storage=storage, connection_string=conn, virtual_time=True):
            pass
        samples.append(time.perf_counter() - began)
    return statistics.median(samples[1:]) * 1000  # the first one pays the imports


async def chain(storage: str, conn: str | None, runs: int, stubbed: bool) -> float:
    async with AppHost(CHAIN_APP, storage=storage, connection_string=conn, virtual_time=True) as app:
        if stubbed:
            app.stub("greet", lambda name: f"stub {name}")
        for _ in range(5):
            await app.run("chain", expect="Completed")
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            await app.run("chain", ["A", "B", "C", "D", "E"], expect="Completed")
            samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


async def in_process(conn: str, runs: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for storage, c in (("memory", None), ("azurite", conn)):
        out[storage] = {
            "fixed_cost_ms": round(await fixed_cost(storage, c, runs), 1),
            "chain5_ms": round(await chain(storage, c, runs, stubbed=False), 1),
            "chain5_stubbed_ms": round(await chain(storage, c, runs, stubbed=True), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-files", action="store_true", help="skip the pytest runs of tests/sample")
    args = parser.parse_args()
    results: dict[str, object] = {}
    if not args.skip_files:
        results["sample_file"] = {s: sample_file(s) for s in ("memory", "azurite")}
    with tempfile.TemporaryDirectory() as tmp:
        azurite = start_azurite_on_free_ports(Path(tmp), in_memory=True)
        try:
            results["in_process"] = asyncio.run(in_process(azurite.connection_string, args.runs))
        finally:
            azurite.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
