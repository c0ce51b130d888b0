"""Client CPU per storage request of AzureStorage, next to raw requests of the same kind.

    .venv/bin/python bench/storage_client.py [--n 400] [--concurrency 8] [--impl lean|sdk]

Starts a private in-memory Azurite on free loopback ports. For each hot operation the engine uses
(queue put, receive of 32, update, delete; table upsert, merge, point get, query of 30 rows,
transaction of 6 rows) prints ops/s with ``--concurrency`` requests in flight and the client's
CPU ms per request (``time.process_time()``, this process only; Azurite is another process).
The ``raw`` columns send the same requests with bare aiohttp and an account SAS (no signing, no
response parsing): what Azurite itself can do, so the ratios are visible.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host.storage.azure.storage import AzureSdkStorage, AzureStorage  # noqa: E402
from host.storage.azurite import start_azurite_on_free_ports  # noqa: E402
from host.storage.connection import StorageAccount, parse_connection_string  # noqa: E402
from host.storage.interface import QueueMessage, TableOp, WriteMode, eq  # noqa: E402

BODY = "x" * 600
Op = Callable[[int], Awaitable[object]]


def entity(pk: str, rk: str) -> dict[str, Any]:
    """A history-row-like entity: strings, ints (32 and 64 bit), a bool and a datetime."""
    return {
        "PartitionKey": pk,
        "RowKey": rk,
        "EventType": "TaskCompleted",
        "EventId": 7,
        "TaskScheduledId": 2**40,
        "IsPlayed": False,
        "Result": BODY[:300],
        "_Timestamp": datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    }


async def measure(n: int, conc: int, op: Op) -> tuple[float, float]:
    """(ops/s, client CPU ms/op) of ``n`` calls of ``op`` with ``conc`` in flight."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await op(i)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return n / wall, cpu / n * 1000


def make_storage(account: StorageAccount, impl: str) -> AzureSdkStorage:
    return AzureSdkStorage(account) if impl == "sdk" else AzureStorage(account)


