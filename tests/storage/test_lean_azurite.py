"""The lean REST path against Azurite: interop with the SDK path, errors, SAS, stats."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from host.errors import ConflictError, NotFoundError, PreconditionFailedError
from host.storage.azure.storage import AzureSdkStorage, AzureStorage
from host.storage.azurite import AzuriteProcess
from host.storage.connection import StorageAccount, parse_connection_string
from host.storage.interface import TableOp, WriteMode, eq


@pytest.fixture
async def pair(azurite: AzuriteProcess) -> AsyncIterator[tuple[AzureStorage, AzureSdkStorage]]:
    """(lean, sdk) AzureStorage on the session Azurite."""
    account = parse_connection_string(azurite.connection_string)
    lean, sdk = AzureStorage(account), AzureSdkStorage(account)
    try:
        yield lean, sdk
    finally:
        await lean.close()
        await sdk.close()


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


PK, RK = "p'q é%", "r 1 'x'+"
ROW: dict[str, object] = {
    "PartitionKey": PK,
    "RowKey": RK,
    "big": 2**40,
    "small": -5,
    "flag": False,
    "f": 2.0,
    "when": datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    "data": b"\x01",
    "guid": uuid.UUID(int=9),
    "text": "ü <&> \"'",
}


async def test_rows_written_by_one_path_read_identically_by_the_other(
    pair: tuple[AzureStorage, AzureSdkStorage],
) -> None:
    lean, sdk = pair
    t = _name("tl")
    await lean.create_table(t)
    etag = await lean.write_row(t, TableOp(WriteMode.INSERT, dict(ROW)))
    a = await lean.get_row(t, PK, RK)
    b = await sdk.get_row(t, PK, RK)
    assert a is not None and b is not None
    assert a == b == ROW and a.etag == b.etag == etag
    assert type(a["f"]) is float and type(a["flag"]) is bool
    await sdk.write_row(t, TableOp(WriteMode.UPSERT_REPLACE, {**ROW, "RowKey": "2", "big": -(2**50)}))
    page = await lean.query_rows(t, eq("PartitionKey", PK))
    assert [r.row_key for r in page.rows] == ["2", RK] and page.rows[0]["big"] == -(2**50)


async def test_continuations_are_interchangeable(pair: tuple[AzureStorage, AzureSdkStorage]) -> None:
    lean, sdk = pair
    t = _name("tc")
    await lean.create_table(t)
    await lean.transact(
        t, [TableOp(WriteMode.INSERT, {"PartitionKey": "p", "RowKey": f"{i}"}) for i in range(5)]
    )
    first = await lean.query_rows(t, top=2)
    assert first.continuation is not None
    via_sdk = await sdk.query_rows(t, top=2, continuation=first.continuation)
    via_lean = await lean.query_rows(t, top=2, continuation=first.continuation)
    assert [r.row_key for r in via_sdk.rows] == [r.row_key for r in via_lean.rows] == ["2", "3"]
    assert [r.row_key async for r in lean.iter_rows(t)] == ["0", "1", "2", "3", "4"]


async def test_transaction_failure_names_the_operation(pair: tuple[AzureStorage, AzureSdkStorage]) -> None:
    lean, _ = pair
    t = _name("tf")
    await lean.create_table(t)
    await lean.write_row(t, TableOp(WriteMode.INSERT, {"PartitionKey": "p", "RowKey": "b"}))
    with pytest.raises(ConflictError, match="operation 1"):
        await lean.transact(
            t,
            [
                TableOp(WriteMode.INSERT, {"PartitionKey": "p", "RowKey": "a"}),
                TableOp(WriteMode.INSERT, {"PartitionKey": "p", "RowKey": "b"}),
            ],
        )
    with pytest.raises(PreconditionFailedError, match="operation 0"):
        await lean.transact(
            t,
            [
                TableOp(
                    WriteMode.UPDATE_MERGE,
                    {"PartitionKey": "p", "RowKey": "b"},
                    etag="W/\"datetime'2000-01-01T00%3A00%3A00Z'\"",
                )
            ],
        )
    with pytest.raises(NotFoundError):
        await lean.transact(t, [TableOp(WriteMode.DELETE, {"PartitionKey": "p", "RowKey": "zz"})])
    assert await lean.get_row(t, "p", "a") is None  # all or nothing
    with pytest.raises(NotFoundError):
        await lean.transact(
            _name("missing"), [TableOp(WriteMode.INSERT, {"PartitionKey": "p", "RowKey": "a"})]
        )


async def test_queue_errors_and_stats(pair: tuple[AzureStorage, AzureSdkStorage]) -> None:
    lean, sdk = pair
    q = _name("qs")
    await lean.create_queue(q)
    before = lean.stats.snapshot()
    sent = await lean.put_message(q, "<x>&amp;</x>\r\n", visibility_timeout=0)
    (m,) = await sdk.receive_messages(q, visibility_timeout=30)
    assert m.content == "<x>&amp;</x>\r\n" and m.id == sent.id
    receipt = await lean.update_message(q, m.id, m.pop_receipt, visibility_timeout=0, content="new")
    with pytest.raises(NotFoundError):
        await lean.delete_message(q, m.id, m.pop_receipt)  # stale receipt
    (again,) = await lean.receive_messages(q, visibility_timeout=30)
    assert again.content == "new" and again.dequeue_count == 2 and receipt
    assert again.expires_on is not None and again.expires_on > datetime.now(UTC) + timedelta(days=300)
    await lean.delete_message(q, again.id, again.pop_receipt)
    after = lean.stats.snapshot()
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "queue.put": 1,
        "queue.update": 1,
        "queue.delete": 2,
        "queue.receive": 1,
    }
    with pytest.raises(NotFoundError):
        await lean.receive_messages(_name("nosuch"))


async def test_sas_account_uses_the_lean_path(azurite: AzuriteProcess) -> None:
    from azure.storage.queue import generate_account_sas

    key = parse_connection_string(azurite.connection_string)
    token = generate_account_sas(
        key.account_name, key.account_key or "", "sco", "rwdlacup", datetime.now(UTC) + timedelta(hours=1)
    )
    account = StorageAccount(
        key.account_name,
        None,
        key.blob_endpoint,
        key.queue_endpoint,
        key.table_endpoint,
        sas_token=token,
        is_azurite=True,
        is_loopback=True,
    )
    admin, s = AzureStorage(key), AzureStorage(account)
    q = _name("qsas")
    try:
        await admin.create_queue(q)
        await s.put_message(q, "hello")
        assert [m.content for m in await s.receive_messages(q)] == ["hello"]
    finally:
        await admin.delete_queue(q)
        await admin.close()
        await s.close()
