"""Rendering structured table filters to OData."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from host.storage.interface import Compare, Op, all_of, any_of, eq, ge, gt, le, lt, ne
from host.storage.odata import render_filter, render_value


def test_literals() -> None:
    assert render_value("it's") == "'it''s'"
    assert render_value(True) == "true" and render_value(False) == "false"
    assert render_value(5) == "5" and render_value(-(2**31)) == "-2147483648"
    assert render_value(2**31) == "2147483648L" and render_value(-(2**40)) == "-1099511627776L"
    assert render_value(1.5) == "1.5" and render_value(2.0) == "2.0"
    when = datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    assert render_value(when) == "datetime'2024-01-02T03:04:05.6000000Z'"
    plus2 = datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert render_value(plus2) == "datetime'2024-01-02T03:04:05.0000000Z'"
    g = uuid.UUID(int=1)
    assert render_value(g) == f"guid'{g}'"
    with pytest.raises(TypeError):
        render_value(object())


def test_filters() -> None:
    assert render_filter(None) is None
    assert render_filter(eq("PartitionKey", "a'b")) == "PartitionKey eq 'a''b'"
    f = all_of(eq("PartitionKey", "p"), ge("RowKey", "a"), lt("RowKey", "b"))
    assert render_filter(f) == "PartitionKey eq 'p' and RowKey ge 'a' and RowKey lt 'b'"
    f2 = all_of(eq("PartitionKey", "p"), any_of(gt("n", 1), le("n", 0), ne("s", "x")))
    assert render_filter(f2) == "PartitionKey eq 'p' and (n gt 1 or n le 0 or s ne 'x')"
    nested = any_of(all_of(eq("a", 1), eq("b", 2)), eq("c", 3))
    assert render_filter(nested) == "(a eq 1 and b eq 2) or c eq 3"
    assert all_of(None, None) is None and render_filter(all_of(None, eq("a", 1))) == "a eq 1"


def test_bad_property_names_are_refused() -> None:
    with pytest.raises(ValueError):
        render_filter(Compare("a eq 1 or b", Op.EQ, 1))
