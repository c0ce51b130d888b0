"""Typed values (dataclasses) as JSON values for the admin endpoints, and their JSON Schemas.

Field names become camelCase, datetimes ISO 8601 UTC (``Z``), durations seconds (a number),
sets sorted lists. Properties are not included: what a view shows is a field.
:func:`json_schemas` derives the schema of those values from the same type hints, so the
OpenAPI document of an endpoint cannot drift from what it answers.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

Json = dict[str, Any]


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


_SCALARS: dict[Any, Json] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    timedelta: {"type": "number", "description": "seconds"},
    type(None): {"type": "null"},
}


def json_schemas(*roots: type, prefix: str = "#/components/schemas/") -> dict[str, Json]:
    """The JSON Schema of :func:`json_value` of each dataclass in ``roots`` and of every dataclass
    they hold, by class name (references between them as ``{prefix}{name}``)."""
    found: dict[str, Json] = {}

    def of(tp: Any) -> Json:
        if tp is Any:
            return {}
        if tp in _SCALARS:
            return dict(_SCALARS[tp])
        origin, args = get_origin(tp), get_args(tp)
        if origin in (Union, types.UnionType):
            return {"anyOf": [of(a) for a in args]}
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (list, tuple, set, frozenset):
            return {"type": "array", "items": of(args[0]) if args else {}}
        if origin in (dict, Mapping):
            return {"type": "object", "additionalProperties": of(args[1]) if args else {}}
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if tp.__name__ not in found:
                found[tp.__name__] = {}  # claimed before its fields: a cycle ends here
                hints = get_type_hints(tp)
                fields = dataclasses.fields(tp)
                found[tp.__name__] = {
                    "type": "object",
                    "required": [camel(f.name) for f in fields],
                    "properties": {camel(f.name): of(hints[f.name]) for f in fields},
                }
            return {"$ref": prefix + tp.__name__}
        raise TypeError(f"{tp!r} has no JSON schema")

    for root in roots:
        of(root)
    return found
