"""Table operations of :class:`host.storage.azure.storage.AzureStorage` (azure.data.tables.aio)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables._serialize import _get_match_condition, _prepare_key

from host.errors import NotFoundError
from host.storage.azure.base import AzureBase
from host.storage.azure.convert import (
    decode_continuation,
    encode_continuation,
    from_sdk_entity,
    to_sdk_entity,
)
from host.storage.interface import Filter, Page, Row, TableOp, WriteMode
from host.storage.limits import check_entity, check_transaction
from host.storage.odata import render_filter

_ERRORS = (AzureError, OSError)
_MODE = {
    WriteMode.UPSERT_REPLACE: UpdateMode.REPLACE,
    WriteMode.UPSERT_MERGE: UpdateMode.MERGE,
    WriteMode.UPDATE_REPLACE: UpdateMode.REPLACE,
    WriteMode.UPDATE_MERGE: UpdateMode.MERGE,
}
_ITER_PAGE = 1000


def _condition(etag: str | None) -> dict[str, Any]:
    if etag is None or etag == "*":
        return {"match_condition": MatchConditions.Unconditionally}
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def _batch_op(op: TableOp) -> tuple[Any, ...]:
    entity = to_sdk_entity(op.entity)
    if op.mode is WriteMode.INSERT:
        return ("create", entity)
    if op.mode in (WriteMode.UPSERT_REPLACE, WriteMode.UPSERT_MERGE):
        return ("upsert", entity, {"mode": _MODE[op.mode]})
    if op.mode is WriteMode.DELETE:
        keys = {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"]}
        return ("delete", keys, _condition(op.etag))
    return ("update", entity, {"mode": _MODE[op.mode], **_condition(op.etag)})


def _row_name(table: str, entity: dict[str, Any]) -> str:
    return f"table {table} row ({entity.get('PartitionKey')!r}, {entity.get('RowKey')!r})"


class AzureTables(AzureBase):
    """Tables: rows as :class:`Row`, filters rendered to OData, eTags honoured."""

    async def create_table(self, table: str) -> None:
        self.stats.add("table.create")
        try:
            await self.table_service().create_table(table)
        except ResourceExistsError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"create table {table}")

    async def delete_table(self, table: str) -> None:
        self.stats.add("table.delete_table")
        try:
            await self.table_service().delete_table(table)
        except ResourceNotFoundError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"delete table {table}")
        self._tables.pop(table, None)

    async def list_tables(self, prefix: str = "") -> list[str]:
        names: list[str] = []
        try:
            async for page in self.table_service().list_tables().by_page():
                self.stats.add("table.list")
                names.extend([t.name async for t in page])
        except _ERRORS as err:
            self.raise_mapped(err, "list tables")
        return sorted(n for n in names if n.startswith(prefix))

    async def get_row(self, table: str, partition_key: str, row_key: str) -> Row | None:
        self.stats.add("table.get")
        try:
            entity = await self.table_client(table).get_entity(partition_key, row_key)
        except ResourceNotFoundError as err:
            if getattr(err, "error_code", None) == "TableNotFound":
                raise NotFoundError(f"table {table} does not exist") from err
            return None
        except _ERRORS as err:
            self.raise_mapped(err, f"read table {table} row ({partition_key!r}, {row_key!r})")
        return from_sdk_entity(entity, entity.metadata.get("etag"))

    async def query_rows(
        self,
        table: str,
        where: Filter | None = None,
        *,
        select: Sequence[str] | None = None,
        top: int | None = None,
        continuation: str | None = None,
    ) -> Page:
        client = self.table_client(table)
        text = render_filter(where)
        kwargs: dict[str, Any] = {"results_per_page": top, "select": list(select) if select else None}
        pager = client.query_entities(text, **kwargs) if text else client.list_entities(**kwargs)
        pages: Any = pager.by_page(continuation_token=decode_continuation(continuation))  # type: ignore[arg-type]
        self.stats.add("table.query")
        try:
            page = await pages.__anext__()
            rows = [from_sdk_entity(e, e.metadata.get("etag")) async for e in page]
        except StopAsyncIteration:
            return Page([], None)
        except _ERRORS as err:
            self.raise_mapped(err, f"query table {table}")
        return Page(rows, encode_continuation(pages.continuation_token))

    async def iter_rows(
        self, table: str, where: Filter | None = None, *, select: Sequence[str] | None = None
    ) -> AsyncIterator[Row]:
        token: str | None = None
        while True:
            page = await self.query_rows(table, where, select=select, top=_ITER_PAGE, continuation=token)
            for row in page.rows:
                yield row
            token = page.continuation
            if token is None:
                return

    async def write_row(self, table: str, op: TableOp) -> str | None:
        if op.mode is not WriteMode.DELETE:
            check_entity(table, op.entity)
        client = self.table_client(table)
        entity = to_sdk_entity(op.entity)
        self.stats.add("table.write")
        try:
            if op.mode is WriteMode.INSERT:
                meta = await client.create_entity(entity)
            elif op.mode in (WriteMode.UPSERT_REPLACE, WriteMode.UPSERT_MERGE):
                meta = await client.upsert_entity(entity, mode=_MODE[op.mode])
            elif op.mode is WriteMode.DELETE:
                # The SDK's delete_entity swallows 404; the generated client does not.
                cond = _condition(op.etag)
                await client._client.table.delete_entity(
                    table=table,
                    partition_key=_prepare_key(str(entity["PartitionKey"])),
                    row_key=_prepare_key(str(entity["RowKey"])),
                    etag=cond.get("etag"),  # type: ignore[arg-type]
                    match_condition=_get_match_condition(cond.get("etag"), cond["match_condition"]),
                )
                return None
            else:
                meta = await client.update_entity(entity, mode=_MODE[op.mode], **_condition(op.etag))
        except _ERRORS as err:
            self.raise_mapped(err, f"{op.mode.value} {_row_name(table, entity)}")
        return str(meta["etag"])

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
        check_transaction(table, ops)
        if not ops:
            return []
        self.stats.add("table.transact")
        try:
            results = await self.table_client(table).submit_transaction([_batch_op(op) for op in ops])
        except _ERRORS as err:
            self.raise_mapped(err, f"transaction on table {table} ({len(ops)} operations)")
        return [
            None if op.mode is WriteMode.DELETE else (str(r.get("etag")) if r.get("etag") else None)
            for op, r in zip(ops, results, strict=True)
        ]