async def client_ops(s: AzureSdkStorage, n: int) -> dict[str, tuple[int, Op]]:
    """Operation name -> (count, op); prepares the queue/table state each one needs, lazily."""
    q, t = f"bq{uuid.uuid4().hex[:10]}", f"bt{uuid.uuid4().hex[:10]}"
    await s.create_queue(q)
    await s.create_table(t)
    receives = max(10, n // 16)
    got: list[QueueMessage] = []
    receipts: dict[str, str] = {}
    await asyncio.gather(
        *(s.write_row(t, TableOp(WriteMode.UPSERT_REPLACE, entity("q30", f"{i:04d}"))) for i in range(30))
    )

    async def put(i: int) -> None:
        await s.put_message(q, BODY)

    async def prefill(_: int) -> None:
        await asyncio.gather(*(s.put_message(q, BODY) for _ in range(receives * 32 - n)))

    async def receive(i: int) -> None:
        got.extend(await s.receive_messages(q, max_messages=32, visibility_timeout=600))

    async def update(i: int) -> None:
        m = got[i]
        receipts[m.id] = await s.update_message(q, m.id, m.pop_receipt, visibility_timeout=600)

    async def delete(i: int) -> None:
        m = got[i]
        await s.delete_message(q, m.id, receipts.get(m.id, m.pop_receipt))

    async def upsert(i: int) -> None:
        await s.write_row(t, TableOp(WriteMode.UPSERT_REPLACE, entity("p", f"{i:06d}")))

    async def merge(i: int) -> None:
        await s.write_row(
            t,
            TableOp(
                WriteMode.UPSERT_MERGE,
                {"PartitionKey": "p", "RowKey": f"{i:06d}", "Status": "Completed", "N": i},
            ),
        )

    async def get(i: int) -> None:
        row = await s.get_row(t, "p", f"{i:06d}")
        assert row is not None

    async def query(i: int) -> None:
        page = await s.query_rows(t, eq("PartitionKey", "q30"))
        assert len(page.rows) == 30

    async def transact(i: int) -> None:
        await s.transact(
            t, [TableOp(WriteMode.UPSERT_REPLACE, entity(f"tx{i}", f"{k:04d}")) for k in range(6)]
        )

    return _plan(
        n,
        receives,
        put,
        prefill,
        receive,
        update,
        delete,
        upsert,
        merge,
        get,
        query,
        transact,
        _cleanup(s, q, t),
    )


def _plan(n: int, receives: int, *ops: Op) -> dict[str, tuple[int, Op]]:
    """The measured operations in order, each with its request count (``_``: not measured)."""
    put, prefill, receive, update, delete, upsert, merge, get, query, transact, cleanup = ops
    return {
        "queue put": (n, put),
        "_prefill": (0, prefill),
        "queue receive(32)": (receives, receive),
        "queue update": (n, update),
        "queue delete": (n, delete),
        "table upsert": (n, upsert),
        "table merge": (n, merge),
        "table get": (n, get),
        "table query(30)": (max(10, n // 4), query),
        "table transact(6)": (max(10, n // 4), transact),
        "_cleanup": (0, cleanup),
    }


def _cleanup(s: AzureSdkStorage, q: str, t: str) -> Op:
    async def run(_: int) -> None:
        await s.delete_queue(q)
        await s.delete_table(t)

    return run


# --------------------------------------------------------------------------- raw requests


def account_sas(a: StorageAccount) -> tuple[str, str]:
    """(queue SAS, table SAS) query strings for the account (made once with the SDKs)."""
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.data.tables import AccountSasPermissions as TPerm
    from azure.data.tables import ResourceTypes as TTypes
    from azure.data.tables import generate_account_sas as table_sas
    from azure.storage.queue import generate_account_sas as queue_sas

    expiry = datetime.now(UTC) + timedelta(hours=2)
    qs = queue_sas(a.account_name, a.account_key or "", "sco", "rwdlacup", expiry)
    ts = table_sas(
        AzureNamedKeyCredential(a.account_name, a.account_key or ""),
        TTypes(service=True, container=True, object=True),
        TPerm(read=True, write=True, delete=True, list=True, add=True, update=True),
        expiry,
    )
    return qs, ts


_ENTITY_JSON = (
    '{"PartitionKey":"%s","RowKey":"%s","EventType":"TaskCompleted","EventId":7,'
    '"TaskScheduledId":"1099511627776","TaskScheduledId@odata.type":"Edm.Int64",'
    '"IsPlayed":false,"Result":"' + BODY[:300] + '","_Timestamp":'
    '"2024-05-01T12:00:00.123456Z","_Timestamp@odata.type":"Edm.DateTime"}'
)
_MSG_RE = re.compile(r"<MessageId>([^<]+)</MessageId>.*?<PopReceipt>([^<]+)</PopReceipt>", re.S)


def _batch_body(base: str, table: str, pk: str) -> tuple[str, str]:
    batch, change = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    parts = [f"--{batch}", f"Content-Type: multipart/mixed; boundary={change}", ""]
    for k in range(6):
        parts += [
            f"--{change}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"PUT {base}/{table}(PartitionKey='{pk}',RowKey='{k:04d}') HTTP/1.1",
            "Content-Type: application/json",
            "Accept: application/json;odata=nometadata",
            "DataServiceVersion: 3.0",
            "",
            _ENTITY_JSON % (pk, f"{k:04d}"),
        ]
    parts += [f"--{change}--", f"--{batch}--", ""]
    return "\r\n".join(parts), batch


async def raw_ops(a: StorageAccount, session: aiohttp.ClientSession, n: int) -> dict[str, tuple[int, Op]]:
    """The same operations as bare requests (bodies read, not parsed beyond ids/receipts)."""
    qs, ts = account_sas(a)
    qbase, tbase = a.endpoint("queue").rstrip("/"), a.endpoint("table").rstrip("/")
    q, t = f"rq{uuid.uuid4().hex[:10]}", f"rt{uuid.uuid4().hex[:10]}"
    qh = {"x-ms-version": "2021-12-02"}
    th = {
        "x-ms-version": "2019-02-02",
        "Accept": "application/json;odata=nometadata",
        "Content-Type": "application/json",
        "DataServiceVersion": "3.0",
    }
    msg_xml = f"<QueueMessage><MessageText>{BODY}</MessageText></QueueMessage>"
    receives = max(10, n // 16)
    got: list[tuple[str, str]] = []
    receipts: dict[str, str] = {}

    async def req(method: str, url: str, headers: dict[str, str], data: str | None = None) -> str:
        async with session.request(method, url, headers=headers, data=data) as r:
            text = await r.text()
            assert r.status < 300, (r.status, text[:200])
            if "x-ms-popreceipt" in r.headers:
                receipts[url.split("/messages/")[1].split("?")[0]] = r.headers["x-ms-popreceipt"]
            return text

    await req("PUT", f"{qbase}/{q}?{qs}", qh)
    await req("POST", f"{tbase}/Tables?{ts}", th, f'{{"TableName":"{t}"}}')
    for i in range(30):
        url = f"{tbase}/{t}(PartitionKey='q30',RowKey='{i:04d}')?{ts}"
        await req("PUT", url, th, _ENTITY_JSON % ("q30", i))

    async def put(i: int) -> None:
        await req("POST", f"{qbase}/{q}/messages?{qs}", qh, msg_xml)

    async def prefill(_: int) -> None:
        await asyncio.gather(*(put(0) for _ in range(receives * 32 - n)))

    async def receive(i: int) -> None:
        text = await req("GET", f"{qbase}/{q}/messages?numofmessages=32&visibilitytimeout=600&{qs}", qh)
        got.extend(_MSG_RE.findall(text))

    async def update(i: int) -> None:
        mid, pop = got[i]
        query = f"popreceipt={_quote(pop)}&visibilitytimeout=600&{qs}"
        await req("PUT", f"{qbase}/{q}/messages/{mid}?{query}", qh, msg_xml)

    async def delete(i: int) -> None:
        mid, pop = got[i]
        query = f"popreceipt={_quote(receipts.get(mid, pop))}&{qs}"
        await req("DELETE", f"{qbase}/{q}/messages/{mid}?{query}", qh)

    async def upsert(i: int) -> None:
        url = f"{tbase}/{t}(PartitionKey='p',RowKey='{i:06d}')?{ts}"
        await req("PUT", url, th, _ENTITY_JSON % ("p", f"{i:06d}"))

    async def merge(i: int) -> None:
        await req(
            "MERGE",
            f"{tbase}/{t}(PartitionKey='p',RowKey='{i:06d}')?{ts}",
            th,
            f'{{"Status":"Completed","N":{i}}}',
        )

    async def get(i: int) -> None:
        await req("GET", f"{tbase}/{t}(PartitionKey='p',RowKey='{i:06d}')?{ts}", th)

    async def query(i: int) -> None:
        await req("GET", f"{tbase}/{t}()?$filter=PartitionKey%20eq%20'q30'&{ts}", th)

    async def transact(i: int) -> None:
        body, boundary = _batch_body(tbase, t, f"tx{i}")
        await req(
            "POST",
            f"{tbase}/$batch?{ts}",
            {**th, "Content-Type": f"multipart/mixed; boundary={boundary}"},
            body,
        )

    async def cleanup(_: int) -> None:
        await req("DELETE", f"{qbase}/{q}?{qs}", qh)
        await req("DELETE", f"{tbase}/Tables('{t}')?{ts}", th)

    return _plan(
        n, receives, put, prefill, receive, update, delete, upsert, merge, get, query, transact, cleanup
    )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def run_all(ops: dict[str, tuple[int, Op]], conc: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for label, (count, op) in ops.items():
        if label == "_prefill":
            await op(0)  # outside the measurement
        elif not label.startswith("_"):
            out[label] = await measure(count, conc, op)
    await ops["_cleanup"][1](0)
    return out


async def main(conn: str, n: int, conc: int, impl: str) -> None:
    account = parse_connection_string(conn)
    s = make_storage(account, impl)
    async with aiohttp.ClientSession() as session:
        raw = await run_all(await raw_ops(account, session, n), conc)
    client = await run_all(await client_ops(s, n), conc)
    await s.close()
    print(f"impl={impl} n={n} concurrency={conc}")
    print(
        f"{'operation':20s} {'ops/s':>8s} {'CPU ms/op':>10s} | {'raw ops/s':>9s} {'raw CPU':>8s}"
        " | ratio ops/s"
    )
    total_cpu = 0.0
    for label, (rate, cpu) in client.items():
        rrate, rcpu = raw[label]
        total_cpu += cpu
        print(f"{label:20s} {rate:8.0f} {cpu:10.2f} | {rrate:9.0f} {rcpu:8.2f} | {rate / rrate:5.2f}")
    print(f"mean client CPU over the {len(client)} operations: {total_cpu / len(client):.2f} ms/op")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--impl", default="default", help="lean: AzureStorage; sdk: AzureSdkStorage")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        azurite = start_azurite_on_free_ports(Path(folder), in_memory=True)
        try:
            asyncio.run(main(azurite.connection_string, args.n, args.concurrency, args.impl))
        finally:
            azurite.stop()
