"""Render a structured table :data:`~host.storage.interface.Filter` as an OData ``$filter``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from host.storage.interface import And, Compare, Filter, Or

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def render_value(value: Any) -> str:
    """One OData literal: strings quoted (``'`` doubled), datetimes, bools, ints (``L`` = Int64)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}L" if not INT32_MIN <= value <= INT32_MAX else str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if ("." in text or "e" in text or "n" in text) else f"{text}.0"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        return f"datetime'{format_datetime(value)}'"
    if isinstance(value, uuid.UUID):
        return f"guid'{value}'"
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    raise TypeError(f"cannot use a {type(value).__name__} value in a table filter")


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with 7 fractional digits and ``Z`` (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


def _check_prop(name: str) -> str:
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError(f"invalid table property name in a filter: {name!r}")
    return name


def render_filter(where: Filter | None) -> str | None:
    """The OData text of ``where`` (``None`` for no filter)."""
    if where is None:
        return None
    return _render(where, top=True)


def _render(node: Filter, *, top: bool = False) -> str:
    if isinstance(node, Compare):
        return f"{_check_prop(node.prop)} {node.op.value} {render_value(node.value)}"
    if isinstance(node, And | Or):
        joiner = " and " if isinstance(node, And) else " or "
        if not node.parts:
            raise ValueError("an empty And/Or in a table filter")
        if len(node.parts) == 1:
            return _render(node.parts[0], top=top)
        text = joiner.join(_render(p) for p in node.parts)
        return text if top else f"({text})"
    raise TypeError(f"not a table filter: {node!r}")
