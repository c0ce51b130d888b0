"""The schedule parser against known next-occurrence tables (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from host.errors import ConfigError, IndexingError
from host.ncrontab import ConstantSchedule, CronSchedule, parse_schedule
from host.triggers.timezones import resolve_timezone, zone_by_name

NY = ZoneInfo("America/New_York")


def utc(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def iso_list(expr: str, after: datetime, count: int, tz=UTC) -> list[str]:
    return [d.astimezone(tz).isoformat() for d in parse_schedule(expr).next_occurrences(count, after, tz)]


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        (
            "0 */5 * * * *",
            utc(2024, 5, 1, 10, 0, 0),
            ["2024-05-01T10:05:00+00:00", "2024-05-01T10:10:00+00:00", "2024-05-01T10:15:00+00:00"],
        ),
        # strictly after: an instant exactly on an occurrence gives the following one
        (
            "0 0 * * * *",
            utc(2024, 5, 1, 10, 0, 0),
            ["2024-05-01T11:00:00+00:00", "2024-05-01T12:00:00+00:00", "2024-05-01T13:00:00+00:00"],
        ),
        (
            "*/15 * * * * *",
            utc(2024, 5, 1, 10, 0, 7, 500),
            ["2024-05-01T10:00:15+00:00", "2024-05-01T10:00:30+00:00", "2024-05-01T10:00:45+00:00"],
        ),
        # weekdays at 09:30; 2024-05-03 is a Friday
        (
            "0 30 9 * * 1-5",
            utc(2024, 5, 3, 10, 0),
            ["2024-05-06T09:30:00+00:00", "2024-05-07T09:30:00+00:00", "2024-05-08T09:30:00+00:00"],
        ),
        (
            "0 30 9 * * Mon-Fri",
            utc(2024, 5, 3, 10, 0),
            ["2024-05-06T09:30:00+00:00", "2024-05-07T09:30:00+00:00", "2024-05-08T09:30:00+00:00"],
        ),
        # five fields: no seconds column
        ("30 9 * * *", utc(2024, 5, 1, 9, 30), ["2024-05-02T09:30:00+00:00", "2024-05-03T09:30:00+00:00"]),
        # lists, names, month ranges
        (
            "0 0 12 1,15 jan,jul *",
            utc(2024, 1, 15, 12, 0),
            ["2024-07-01T12:00:00+00:00", "2024-07-15T12:00:00+00:00", "2025-01-01T12:00:00+00:00"],
        ),
        # day-of-month AND day-of-week (NCrontab): the 13th that is a Friday
        (
            "0 0 0 13 * Fri",
            utc(2024, 1, 1),
            ["2024-09-13T00:00:00+00:00", "2024-12-13T00:00:00+00:00", "2025-06-13T00:00:00+00:00"],
        ),
        # Feb 29 only in leap years
        ("0 0 0 29 2 *", utc(2024, 3, 1), ["2028-02-29T00:00:00+00:00"]),
        # a/n means a-max/n; reversed ranges are swapped
        (
            "0 5/20 * * * *",
            utc(2024, 5, 1, 10, 0),
            [
                "2024-05-01T10:05:00+00:00",
                "2024-05-01T10:25:00+00:00",
                "2024-05-01T10:45:00+00:00",
                "2024-05-01T11:05:00+00:00",
            ],
        ),
        (
            "0 0 22-20/1 * * 0",
            utc(2024, 5, 4, 23),  # 20-22 on Sundays
            [
                "2024-05-05T20:00:00+00:00",
                "2024-05-05T21:00:00+00:00",
                "2024-05-05T22:00:00+00:00",
                "2024-05-12T20:00:00+00:00",
            ],
        ),
        # end of year rollover, month ends
        (
            "0 0 0 31 * *",
            utc(2024, 12, 31, 0, 0, 1),
            ["2025-01-31T00:00:00+00:00", "2025-03-31T00:00:00+00:00", "2025-05-31T00:00:00+00:00"],
        ),
    ],
)
def test_next_occurrences_utc(expr: str, after: datetime, expected: list[str]) -> None:
    assert iso_list(expr, after, len(expected)) == expected


def test_local_time_zone_spring_forward_shifts_past_the_gap() -> None:
    # 2024-03-10 02:30 does not exist in New York: fires at 03:30 EDT (offset before the jump)
    assert iso_list("0 30 2 * * *", datetime(2024, 3, 9, 12, tzinfo=NY), 3, NY) == [
        "2024-03-10T03:30:00-04:00",
        "2024-03-11T02:30:00-04:00",
        "2024-03-12T02:30:00-04:00",
    ]


def test_local_time_zone_fall_back_fires_once_at_standard_time() -> None:
    assert iso_list("0 30 1 * * *", datetime(2024, 11, 2, 12, tzinfo=NY), 2, NY) == [
        "2024-11-03T01:30:00-05:00",
        "2024-11-04T01:30:00-05:00",
    ]
    assert iso_list("0 0 9 * * *", datetime(2024, 11, 2, 12, tzinfo=NY), 2, NY) == [
        "2024-11-03T09:00:00-05:00",
        "2024-11-04T09:00:00-05:00",
    ]


def test_local_wall_clock_not_utc() -> None:
    # 09:00 New York in summer is 13:00 UTC
    first = parse_schedule("0 0 9 * * *").next_occurrence(utc(2024, 7, 1, 0), NY)
    assert first == utc(2024, 7, 1, 13)


def test_timespan_schedules() -> None:
    s = parse_schedule("00:05:00")
    assert isinstance(s, ConstantSchedule) and s.interval == timedelta(minutes=5)
    assert s.next_occurrence(utc(2024, 1, 1), UTC) == utc(2024, 1, 1, 0, 5)
    assert parse_schedule("1.02:03:04").interval == timedelta(days=1, hours=2, minutes=3, seconds=4)  # type: ignore[attr-defined]
    assert parse_schedule("2").interval == timedelta(days=2)  # type: ignore[attr-defined]
    assert parse_schedule("00:00:30").is_sub_minute(utc(2024, 1, 1), UTC)
    assert not parse_schedule("01:00:00").is_sub_minute(utc(2024, 1, 1), UTC)


def test_sub_minute_cron_detection() -> None:
    assert isinstance(parse_schedule("*/10 * * * * *"), CronSchedule)
    assert parse_schedule("*/10 * * * * *").is_sub_minute(utc(2024, 1, 1), UTC)
    assert not parse_schedule("0 * * * * *").is_sub_minute(utc(2024, 1, 1), UTC)


def test_never_matching_schedule_has_no_occurrence() -> None:
    assert parse_schedule("0 0 0 30 2 *").next_occurrence(utc(2024, 1, 1), UTC) is None


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("* * *", "6 components"),
        ("60 * * * * *", "higher than the maximum allowable value for the [Second] field"),
        ("0 0 0 0 * *", "lower than the minimum allowable value for the [Day] field"),
        ("0 0 * * * 7", "[DayOfWeek]"),
        ("0 0 * * Foo *", "not a known value name"),
        ("0 */x * * * *", "[Minute]"),
        ("25:00:00", "was not recognized as a valid cron expression or timespan string"),
        ("", "was not recognized"),
        ("00:00:00", "zero TimeSpan"),
    ],
)
def test_bad_expressions_are_indexing_errors(expr: str, fragment: str) -> None:
    with pytest.raises(IndexingError) as info:
        parse_schedule(expr)
    assert fragment in str(info.value)
    assert f"'{expr}'" in str(info.value) or expr == ""


def test_time_zone_resolution() -> None:
    assert resolve_timezone({"WEBSITE_TIME_ZONE": "Eastern Standard Time"}) == ZoneInfo("America/New_York")
    both = {"WEBSITE_TIME_ZONE": "Europe/Paris", "TZ": "Asia/Tokyo"}
    assert resolve_timezone(both) == ZoneInfo("Europe/Paris")
    assert resolve_timezone({"TZ": ":Asia/Tokyo"}) == ZoneInfo("Asia/Tokyo")
    assert resolve_timezone({"TZ": "UTC"}) is UTC
    assert zone_by_name("tokyo standard time") == ZoneInfo("Asia/Tokyo")
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        zone_by_name("Mars/Olympus")
