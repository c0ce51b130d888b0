"""Pure parts of the dashboard data: the listing's filter and keyset cursor, JSON views, counters."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from host.durable.entities.ids import EntityId
from host.durable.inspect.entities import EntityListing, EntitySummary
from host.durable.inspect.health import (
    HubHealth,
    HubHost,
    PartitionLease,
    QueueDepth,
    StuckInstance,
    StuckReport,
)
from host.durable.inspect.instances import (
    InstanceFilter,
    InstancePage,
    InstanceSummary,
    ListingTokenError,
    StatusCounts,
    decode_cursor,
    encode_cursor,
    sort_key,
    sorted_page,
)
from host.durable.taskhub.poison import PoisonRecord
from host.invocation_stats import FunctionCounters, FunctionOverview, FunctionStats, InvocationStats
from host.json_view import json_schemas, json_value
from host.logs import InvocationScope
from host.storage.interface import Row

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _row(instance_id: str, seconds: int | None, status: str = "Running") -> Row:
    row = Row(PartitionKey=instance_id, RowKey="", RuntimeStatus=status)
    if seconds is not None:
        row["LastUpdatedTime"] = T0 + timedelta(seconds=seconds)
    return row


def test_unknown_statuses_are_refused() -> None:
    with pytest.raises(ValueError, match="Runing"):
        InstanceFilter(statuses=frozenset({"Runing"}))


def test_cursor_round_trips_and_refuses_garbage() -> None:
    key = sort_key(_row("a/b", 5))
    assert key == (T0 + timedelta(seconds=5), "a/b") and decode_cursor(encode_cursor(key)) == key
    for bad in ("", "k:", "k:!!!", "t:abc", "k:" + "eyJ1IjogMX0="):
        with pytest.raises(ListingTokenError):
            decode_cursor(bad)


def test_sorted_pages_break_ties_by_id_and_put_rows_without_update_last() -> None:
    rows = [_row("b", 1), _row("a", 1), _row("c", 2), _row("n", None, "Pending"), _row("z", 0, "Failed")]
    seen: list[str] = []
    token = None
    while True:
        page, token, counts, matched = sorted_page(rows, frozenset(), 2, token)
        seen += [r["PartitionKey"] for r in page]
        if token is None:
            break
    assert seen == ["c", "b", "a", "z", "n"]
    assert counts.by_status == {"Failed": 1, "Pending": 1, "Running": 3} and counts.total == 5
    page, token, counts, matched = sorted_page(rows, frozenset({"Running"}), 10, None)
    assert [r["PartitionKey"] for r in page] == ["c", "b", "a"] and token is None and matched == 3
    assert counts.total == 5  # counted before the status filter


@dataclass(frozen=True)
class _View:
    started_at: datetime
    waited: timedelta
    some_ids: frozenset[str]
    nested: list[_Inner]


@dataclass(frozen=True)
class _Inner:
    last_error: str | None


def test_json_view_camel_cases_fields_and_formats_times() -> None:
    view = _View(T0, timedelta(milliseconds=1500), frozenset({"b", "a"}), [_Inner(None), _Inner("x")])
    assert json_value(view) == {
        "startedAt": "2026-01-01T00:00:00Z",
        "waited": 1.5,
        "someIds": ["a", "b"],
        "nested": [{"lastError": None}, {"lastError": "x"}],
    }
    with pytest.raises(TypeError):
        json_value(object())


def test_invocation_counters_from_many_threads() -> None:
    stats = InvocationStats()

    def work(n: int) -> None:
        for i in range(500):
            stats.record("f", succeeded=(i % 5 != 0), duration_ms=2, error=f"E{n}" if i % 5 == 0 else None)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counters = stats.get("f")
    assert (counters.invocations, counters.failures, counters.total_ms) == (2000, 400, 4000)
    assert counters.last_error in {"E0", "E1", "E2", "E3"} and counters.last_error_time is not None


def test_a_failed_scope_is_counted_with_its_error_line() -> None:
    stats = InvocationStats()
    scope = InvocationScope("g", "id-1")
    scope.fail(KeyError("missing"))
    stats.record_scope(scope)
    ok = InvocationScope("g", "id-2")
    ok.succeeded = True
    stats.record_scope(ok)
    counters = stats.get("g")
    assert (counters.invocations, counters.failures) == (2, 1)
    assert counters.last_error == "KeyError: 'missing'"
    assert stats.get("never").invocations == 0


def _validator(schemas: dict[str, Any], root: str) -> Any:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")  # comes with schemathesis (test dependency)
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{root}", "components": {"schemas": schemas}}
    )


def test_json_schemas_describe_what_json_value_makes() -> None:
    schemas = json_schemas(InstancePage, HubHealth, FunctionOverview, EntityListing)
    page = InstancePage(
        [InstanceSummary("i", "f", "Running", T0, T0, None)],
        "k:abc",
        StatusCounts({"Running": 1}),
        1,
    )
    by_id = InstancePage([], None, None, None)
    lease = PartitionLease(0, "h-control-00", "w1", None, T0, T0, T0, timedelta(seconds=2), False, False)
    health = HubHealth(
        "h",
        T0,
        [lease],
        [HubHost("w1", (0,), T0, True)],
        [QueueDepth("h-poison", "poison", None, True, 1, timedelta(seconds=3))],
        [PoisonRecord("h-workitems", "m", 6, "kept failing", "2026-01-01T00:00:00Z")],
        StuckReport(timedelta(minutes=5), [StuckInstance("i", None, T0, None, timedelta(hours=1))], False),
    )
    overview = FunctionOverview(
        T0, [FunctionStats("f", "httpTrigger", FunctionCounters(2, 1, 4, T0, "E", T0))]
    )
    entities = EntityListing([EntitySummary(EntityId("counter", "k"), True, T0, {"n": [1]}, 0, None)], None)
    for root, value in (
        ("InstancePage", page),
        ("InstancePage", by_id),
        ("HubHealth", health),
        ("FunctionOverview", overview),
        ("EntityListing", entities),
    ):
        _validator(schemas, root).validate(json_value(value))
    with pytest.raises(ValueError):  # a schema that could fail: a wrong type is refused
        _validator(schemas, "HubHealth").validate({**json_value(health), "partitions": [{"index": "0"}]})
    assert schemas["QueueDepth"]["properties"]["kind"] == {"enum": ["control", "workitem", "poison"]}
