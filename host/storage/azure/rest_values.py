"""Values on the wire of the lean REST path: table entities (JSON with odata types), keys, dates."""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

from host.storage.interface import Row
from host.storage.odata import INT32_MAX, INT32_MIN

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_http_date(text: str) -> datetime:
    """``Wed, 01 May 2024 12:00:00 GMT`` as an aware UTC datetime."""
    _, day, month, year, clock, _zone = text.split()
    h, m, s = clock.split(":")
    return datetime(int(year), _MONTHS[month], int(day), int(h), int(m), int(s), tzinfo=UTC)


def parse_iso(text: str) -> datetime:
    """An Edm.DateTime (``2024-05-01T12:00:00.1234567Z``) as an aware UTC datetime (µs kept)."""
    date, _, clock = text.rstrip("Z").partition("T")
    y, mo, d = date.split("-")
    whole, _, frac = clock.partition(".")
    h, mi, s = whole.split(":")
    micro = int((frac + "000000")[:6]) if frac else 0
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=UTC)


def format_iso(value: datetime) -> str:
    """An aware (or naive = UTC) datetime as the tables SDK writes an Edm.DateTime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entity_key_path(table: str, partition_key: str, row_key: str) -> str:
    """``table(PartitionKey='…',RowKey='…')`` with quotes doubled and percent-encoding."""
    pk = quote(partition_key.replace("'", "''"), safe="")
    rk = quote(row_key.replace("'", "''"), safe="")
    return f"{table}(PartitionKey='{pk}',RowKey='{rk}')"


def encode_entity(entity: Mapping[str, Any]) -> bytes:
    """JSON body of an entity, typed as the tables SDK types it (``None`` values dropped)."""
    out: dict[str, Any] = {}
    for name, value in entity.items():
        if value is None:
            continue
        if isinstance(value, bool | str):
            out[name] = value
        elif isinstance(value, int):
            if INT32_MIN <= value <= INT32_MAX:
                out[name] = value
            elif _INT64_MIN <= value <= _INT64_MAX:
                out[name], out[f"{name}@odata.type"] = str(value), "Edm.Int64"
            else:
                raise TypeError(f"property {name}: {value} does not fit in Int64")
        elif isinstance(value, float):
            out[f"{name}@odata.type"] = "Edm.Double"
            out[name] = (
                value
                if math.isfinite(value)
                else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
            )
        elif isinstance(value, datetime):
            out[name], out[f"{name}@odata.type"] = format_iso(value), "Edm.DateTime"
        elif isinstance(value, Enum):
            out[name] = str(value.value)
        elif isinstance(value, uuid.UUID):
            out[name], out[f"{name}@odata.type"] = str(value), "Edm.Guid"
        elif isinstance(value, bytes | bytearray):
            out[name] = base64.b64encode(bytes(value)).decode()
            out[f"{name}@odata.type"] = "Edm.Binary"
        else:
            raise TypeError(f"property {name}: unsupported type {type(value).__name__}")
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _typed(kind: str, value: Any) -> Any:
    if kind == "Edm.Int64":
        return int(value)
    if kind == "Edm.DateTime":
        return parse_iso(value)
    if kind == "Edm.Double":
        return float(value)
    if kind == "Edm.Guid":
        return uuid.UUID(value)
    if kind == "Edm.Binary":
        return base64.b64decode(value)
    if kind == "Edm.Int32":
        return int(value)
    return value


def decode_entity(data: Mapping[str, Any], etag: str | None = None) -> Row:
    """A :class:`Row` from one JSON entity (minimal metadata), as the SDK path returns it."""
    row = Row(etag=etag if etag is not None else data.get("odata.etag"))
    types: dict[str, str] = {}
    for name, value in data.items():
        if name.endswith("@odata.type"):
            types[name[:-11]] = value
    for name, value in data.items():
        if value is None or name.startswith("odata.") or name == "Timestamp" or "@odata." in name:
            continue
        kind = types.get(name)
        row[name] = _typed(kind, value) if kind else value
    return row
