"""Evaluate a structured table :data:`~host.storage.interface.Filter` against a row in Python.

As in Azure Tables: a comparison with a missing property, or between values of different
kinds (string vs number, …), is false — also for ``ne``. Ints and floats compare numerically.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from host.storage.interface import And, Compare, Filter, Op, Or

_OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.LT: operator.lt,
    Op.LE: operator.le,
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, uuid.UUID):
        return "guid"
    raise TypeError(f"cannot use a {type(value).__name__} value in a table filter")


def _norm(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def matches(where: Filter | None, row: Mapping[str, Any]) -> bool:
    """True when ``row`` satisfies ``where`` (``None`` matches everything)."""
    if where is None:
        return True
    if isinstance(where, Compare):
        if where.prop not in row:
            return False
        left, right = _norm(row[where.prop]), _norm(where.value)
        if _kind(left) != _kind(right):
            return False
        if isinstance(left, bool | uuid.UUID | bytes) and where.op not in (Op.EQ, Op.NE):
            return False
        return bool(_OPS[where.op](left, right))
    if isinstance(where, And):
        return all(matches(p, row) for p in where.parts)
    if isinstance(where, Or):
        return any(matches(p, row) for p in where.parts)
    raise TypeError(f"not a table filter: {where!r}")
