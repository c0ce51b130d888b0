"""Benchmark: time to first render of the dashboard's pages on a big task hub.

Seeds a fresh task hub (Azurite started on free ports unless ``--connection`` is given) with
``--instances`` Instances rows (default 10,000, spread as ``bench/dashboard_data.py`` spreads
them) and one running instance whose history has ``--events`` events (default 1,000: an
activity chain, half scheduled and half completed). Then serves the standalone dashboard
(``python -m host dashboard``, a subprocess) and drives Debian's Chromium to each page, ``--repeat``
times, printing:

* served: the HTML's arrival (navigation ``responseEnd``), the first one cold (the server's
  first request: templates compiled, the full listing scan);
* rendered: the page laid out with its stylesheet and script (navigation ``loadEventEnd``).

The listing's later renders are served from the inspector's listing cache (only rows updated
since are read), as a dashboard open in a browser sees them.

Usage: ``.venv/bin/python bench/dashboard.py [--instances 10000] [--events 1000] [--repeat 5]``
(Chromium at ``/usr/bin/chromium`` or ``$FUNCHOST_CHROMIUM``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from dashboard_data import seed

from host.durable.replay import history as h
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.rows import InstanceStatus
from host.storage.azurite import free_port, start_azurite_on_free_ports
from host.storage.factory import open_storage

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LONG_ID = "bench-long-history"


async def seed_long_history(hub: TaskHub, events: int) -> None:
    """One Running instance whose history holds ``events`` events (a chain of activities)."""
    t0 = datetime.now(UTC) - timedelta(hours=1)
    execution = uuid.uuid4().hex
    history = [
        h.execution_started(
            t0, instance_id=LONG_ID, execution_id=execution, name="order_flow", input_text="1"
        )
    ]
    task = 0
    while len(history) < events:
        at = t0 + timedelta(seconds=task)
        history.append(h.task_scheduled(at, task, "step", f'{{"n": {task}}}'))
        history.append(h.task_completed(at + timedelta(milliseconds=300), task, f'"result {task}"'))
        task += 1
    history = history[:events]
    await hub.append_history(LONG_ID, execution, history, len(history), None)
    await hub.write_instance(
        InstanceStatus(
            LONG_ID,
            name="order_flow",
            version="",
            execution_id=execution,
            runtime_status="Running",
            created_time=t0,
            last_updated_time=datetime.now(UTC),
            input="1",
        ),
        merge=False,
    )


def browse(base: str, pages: dict[str, str], repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("FUNCHOST_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for label, path in pages.items():
                served, painted = [], []
                for _ in range(repeat):
                    page = browser.new_page()
                    page.goto(base + path, wait_until="load")
                    nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
                    served.append(nav["responseEnd"] - nav["startTime"])
                    painted.append(nav["loadEventEnd"] - nav["startTime"])
                    page.close()
                first, median = served[0], statistics.median(served)
                shown, shown_median = painted[0], statistics.median(painted)
                print(
                    f"  {label:<32} served: first {first:5.0f} ms, median {median:5.0f} ms"
                    f" | rendered: first {shown:5.0f} ms, median {shown_median:5.0f} ms"
                )
        finally:
            browser.close()


def run(connection: str, instances: int, events: int, repeat: int) -> None:
    hub_name = f"bench{uuid.uuid4().hex[:10]}"

    async def prepare() -> None:
        storage = open_storage(connection)
        hub = TaskHub(storage, TaskHubNames(hub_name))
        try:
            await hub.create()
            seconds = await seed(hub, instances)
            await seed_long_history(hub, events)
            print(f"seeded {instances:,} instances and a {events:,}-event history in {seconds:.1f} s")
        finally:
            await storage.close()

    asyncio.run(prepare())
    port = free_port()
    env = dict(os.environ, BENCH_CONNECTION=connection)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "host",
            "dashboard",
            "--connection",
            "BENCH_CONNECTION",
            "--hub",
            hub_name,
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/dashboard/static/dashboard.css", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the dashboard did not start") from None
                time.sleep(0.1)
        browse(
            base,
            {
                f"instance list ({instances:,})": "/dashboard",
                f"instance page ({events:,} events)": f"/dashboard/instance?id={LONG_ID}",
            },
            repeat,
        )
    finally:
        proc.terminate()
        proc.wait(20)

        async def drop() -> None:
            storage = open_storage(connection)
            try:
                await TaskHub(storage, TaskHubNames(hub_name)).delete()
            finally:
                await storage.close()

        asyncio.run(drop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--connection", help="a storage connection string (default: a fresh Azurite)")
    args = parser.parse_args()
    if args.connection:
        run(args.connection, args.instances, args.events, args.repeat)
        return
    azurite = start_azurite_on_free_ports(Path(tempfile.mkdtemp(prefix="bench-dashboard-")), in_memory=True)
    try:
        run(azurite.connection_string, args.instances, args.events, args.repeat)
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
