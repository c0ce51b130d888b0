"""In-memory tables with Azure's semantics: eTags, merge/replace, atomic one-partition batches."""

from __future__ import annotations

import bisect
import json
import re
import uuid
from collections import ChainMap
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from host.errors import ConflictError, InvalidRequestError, NotFoundError, PreconditionFailedError
from host.storage.interface import Filter, Page, Row, TableOp, WriteMode
from host.storage.limits import check_entity, check_transaction
from host.storage.memory.base import MemoryBase
from host.storage.memory.filter import matches

Key = tuple[str, str]
MAX_PAGE = 1000
MAX_STRING_CHARS = 32 * 1024
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_BAD_KEY_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
_TYPES = (str, int, float, bool, datetime, bytes, uuid.UUID)


@dataclass(frozen=True)
class _Stored:
    props: dict[str, Any]
    etag: str
    timestamp: datetime


@dataclass
class _Table:
    rows: dict[Key, _Stored] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)  # sorted

    def put(self, key: Key, stored: _Stored | None) -> None:
        if stored is None:
            if self.rows.pop(key, None) is not None:
                del self.keys[bisect.bisect_left(self.keys, key)]
            return
        if key not in self.rows:
            bisect.insort(self.keys, key)
        self.rows[key] = stored


def _clean(entity: Mapping[str, Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in entity.items():
        if value is None:
            continue
        if not isinstance(value, _TYPES):
            raise TypeError(f"{what}: property {name} has unsupported type {type(value).__name__}")
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise InvalidRequestError(f"{what}: property {name} does not fit in Int64")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise InvalidRequestError(f"{what}: 400 PropertyValueTooLarge (property {name})")
        if isinstance(value, datetime):
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        out[name] = value
    return out


def _key(entity: Mapping[str, Any], what: str) -> Key:
    pk, rk = entity.get("PartitionKey"), entity.get("RowKey")
    if not isinstance(pk, str) or not isinstance(rk, str):
        raise InvalidRequestError(f"{what}: PartitionKey and RowKey must be strings")
    for value in (pk, rk):
        if _BAD_KEY_CHARS.search(value) or len(value) > 1024:
            raise InvalidRequestError(
                f"{what}: 400 InvalidInput: invalid key {value[:40]!r} "
                "(at most 1 KiB; no / \\ # ? or control chars)"
            )
    return pk, rk


class MemoryTables(MemoryBase):
    """Tables: rows kept in (PartitionKey, RowKey) order."""

    _tables: dict[str, _Table]

    def _table(self, table: str, what: str) -> _Table:
        found = self._tables.get(table)
        if found is None:
            raise NotFoundError(f"{what}: 404 TableNotFound")
        return found

    def _row_etag(self) -> str:
        return f'W/"mem{self.next_number()}"'

    async def create_table(self, table: str) -> None:
        await self._request("table.create")
        if not _TABLE_NAME.match(table):
            raise InvalidRequestError(f"create table {table}: 400 InvalidResourceName")
        self._tables.setdefault(table, _Table())

    async def delete_table(self, table: str) -> None:
        await self._request("table.delete_table")
        self._tables.pop(table, None)

    async def list_tables(self, prefix: str = "") -> list[str]:
        await self._request("table.list")
        return sorted(t for t in self._tables if t.startswith(prefix))

    async def get_row(self, table: str, partition_key: str, row_key: str) -> Row | None:
        await self._request("table.get")
        stored = self._table(table, f"read table {table}").rows.get((partition_key, row_key))
        return None if stored is None else Row(stored.props, etag=stored.etag)

    async def query_rows(
        self,
        table: str,
        where: Filter | None = None,
        *,
        select: Sequence[str] | None = None,
        top: int | None = None,
        continuation: str | None = None,
    ) -> Page:
        await self._request("table.query")
        t = self._table(table, f"query table {table}")
        limit = min(top or MAX_PAGE, MAX_PAGE)
        start = bisect.bisect_left(t.keys, _decode(continuation)) if continuation else 0
        rows: list[Row] = []
        for key in t.keys[start:]:
            stored = t.rows[key]
            if not matches(where, _with_timestamp(stored)):
                continue
            if len(rows) == limit:
                return Page(rows, _encode(key))
            props = stored.props if not select else {k: stored.props[k] for k in select if k in stored.props}
            rows.append(Row(props, etag=stored.etag))
        return Page(rows, None)

    async def iter_rows(
        self, table: str, where: Filter | None = None, *, select: Sequence[str] | None = None
    ) -> AsyncIterator[Row]:
        token: str | None = None
        while True:
            page = await self.query_rows(table, where, select=select, continuation=token)
            for row in page.rows:
                yield row
            if page.continuation is None:
                return
            token = page.continuation

    async def write_row(self, table: str, op: TableOp) -> str | None:
        if op.mode is not WriteMode.DELETE:
            check_entity(table, op.entity)
        await self._request("table.write")
        t = self._table(table, f"write table {table}")
        staged: dict[Key, _Stored | None] = {}
        etag = self._apply(table, t.rows.get, staged, op)
        for key, stored in staged.items():
            t.put(key, stored)
        return etag

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
        check_transaction(table, ops)
        if not ops:
            return []
        await self._request("table.transact")
        t = self._table(table, f"transaction on table {table}")
        staged: dict[Key, _Stored | None] = {}
        # All or nothing: apply to a staging area first; any error leaves the table untouched.
        etags = [self._apply(table, t.rows.get, staged, op) for op in ops]
        for key, stored in staged.items():
            t.put(key, stored)
        return etags

    def _apply(
        self,
        table: str,
        read: Callable[[Key], _Stored | None],
        staged: dict[Key, _Stored | None],
        op: TableOp,
    ) -> str | None:
        what = f"{op.mode.value} table {table} row"
        key = _key(op.entity, what)
        what = f"{op.mode.value} table {table} row {key!r}"
        current = staged[key] if key in staged else read(key)
        mode = op.mode
        if mode is WriteMode.INSERT and current is not None:
            raise ConflictError(f"{what}: 409 EntityAlreadyExists")
        if mode in (WriteMode.UPDATE_MERGE, WriteMode.UPDATE_REPLACE, WriteMode.DELETE):
            if current is None:
                raise NotFoundError(f"{what}: 404 ResourceNotFound")
            if op.etag not in (None, "*") and op.etag != current.etag:
                raise PreconditionFailedError(f"{what}: 412 UpdateConditionNotSatisfied")
        if mode is WriteMode.DELETE:
            staged[key] = None
            return None
        props = _clean(op.entity, what)
        if current is not None and mode in (WriteMode.UPSERT_MERGE, WriteMode.UPDATE_MERGE):
            props = {**current.props, **props}
        stored = _Stored(props, self._row_etag(), self.now())
        staged[key] = stored
        return stored.etag


def _with_timestamp(stored: _Stored) -> Mapping[str, Any]:
    return ChainMap(stored.props, {"Timestamp": stored.timestamp})


def _encode(key: Key) -> str:
    return json.dumps({"next": list(key)})


def _decode(token: str) -> Key:
    try:
        pk, rk = json.loads(token)["next"]
        return str(pk), str(rk)
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"invalid table continuation token: {token[:60]!r}") from err
