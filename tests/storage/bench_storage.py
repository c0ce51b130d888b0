"""Quick request-rate benchmark of AzureStorage against a private in-memory Azurite.

Run: ``.venv/bin/python tests/storage/bench_storage.py [--n 400] [--concurrency 8]``.
Prints one line per operation: requests/s sequentially and with N concurrent tasks, plus the
client's CPU ms per request. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from host.storage.azure.storage import AzureStorage
from host.storage.azurite import start_azurite_on_free_ports
from host.storage.connection import parse_connection_string
from host.storage.interface import TableOp, WriteMode


async def rate(n: int, conc: int, op: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await op(i)

    cpu0, t0 = os.times(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    return n / wall, cpu / n * 1000


async def main(conn: str, n: int, conc: int) -> None:
    s = AzureStorage(parse_connection_string(conn))
    q, t = f"bench{uuid.uuid4().hex[:8]}", f"bench{uuid.uuid4().hex[:8]}"
    await s.create_queue(q)
    await s.create_table(t)
    body = "x" * 1024

    async def put(i: int) -> None:
        await s.put_message(q, body)

    async def receive_delete(i: int) -> None:
        for m in await s.receive_messages(q):
            await s.delete_message(q, m.id, m.pop_receipt)

    async def upsert(i: int) -> None:
        await s.write_row(t, TableOp(WriteMode.UPSERT_REPLACE,
                                     {"PartitionKey": "p", "RowKey": f"{i:06d}", "data": body}))

    async def get(i: int) -> None:
        await s.get_row(t, "p", f"{i:06d}")

    try:
        for label, op in (("queue put", put), ("queue receive+delete", receive_delete),
                          ("table upsert", upsert), ("table point read", get)):
            for c in (1, conc):
                if op is receive_delete:
                    await asyncio.gather(*(s.put_message(q, body) for _ in range(n)))
                r, cpu = await rate(n, c, op)
                print(f"{label:22s} concurrency {c:2d}: {r:7.1f} ops/s, client CPU {cpu:.2f} ms/op")
    finally:
        await s.delete_queue(q)
        await s.delete_table(t)
        await s.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        azurite = start_azurite_on_free_ports(Path(folder), in_memory=True)
        try:
            asyncio.run(main(azurite.connection_string, args.n, args.concurrency))
        finally:
            azurite.stop()
