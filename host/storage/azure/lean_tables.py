"""The hot table operations over the lean REST path (get, query, write, transaction).

Table management (create/delete/list) is inherited from the SDK-backed
:class:`~host.storage.azure.tables.AzureTables`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from host.errors import NotFoundError
from host.storage.azure.convert import decode_continuation, encode_continuation, raise_http
from host.storage.azure.lean_base import LeanBase
from host.storage.azure.rest_batch import SubRequest, build_batch, parse_batch
from host.storage.azure.rest_client import json_headers
from host.storage.azure.rest_errors import error_code, json_error, raise_response
from host.storage.azure.rest_values import decode_entity, encode_entity, entity_key_path
from host.storage.azure.tables import AzureTables
from host.storage.interface import Filter, Page, Row, TableOp, WriteMode
from host.storage.limits import check_entity, check_transaction
from host.storage.odata import render_filter

_METHOD = {
    WriteMode.INSERT: "POST",
    WriteMode.UPSERT_REPLACE: "PUT",
    WriteMode.UPSERT_MERGE: "PATCH",
    WriteMode.UPDATE_REPLACE: "PUT",
    WriteMode.UPDATE_MERGE: "PATCH",
    WriteMode.DELETE: "DELETE",
}
_CONDITIONAL = (WriteMode.UPDATE_REPLACE, WriteMode.UPDATE_MERGE, WriteMode.DELETE)


def op_request(table: str, op: TableOp) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, URL tail, headers, body) of one write."""
    e = op.entity
    headers = json_headers()
    if op.mode in _CONDITIONAL:
        headers["if-match"] = op.etag or "*"
    if op.mode is WriteMode.INSERT:
        headers["prefer"] = "return-no-content"
        return "POST", table, headers, encode_entity(e)
    tail = entity_key_path(table, str(e["PartitionKey"]), str(e["RowKey"]))
    if op.mode is WriteMode.DELETE:
        del headers["content-type"]
        return "DELETE", tail, headers, None
    return _METHOD[op.mode], tail, headers, encode_entity(e)


def _row_name(table: str, entity: dict[str, Any]) -> str:
    return f"table {table} row ({entity.get('PartitionKey')!r}, {entity.get('RowKey')!r})"


def _failed_index(message: str, count: int) -> int | None:
    head = message.partition(":")[0]
    return int(head) if head.isdigit() and int(head) < count else None


class LeanTables(LeanBase, AzureTables):
    """:class:`AzureTables` with row reads, queries and writes as bare signed requests."""

    async def get_row(self, table: str, partition_key: str, row_key: str) -> Row | None:
        self.stats.add("table.get")
        what = f"read table {table} row ({partition_key!r}, {row_key!r})"
        r = await self._rest.send(
            "table", "GET", entity_key_path(table, partition_key, row_key), what, headers=json_headers()
        )
        if r.status == 200:
            return decode_entity(json.loads(r.body), r.headers.get("ETag"))
        if r.status == 404:
            if error_code(r) == "TableNotFound":
                raise NotFoundError(f"table {table} does not exist")
            return None
        raise_response(r, what)

    async def query_rows(
        self,
        table: str,
        where: Filter | None = None,
        *,
        select: Sequence[str] | None = None,
        top: int | None = None,
        continuation: str | None = None,
    ) -> Page:
        query: list[tuple[str, str]] = []
        text = render_filter(where)
        if text:
            query.append(("$filter", text))
        if top is not None:
            query.append(("$top", str(top)))
        if select:
            query.append(("$select", ",".join(select)))
        token = decode_continuation(continuation)
        if token:
            query += [(f"Next{k}", str(v)) for k, v in token.items() if v is not None]
        self.stats.add("table.query")
        what = f"query table {table}"
        r = await self._rest.send("table", "GET", f"{table}()", what, query=query, headers=json_headers())
        if r.status != 200:
            raise_response(r, what)
        rows = [decode_entity(e) for e in json.loads(r.body).get("value", [])]
        pk = r.headers.get("x-ms-continuation-NextPartitionKey")
        nxt = {"PartitionKey": pk, "RowKey": r.headers.get("x-ms-continuation-NextRowKey")} if pk else None
        return Page(rows, encode_continuation(nxt))

    async def write_row(self, table: str, op: TableOp) -> str | None:
        if op.mode is not WriteMode.DELETE:
            check_entity(table, op.entity)
        method, tail, headers, body = op_request(table, op)
        self.stats.add("table.write")
        what = f"{op.mode.value} {_row_name(table, op.entity)}"
        r = await self._rest.send("table", method, tail, what, headers=headers, body=body)
        if r.status >= 300:
            raise_response(r, what)
        return None if op.mode is WriteMode.DELETE else r.headers.get("ETag")

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
        check_transaction(table, ops)
        if not ops:
            return []
        base = self._rest.base("table")
        subs = []
        for op in ops:
            method, tail, headers, body = op_request(table, op)
            subs.append(SubRequest(method, f"{base}/{tail}", headers, body))
        body, content_type = build_batch(subs)
        self.stats.add("table.transact")
        what = f"transaction on table {table} ({len(ops)} operations)"
        r = await self._rest.send(
            "table",
            "POST",
            "$batch",
            what,
            body=body,
            headers={"content-type": content_type, "accept": "application/json;odata=minimalmetadata"},
        )
        if r.status >= 300:
            raise_response(r, what)
        answers = parse_batch(r.body, r.headers.get("Content-Type", ""))
        for a in answers:
            if a.status >= 300:
                code, message = json_error(a.body)
                index = _failed_index(message, len(ops))
                at = (
                    f" at operation {index} ({ops[index].mode.value} {_row_name(table, ops[index].entity)})"
                    if index is not None
                    else ""
                )
                raise_http(a.status, code, what + at, message.splitlines()[0] if message else "")
        if len(answers) != len(ops):
            raise_http(r.status, "", what, f"{len(answers)} answers to {len(ops)} operations")
        return [
            None if op.mode is WriteMode.DELETE else a.headers.get("ETag")
            for op, a in zip(ops, answers, strict=True)
        ]
