"""Table semantics, identical on Azurite (AzureStorage) and MemoryStorage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from host.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PreconditionFailedError,
    StorageError,
)
from host.storage.interface import (
    Row,
    Storage,
    TableOp,
    WriteMode,
    all_of,
    any_of,
    eq,
    ge,
    gt,
    le,
    lt,
    ne,
)

Namer = Callable[[str], str]


@pytest.fixture
async def table(storage: Storage, name: Namer) -> str:
    t = name("t")
    await storage.create_table(t)
    return t


async def read(storage: Storage, table: str, pk: str, rk: str) -> Row:
    row = await storage.get_row(table, pk, rk)
    assert row is not None, f"row {pk}/{rk} is missing"
    return row


def op(mode: WriteMode, pk: str, rk: str, etag: str | None = None, **props: object) -> TableOp:
    return TableOp(mode, {"PartitionKey": pk, "RowKey": rk, **props}, etag)


async def test_create_list_delete_table(storage: Storage, name: Namer) -> None:
    t = name("tl")
    await storage.create_table(t)
    await storage.create_table(t)
    assert await storage.list_tables(prefix=t) == [t]
    await storage.delete_table(t)
    await storage.delete_table(t)
    assert await storage.list_tables(prefix=t) == []
    with pytest.raises(NotFoundError):
        await storage.get_row(t, "p", "r")


async def test_insert_conflict_and_point_read(storage: Storage, table: str) -> None:
    etag = await storage.write_row(table, op(WriteMode.INSERT, "p", "r", n=1, s="x"))
    row = await storage.get_row(table, "p", "r")
    assert isinstance(row, Row) and row.etag == etag
    assert row == {"PartitionKey": "p", "RowKey": "r", "n": 1, "s": "x"}
    assert row.partition_key == "p" and row.row_key == "r"
    with pytest.raises(ConflictError):
        await storage.write_row(table, op(WriteMode.INSERT, "p", "r", n=2))
    assert await storage.get_row(table, "p", "missing") is None


async def test_upsert_merge_vs_replace(storage: Storage, table: str) -> None:
    await storage.write_row(table, op(WriteMode.UPSERT_REPLACE, "p", "r", a=1, b=2))
    await storage.write_row(table, op(WriteMode.UPSERT_MERGE, "p", "r", b=3, c=4))
    assert await read(storage, table, "p", "r") == {
        "PartitionKey": "p",
        "RowKey": "r",
        "a": 1,
        "b": 3,
        "c": 4,
    }
    await storage.write_row(table, op(WriteMode.UPSERT_REPLACE, "p", "r", d=5))
    assert await storage.get_row(table, "p", "r") == {"PartitionKey": "p", "RowKey": "r", "d": 5}


async def test_update_and_delete_honour_etags(storage: Storage, table: str) -> None:
    first = await storage.write_row(table, op(WriteMode.INSERT, "p", "r", v=1))
    second = await storage.write_row(table, op(WriteMode.UPDATE_MERGE, "p", "r", first, w=2))
    assert second and second != first
    with pytest.raises(PreconditionFailedError):
        await storage.write_row(table, op(WriteMode.UPDATE_REPLACE, "p", "r", first, v=9))
    with pytest.raises(PreconditionFailedError):
        await storage.write_row(table, op(WriteMode.DELETE, "p", "r", first))
    assert await storage.get_row(table, "p", "r") == {"PartitionKey": "p", "RowKey": "r", "v": 1, "w": 2}
    await storage.write_row(table, op(WriteMode.UPDATE_REPLACE, "p", "r", None, z=3))  # unconditional
    assert await storage.get_row(table, "p", "r") == {"PartitionKey": "p", "RowKey": "r", "z": 3}
    assert await storage.write_row(table, op(WriteMode.DELETE, "p", "r")) is None
    assert await storage.get_row(table, "p", "r") is None
    with pytest.raises(NotFoundError):
        await storage.write_row(table, op(WriteMode.DELETE, "p", "r"))
    with pytest.raises(NotFoundError):
        await storage.write_row(table, op(WriteMode.UPDATE_MERGE, "p", "r", z=1))


async def test_value_types_round_trip(storage: Storage, table: str) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    eastern = datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    await storage.write_row(
        table,
        op(
            WriteMode.INSERT,
            "p",
            "r",
            big=2**40,
            neg=-(2**35),
            small=7,
            f=1.5,
            flag=True,
            when=when,
            eastern=eastern,
            text="a'b",
            dropped=None,
            data=b"\x00\x01",
        ),
    )
    row = await storage.get_row(table, "p", "r")
    assert row is not None
    assert row["big"] == 2**40 and row["neg"] == -(2**35) and row["small"] == 7
    assert row["f"] == 1.5 and row["flag"] is True and row["text"] == "a'b"
    assert row["when"] == when and row["when"].tzinfo is not None
    assert row["eastern"] == eastern and row["eastern"].utcoffset() == timedelta(0)
    assert row["data"] == b"\x00\x01"
    assert "dropped" not in row
    # None in a merge leaves the stored value alone
    await storage.write_row(table, op(WriteMode.UPSERT_MERGE, "p", "r", small=None))
    assert (await read(storage, table, "p", "r"))["small"] == 7


async def test_transaction_is_atomic(storage: Storage, table: str) -> None:
    await storage.write_row(table, op(WriteMode.INSERT, "p", "exists", v=1))
    with pytest.raises(ConflictError):
        await storage.transact(
            table,
            [
                op(WriteMode.UPSERT_REPLACE, "p", "c", v=1),
                op(WriteMode.UPSERT_MERGE, "p", "c2", v=2),
                op(WriteMode.INSERT, "p", "exists", v=5),  # fails: already there
            ],
        )
    assert await storage.get_row(table, "p", "c") is None
    assert await storage.get_row(table, "p", "c2") is None
    assert (await read(storage, table, "p", "exists"))["v"] == 1

    current = await storage.get_row(table, "p", "exists")
    assert current is not None
    etags = await storage.transact(
        table,
        [
            op(WriteMode.UPSERT_REPLACE, "p", "a", v=1),
            op(WriteMode.UPDATE_MERGE, "p", "exists", current.etag, w=2),
            op(WriteMode.INSERT, "p", "b", v=3),
        ],
    )
    assert len(etags) == 3 and all(etags)
    assert (await read(storage, table, "p", "exists")).etag == etags[1]

    with pytest.raises(PreconditionFailedError):  # stale etag fails the whole batch
        await storage.transact(
            table,
            [
                op(WriteMode.UPSERT_REPLACE, "p", "d", v=1),
                op(WriteMode.UPDATE_MERGE, "p", "exists", current.etag, w=3),
            ],
        )
    assert await storage.get_row(table, "p", "d") is None
    assert await storage.transact(
        table, [op(WriteMode.DELETE, "p", "a"), op(WriteMode.DELETE, "p", "b")]
    ) == [None, None]
    assert await storage.get_row(table, "p", "a") is None


async def test_transaction_limits(storage: Storage, table: str) -> None:
    ok = [op(WriteMode.UPSERT_REPLACE, "p", f"{i:03d}", v=i) for i in range(100)]
    assert len(await storage.transact(table, ok)) == 100
    too_many = [op(WriteMode.UPSERT_REPLACE, "p", f"x{i:03d}", v=i) for i in range(101)]
    with pytest.raises(StorageError, match="at most 100"):
        await storage.transact(table, too_many)
    with pytest.raises(StorageError, match="one partition"):
        await storage.transact(
            table, [op(WriteMode.UPSERT_REPLACE, "p1", "r"), op(WriteMode.UPSERT_REPLACE, "p2", "r")]
        )
    assert await storage.get_row(table, "p", "x000") is None
    assert await storage.transact(table, []) == []


async def _fill(storage: Storage, table: str) -> None:
    for pk in ("a", "b"):
        await storage.transact(
            table,
            [
                op(
                    WriteMode.INSERT,
                    pk,
                    f"{i:02d}",
                    n=i,
                    even=i % 2 == 0,
                    name=f"it's {i}",
                    at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i),
                )
                for i in range(10)
            ],
        )


async def test_queries_filter_select_order(storage: Storage, table: str) -> None:
    await _fill(storage, table)
    page = await storage.query_rows(table)
    assert [(r.partition_key, r.row_key) for r in page.rows] == [
        (pk, f"{i:02d}") for pk in ("a", "b") for i in range(10)
    ]
    assert page.continuation is None and all(r.etag for r in page.rows)

    async def keys(where: object) -> list[str]:
        got = await storage.query_rows(table, where)  # type: ignore[arg-type]
        return [f"{r.partition_key}{r.row_key}" for r in got.rows]

    assert await keys(all_of(eq("PartitionKey", "b"), ge("RowKey", "07"))) == ["b07", "b08", "b09"]
    either = any_of(lt("n", 2), gt("n", 8))
    assert await keys(all_of(eq("PartitionKey", "a"), either)) == ["a00", "a01", "a09"]
    assert await keys(all_of(eq("PartitionKey", "a"), eq("even", True), le("n", 4))) == ["a00", "a02", "a04"]
    assert await keys(all_of(eq("PartitionKey", "a"), eq("name", "it's 3"))) == ["a03"]
    assert await keys(all_of(eq("PartitionKey", "b"), ge("at", datetime(2024, 1, 9, tzinfo=UTC)))) == [
        "b08",
        "b09",
    ]
    assert await keys(all_of(eq("PartitionKey", "a"), ne("n", 0), lt("n", 3))) == ["a01", "a02"]
    assert await keys(eq("missing", 1)) == []
    assert await keys(ne("missing", 1)) == []  # missing properties never match

    selected = await storage.query_rows(table, eq("PartitionKey", "a"), select=["n", "absent"])
    assert selected.rows[3] == {"n": 3} and selected.rows[3].etag


async def test_top_and_continuations(storage: Storage, table: str) -> None:
    await _fill(storage, table)
    where = ge("n", 3)  # crosses partitions
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = await storage.query_rows(table, where, top=4, continuation=token)
        assert len(page.rows) <= 4
        seen += [f"{r.partition_key}{r.row_key}" for r in page.rows]
        pages += 1
        token = page.continuation
        if token is None:
            break
        assert pages < 20
    assert seen == [f"{pk}{i:02d}" for pk in ("a", "b") for i in range(3, 10)]
    assert pages >= 4
    rows = [r async for r in storage.iter_rows(table, where, select=["n"])]
    assert [r["n"] for r in rows] == list(range(3, 10)) * 2


async def test_entities_over_the_service_limits_are_refused_up_front(storage: Storage, table: str) -> None:
    big_string = {"PartitionKey": "p", "RowKey": "s", "v": "x" * 32769}
    too_big = {"PartitionKey": "p", "RowKey": "e", **{f"p{i:02d}": "x" * 32000 for i in range(17)}}
    for entity, says in ((big_string, "PropertyValueTooLarge"), (too_big, "EntityTooLarge")):
        with pytest.raises(InvalidRequestError, match=says):
            await storage.write_row(table, TableOp(WriteMode.UPSERT_REPLACE, entity))
        with pytest.raises(InvalidRequestError, match=says):
            await storage.transact(table, [TableOp(WriteMode.INSERT, entity)])
        assert await storage.get_row(table, "p", str(entity["RowKey"])) is None
    fits = {"PartitionKey": "p", "RowKey": "ok", **{f"p{i:02d}": "x" * 32000 for i in range(16)}}
    await storage.write_row(table, TableOp(WriteMode.UPSERT_REPLACE, fits))
    assert (await read(storage, table, "p", "ok"))["p15"] == "x" * 32000
