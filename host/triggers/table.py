"""Table input and output bindings (Tables extension behaviour).

Input: with ``partitionKey`` and ``rowKey`` one entity as a JSON object string (``None`` when it
or its table does not exist — the friendlier of the behaviours real extension versions show; any
other storage error fails the invocation); otherwise a JSON array string of the entities matching
``PartitionKey eq <pk>`` and/or ``filter``, at most ``take``. Binding properties may use
``{param}`` expressions of the trigger's binding data.

Output: a JSON object (or array of them; ``str``, ``dict`` or ``list``) inserted after the
function succeeded; ``PartitionKey``/``RowKey`` come from the object (case-insensitively) or the
binding. An existing key fails the invocation (insert), unless the entity carries an ``ETag``
(``*`` = upsert-replace, other = conditional replace).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
import uuid
from datetime import datetime
from typing import Any

from host.errors import InvocationError, NotFoundError
from host.indexing.registry import Binding, FunctionInfo
from host.storage.accounts import StorageAccounts
from host.storage.interface import Row, TableOp, WriteMode, all_of, eq
from host.triggers.bindexpr import bind_template
from host.triggers.odata_parse import parse_filter


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _timestamp_from_etag(etag: str) -> str | None:
    """Table eTags are ``W/"datetime'<url-encoded Timestamp>'"``: the entity's Timestamp."""
    m = re.search(r"datetime'([^']+)'", etag)
    return urllib.parse.unquote(m.group(1)) if m else None


def row_json(row: Row) -> dict[str, Any]:
    """An entity as the extension serializes it (``Timestamp`` and ``odata.etag`` when known)."""
    out = {key: _json_value(value) for key, value in row.items()}
    if row.etag:
        out["odata.etag"] = row.etag
        if "Timestamp" not in out:
            stamp = _timestamp_from_etag(row.etag)
            if stamp:
                out["Timestamp"] = stamp
    return out


def _bound(binding: Binding, key: str, metadata: dict[str, Any] | None) -> str | None:
    value = binding.get(key)
    if value is None or value == "":
        return None
    return bind_template(str(value), metadata or {})


class TableInput:
    """The ``table`` input binding provider."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts

    async def __call__(
        self, binding: Binding, fn: FunctionInfo, metadata: dict[str, Any] | None
    ) -> str | None:
        storage = self.accounts.get(binding.get("connection"))
        table = _bound(binding, "tableName", metadata)
        if not table:
            raise InvocationError(f"function '{fn.name}': table binding '{binding.name}' has no tableName")
        pk = _bound(binding, "partitionKey", metadata)
        rk = _bound(binding, "rowKey", metadata)
        if pk is not None and rk is not None:
            try:
                row = await storage.get_row(table, pk, rk)
            except NotFoundError:  # no such table: as no such entity (any other error raises)
                return None
            return None if row is None else json.dumps(row_json(row))
        text_filter = _bound(binding, "filter", metadata)
        where = all_of(
            eq("PartitionKey", pk) if pk is not None else None,
            parse_filter(text_filter) if text_filter else None,
        )
        take = int(binding.get("take") or 0)
        rows: list[dict[str, Any]] = []
        async for row in storage.iter_rows(table, where):
            rows.append(row_json(row))
            if 0 < take <= len(rows):
                break
        return json.dumps(rows)


def _entities(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvocationError("A table output value must be a JSON object or array") from None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise InvocationError("A table output value must be a JSON object or an array of objects")
    return [dict(item) for item in items]


def _pop_ci(entity: dict[str, Any], key: str) -> Any:
    for name in list(entity):
        if name.lower() == key.lower():
            return entity.pop(name)
    return None


class TableOutput:
    """The ``table`` output handler."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts
        self._created: set[tuple[int, str]] = set()

    async def __call__(self, binding: Binding, value: Any, metadata: dict[str, Any] | None) -> None:
        table = _bound(binding, "tableName", metadata)
        if not table:
            raise InvocationError(f"table output binding '{binding.name}' has no tableName")
        storage = self.accounts.get(binding.get("connection"))
        if (id(storage), table) not in self._created:
            await storage.create_table(table)
            self._created.add((id(storage), table))
        for entity in _entities(value):
            pk = _pop_ci(entity, "PartitionKey") or _bound(binding, "partitionKey", metadata)
            rk = _pop_ci(entity, "RowKey") or _bound(binding, "rowKey", metadata)
            if pk is None or rk is None:
                raise InvocationError(
                    f"table output binding '{binding.name}': the entity has no "
                    "PartitionKey/RowKey and the binding sets none"
                )
            etag = _pop_ci(entity, "ETag")
            _pop_ci(entity, "Timestamp")
            entity.update({"PartitionKey": str(pk), "RowKey": str(rk)})
            if etag is None:
                op = TableOp(WriteMode.INSERT, entity)
            elif etag == "*":
                op = TableOp(WriteMode.UPSERT_REPLACE, entity)
            else:
                op = TableOp(WriteMode.UPDATE_REPLACE, entity, etag=str(etag))
            await storage.write_row(table, op)
