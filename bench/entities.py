"""Benchmark of durable entities on Azurite (issue #5's figures).

    .venv/bin/python bench/entities.py [--ops 3000] [--clients 32] [--entities 100]

Starts its own Azurite (on-disk, free loopback ports) and runs the aggregator sample's Counter
entity (samples/aggregator.py) in-process. Prints:

* the raw Azurite request rate of the same run (sequential and 8-concurrent table upserts);
* one entity: ``--ops`` ``add`` signals sent by ``--clients`` concurrent clients, from the
  first send until the state holds the exact sum: operations/s, storage requests per
  operation and the number of entity checkpoints (episodes);
* ``--entities`` entities: the same number of signals spread over them.

The Azure Storage provider's published figure for one entity is about 64 operations/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from durable_engine import raw_azurite_rate  # noqa: E402

from host.durable.entities.ids import EntityId  # noqa: E402
from host.durable.entities.query import read_entity_state  # noqa: E402
from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.testing.app_host import AppHost  # noqa: E402

APP = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import azure.durable_functions as df
import azure.functions as func
from samples import aggregator

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(aggregator.bp)
"""
ONE = json.dumps(json.dumps(1))  # the SDK client's encoding of the value 1


def write_app() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="entity-bench-"))
    (folder / "function_app.py").write_text(APP)
    (folder / "host.json").write_text(json.dumps({"version": "2.0"}))
    return folder


class Checkpoints:
    """Counts entity checkpoints by wrapping the runner's checkpoint method."""

    def __init__(self, runner: Any) -> None:
        self.count = 0
        inner = runner._checkpoint

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await inner(*args, **kwargs)

        runner._checkpoint = counted


async def signal_all(host: AppHost, targets: list[EntityId], clients: int) -> None:
    """Send one ``add 1`` per target, ``clients`` senders at a time (each its own queue put)."""
    management = host.management
    queue: asyncio.Queue[EntityId] = asyncio.Queue()
    for t in targets:
        queue.put_nowait(t)

    async def client() -> None:
        while not queue.empty():
            await management.signal_entity(queue.get_nowait(), "add", ONE)

    await asyncio.gather(*(client() for _ in range(clients)))


async def wait_values(host: AppHost, expected: dict[EntityId, int], timeout: float) -> None:
    """Poll the entities' rows (one range query per round) until every one holds its sum."""
    hub = host.durable.hub
    pending = {e.instance_id: v for e, v in expected.items()}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} entities did not reach their sums")
        rows, _ = await hub.query_instances(
            instance_id_prefix="@counter@", include_input_output=True, exclude_entities=False
        )
        for row in rows:
            want = pending.get(row.instance_id)
            if want is not None and read_entity_state(row.input) == (True, want):
                del pending[row.instance_id]
        if pending:
            await asyncio.sleep(0.05)


async def run_case(
    host: AppHost, label: str, entities: list[EntityId], ops: int, clients: int, checkpoints: Checkpoints
) -> None:
    targets = [entities[i % len(entities)] for i in range(ops)]
    expected: dict[EntityId, int] = {}
    for t in targets:
        expected[t] = expected.get(t, 0) + 1
    stats = host.durable.hub.storage.stats
    before, episodes = stats.total, checkpoints.count
    t0 = time.perf_counter()
    await asyncio.gather(signal_all(host, targets, clients), wait_values(host, expected, timeout=600))
    elapsed = time.perf_counter() - t0
    requests = stats.total - before
    print(
        f"{label}: {ops} signals from {clients} clients in {elapsed:.2f} s = {ops / elapsed:.0f} ops/s; "
        f"{checkpoints.count - episodes} checkpoints; {requests / ops:.2f} storage requests per op "
        f"(incl. sends and state polling)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--entities", type=int, default=100)
    args = parser.parse_args()

    azurite = start_azurite_on_free_ports(Path(tempfile.mkdtemp(prefix="bench-azurite-")))
    try:
        conn = azurite.connection_string
        seq, conc = await raw_azurite_rate(conn)
        print(f"raw Azurite: {seq:.0f} table upserts/s sequential, {conc:.0f}/s with 8 in flight")
        async with AppHost(write_app(), connection_string=conn, virtual_time=False) as host:
            checkpoints = Checkpoints(host.durable.engine.entity_runner)
            warm = EntityId("counter", "warm-up")
            await run_case(host, "warm-up", [warm], 50, 8, checkpoints)
            run = uuid.uuid4().hex[:6]
            await run_case(
                host, "one entity", [EntityId("counter", f"one-{run}")], args.ops, args.clients, checkpoints
            )
            many = [EntityId("counter", f"{run}-{i}") for i in range(args.entities)]
            await run_case(host, f"{args.entities} entities", many, args.ops, args.clients, checkpoints)
    finally:
        azurite.stop()


if __name__ == "__main__":
    asyncio.run(main())
