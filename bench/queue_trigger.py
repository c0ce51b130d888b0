"""Queue trigger: messages/s end to end (enqueue → function completed) and idle latency.

Starts its own Azurite on free loopback ports and an in-process host (the trigger components
only) over a temporary app with one async queue-triggered function, then measures:

* the raw Azurite request rate of the same machine: N plain queue puts (16 concurrent);
* end to end: N messages put by 16 concurrent clients, from the first put to the last
  function completion (default host.json: batchSize 16, newBatchThreshold 8 × cores);
* the latency of one message after the host has been idle for a while, written (a) by this
  host (queue output binding ⇒ in-process wake-up) and (b) by another process (found by the
  backed-off poll; bounded by ``maxPollingInterval``, as on the real host).

    .venv/bin/python bench/queue_trigger.py [--messages 1000] [--idle 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from host.config.settings import load_settings  # noqa: E402
from host.runtime import HostRuntime  # noqa: E402
from host.storage.azure.storage import AzureStorage  # noqa: E402
from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.storage.connection import parse_connection_string  # noqa: E402
from host.storage.interface import Storage  # noqa: E402
from host.triggers.common import wakeups_for  # noqa: E402

APP = """
import time
import azure.functions as func

app = func.FunctionApp()
DONE = {}

@app.queue_trigger(arg_name="msg", queue_name="bench-work", connection="AzureWebJobsStorage")
async def work(msg: func.QueueMessage) -> None:
    DONE[msg.get_body().decode()] = time.perf_counter()
"""
QUEUE = "bench-work"


async def put_many(storage: Storage, queue: str, bodies: list[str], concurrency: int = 16) -> float:
    """Put every body (base64) with ``concurrency`` workers; returns the start time."""
    pending = list(reversed(bodies))

    async def worker() -> None:
        while pending:
            body = pending.pop()
            await storage.put_message(queue, base64.b64encode(body.encode()).decode())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return start


async def raw_put_rate(storage: Storage, n: int) -> float:
    await storage.create_queue("bench-raw")
    start = await put_many(storage, "bench-raw", [str(i) for i in range(n)])
    elapsed = time.perf_counter() - start
    await storage.delete_queue("bench-raw")
    return n / elapsed


async def wait_done(done: dict[str, float], keys: list[str], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not all(k in done for k in keys):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {sum(k in done for k in keys)} of {len(keys)} messages completed")
        await asyncio.sleep(0.002)


async def main(messages: int, idle: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        root.mkdir()
        (root / "host.json").write_text(json.dumps({"version": "2.0"}))
        (root / "function_app.py").write_text(APP)
        azurite = start_azurite_on_free_ports(Path(tmp) / "azurite", in_memory=True)
        storage = AzureStorage(parse_connection_string(azurite.connection_string))
        try:
            raw = await raw_put_rate(storage, messages)
            await storage.create_queue(QUEUE)
            env = {"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsStorage": azurite.connection_string}
            runtime = HostRuntime(
                load_settings(root, environ=env), storage=storage, components=("host.triggers.service",)
            )
            await runtime.start()
            fn = runtime.registry.get("work")
            assert fn is not None
            done: dict[str, float] = fn.func.__globals__["DONE"]
            try:
                keys = [f"m{i}" for i in range(messages)]
                start = await put_many(storage, QUEUE, keys)
                await wait_done(done, keys, timeout=300)
                e2e = messages / (max(done[k] for k in keys) - start)

                own: list[float] = []
                other: list[float] = []
                for round_ in range(3):
                    await asyncio.sleep(idle)
                    key = f"own{round_}"
                    t0 = time.perf_counter()
                    await storage.put_message(QUEUE, base64.b64encode(key.encode()).decode())
                    wakeups_for(storage).notify(QUEUE)  # what the queue output binding does
                    await wait_done(done, [key], 30)
                    own.append((done[key] - t0) * 1000)
                    await asyncio.sleep(idle)
                    key = f"other{round_}"
                    t0 = time.perf_counter()
                    await storage.put_message(QUEUE, base64.b64encode(key.encode()).decode())
                    await wait_done(done, [key], 90)
                    other.append((done[key] - t0) * 1000)
            finally:
                await runtime.stop()
        finally:
            await storage.close()
            azurite.stop()
    print(f"Azurite raw queue puts (16 concurrent):      {raw:8.0f} puts/s")
    print(
        f"Queue trigger end to end ({messages} messages):  {e2e:8.0f} messages/s "
        f"({e2e / raw * 100:.0f}% of the raw put rate)"
    )
    print(
        f"Idle latency, host-written message:          {statistics.median(own):8.1f} ms median "
        f"(min {min(own):.1f}, max {max(own):.1f})"
    )
    print(
        f"Idle latency, externally written ({idle:.0f} s idle): {statistics.median(other):8.1f} ms median "
        f"(min {min(other):.1f}, max {max(other):.1f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.idle))
