"""Typed values (dataclasses) as JSON values for the admin endpoints.

Field names become camelCase, datetimes ISO 8601 UTC (``Z``), durations seconds (a number),
sets sorted lists. Properties are not included: what a view shows is a field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any


def camel(name: str) -> str:
    """``last_updated_time`` → ``lastUpdatedTime``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def iso(value: datetime) -> str:
    """``2026-01-31T12:00:00.123456Z`` (UTC)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_value(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses field by field, recursively)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 3)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(json_value(v) for v in value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    raise TypeError(f"{type(value).__name__} has no JSON view")
