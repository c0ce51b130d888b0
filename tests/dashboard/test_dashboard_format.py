"""Template filters and instance-list filters of the dashboard (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from host.dashboard.format import fmt_duration, fmt_time, pretty_json, short_json, status_class
from host.dashboard.queries import BadFilter, ListQuery


def test_times_and_durations() -> None:
    assert fmt_time(datetime(2026, 12, 6, 9, 5, 1, 123456, tzinfo=UTC)) == "2026-12-06 09:05:01.123Z"
    assert fmt_time(None) == ""
    assert [fmt_duration(timedelta(seconds=s)) for s in (0.25, 3.21, 65, 7380, 3 * 86400 + 4 * 3600)] == [
        "250 ms",
        "3.2 s",
        "1 min 05 s",
        "2 h 03 min",
        "3 d 4 h",
    ]
    assert fmt_duration(None) == ""


def test_json_text_is_shown_readably() -> None:
    assert pretty_json('{"a": [1, 2]}') == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    # the SDK's client stores an object input as JSON text inside a JSON string
    assert short_json('"{\\"id\\": \\"e\\"}"') == '{"id": "e"}'
    assert short_json('"just text"') == '"just text"'
    assert pretty_json("not json") == "not json"
    assert pretty_json(None) == ""
    assert short_json('"' + "x" * 200 + '"', limit=10) == '"xxxxxxxx…'
    assert pretty_json('"' + "y" * 50 + '"', limit=20).endswith("(32 more characters)")


def test_status_classes() -> None:
    assert status_class("Failed") == "failed"
    assert status_class("ContinuedAsNew") == "running"
    assert status_class(None) == "unknown"


def test_instance_filter_round_trips_through_its_query_string() -> None:
    params = {"name": " order ", "from": "2026-12-01T10:00", "prefix": "ab", "page": "3"}
    f = ListQuery.from_query(params, ["Running", "Failed"])
    assert f.statuses == ("Running", "Failed")
    assert f.name == "order"
    assert f.created_from == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert f.page == 3
    assert f.query(page=1) == "status=Running&status=Failed&name=order&from=2026-12-01T10%3A00&prefix=ab"


@pytest.mark.parametrize(
    ("params", "statuses", "message"),
    [
        ({}, ["Sleeping"], "unknown status 'Sleeping'"),
        ({"page": "0"}, [], "page '0' is not a positive number"),
        ({"to": "yesterday"}, [], "created to 'yesterday' is not a date and time"),
    ],
)
def test_bad_filters_are_named(params: dict[str, str], statuses: list[str], message: str) -> None:
    with pytest.raises(BadFilter, match=message):
        ListQuery.from_query(params, statuses)
