"""Timer schedules as the real host reads them: NCRONTAB expressions and TimeSpan intervals.

``parse_schedule(expr)`` accepts what ``TimerSchedule.Create`` accepts: an NCRONTAB expression
with six fields (``{second} {minute} {hour} {day} {month} {day-of-week}``) or five (no
seconds), else a .NET TimeSpan (``hh:mm[:ss]``, ``d.hh:mm:ss``, ``d``). Field syntax follows
NCrontab: ``*``, values, ``a-b`` (swapped when reversed), ``*/n``, ``a-b/n``, ``a/n`` (= ``a-max/n``),
lists, and month/day names by any case-insensitive prefix (``Jan``, ``mon``). Day-of-month
and day-of-week must *both* match (NCrontab semantics, unlike Vixie cron).

Cron occurrences are computed on the local wall clock of the schedule's time zone and mapped to
instants as .NET maps a local ``DateTime``: a wall time skipped by a DST jump uses the offset
before the jump (02:30 on a spring-forward night fires at 03:30 new time); a wall time that
occurs twice fires once, at its standard-time instance.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from host.errors import IndexingError

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


@dataclass(frozen=True)
class _FieldKind:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_SECOND = _FieldKind("Second", 0, 59)
_MINUTE = _FieldKind("Minute", 0, 59)
_HOUR = _FieldKind("Hour", 0, 23)
_DAY = _FieldKind("Day", 1, 31)
_MONTH = _FieldKind("Month", 1, 12, tuple(_MONTHS))
_DOW = _FieldKind("DayOfWeek", 0, 6, tuple(_DAYS))


class ScheduleError(ValueError):
    """A schedule expression is malformed (wrapped into :class:`IndexingError` by the parser)."""


def _parse_value(kind: _FieldKind, text: str) -> int:
    if not text:
        raise ScheduleError("A crontab field value cannot be empty.")
    if text[0].isdigit():
        if not text.isdigit():
            raise ScheduleError(f"'{text}' is not a valid [{kind.name}] crontab field value.")
        return int(text)
    if not kind.names:
        raise ScheduleError(
            f"'{text}' is not a valid [{kind.name}] crontab field value. It must be a numeric "
            f"value between {kind.low} and {kind.high} (all inclusive)."
        )
    lowered = text.lower()
    for i, full in enumerate(kind.names):
        if full.lower().startswith(lowered):
            return i + kind.low
    raise ScheduleError(
        f"'{text}' is not a known value name. Use one of the following: {', '.join(kind.names)}."
    )


def _check(kind: _FieldKind, value: int) -> None:
    if value < kind.low:
        raise ScheduleError(
            f"{value} is lower than the minimum allowable value for the [{kind.name}] field. "
            f"Value must be between {kind.low} and {kind.high} (all inclusive)."
        )
    if value > kind.high:
        raise ScheduleError(
            f"{value} is higher than the maximum allowable value for the [{kind.name}] field. "
            f"Value must be between {kind.low} and {kind.high} (all inclusive)."
        )


def _parse_part(kind: _FieldKind, text: str, into: set[int]) -> None:
    step = 1
    has_step = "/" in text
    if has_step:
        head, _, tail = text.partition("/")
        if not head or not tail.isdigit():
            raise ScheduleError(f"'{text}' is not a valid [{kind.name}] crontab field expression.")
        step = max(int(tail), 1)
        text = head
    if text == "*":
        start, end = kind.low, kind.high
    elif "-" in text[1:]:
        dash = text.index("-", 1)
        start, end = _parse_value(kind, text[:dash]), _parse_value(kind, text[dash + 1 :])
        start, end = min(start, end), max(start, end)
        _check(kind, start)
        _check(kind, end)
    else:
        start = _parse_value(kind, text)
        _check(kind, start)
        end = kind.high if has_step else start
    into.update(range(start, end + 1, step))


def _parse_field(kind: _FieldKind, text: str) -> frozenset[int]:
    values: set[int] = set()
    try:
        for part in text.split(","):
            _parse_part(kind, part.strip(), values)
    except ScheduleError as e:
        raise ScheduleError(f"'{text}' is not a valid [{kind.name}] crontab field expression: {e}") from None
    return frozenset(values)


class Schedule(ABC):
    """A timer schedule: gives the next occurrence after an instant."""

    expression: str

    @abstractmethod
    def next_occurrence(self, after: datetime, tz: tzinfo) -> datetime | None:
        """The first occurrence strictly after ``after`` (aware), in ``tz``; ``None`` if never."""

    def next_occurrences(self, count: int, after: datetime, tz: tzinfo) -> list[datetime]:
        """The next ``count`` occurrences (fewer if the schedule ends)."""
        found: list[datetime] = []
        current = after
        while len(found) < count:
            nxt = self.next_occurrence(current, tz)
            if nxt is None:
                break
            found.append(nxt)
            current = nxt
        return found

    @abstractmethod
    def is_sub_minute(self, now: datetime, tz: tzinfo) -> bool:
        """True when the schedule fires more than once a minute (the host then turns the monitor off)."""


@dataclass(frozen=True)
class CronSchedule(Schedule):
    """An NCRONTAB schedule evaluated on the local wall clock."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    def _day_matches(self, d: date) -> bool:
        return d.day in self.days and (d.isoweekday() % 7) in self.weekdays

    def next_wall_time(self, after: datetime) -> datetime | None:
        """The first naive wall-clock time strictly after naive ``after`` that matches."""
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        limit = after.year + 30
        secs, mins, hours = sorted(self.seconds), sorted(self.minutes), sorted(self.hours)
        while t.year <= limit:
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = datetime(year, month, 1)
                continue
            if not self._day_matches(t.date()):
                t = datetime(t.year, t.month, t.day) + timedelta(days=1)
                continue
            hour = next((h for h in hours if h >= t.hour), None)
            if hour is None:
                t = datetime(t.year, t.month, t.day) + timedelta(days=1)
                continue
            if hour > t.hour:
                t = t.replace(hour=hour, minute=0, second=0)
            minute = next((m for m in mins if m >= t.minute), None)
            if minute is None:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if minute > t.minute:
                t = t.replace(minute=minute, second=0)
            second = next((s for s in secs if s >= t.second), None)
            if second is None:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            return t.replace(second=second)
        return None

    def next_occurrence(self, after: datetime, tz: tzinfo) -> datetime | None:
        if after.tzinfo is None:
            raise ValueError("next_occurrence needs an aware datetime")
        wall = after.astimezone(tz).replace(tzinfo=None)
        for _ in range(10000):
            candidate = self.next_wall_time(wall)
            if candidate is None:
                return None
            instant = to_instant(candidate, tz)
            if instant > after:
                return instant
            wall = candidate
        return None

    def is_sub_minute(self, now: datetime, tz: tzinfo) -> bool:
        first = self.next_occurrence(now, tz)
        if first is None:
            return False
        second = self.next_occurrence(first, tz)
        return second is not None and second <= now + timedelta(minutes=1)


@dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """A fixed interval (a TimeSpan schedule): the next run is the last one plus the interval."""

    expression: str
    interval: timedelta

    def next_occurrence(self, after: datetime, tz: tzinfo) -> datetime | None:
        return after + self.interval

    def is_sub_minute(self, now: datetime, tz: tzinfo) -> bool:
        return self.interval < timedelta(minutes=1)


def to_instant(wall: datetime, tz: tzinfo) -> datetime:
    """A naive local wall time as an aware instant, resolved as .NET resolves local times."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        chosen = first
    elif first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        chosen = first  # in a DST gap: the offset before the jump
    else:  # ambiguous (clocks went back): the standard-time instance
        chosen = first if not first.dst() and second.dst() else second
    return chosen.astimezone(UTC).astimezone(tz)


_CRON_FIELDS_6 = (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _DOW)
_TIMESPAN = re.compile(
    r"^\s*(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,7}))?)?\s*$"
)


def parse_cron(expression: str) -> CronSchedule:
    """Parse a 6- or 5-field NCRONTAB expression; :class:`ScheduleError` if invalid."""
    fields = expression.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ScheduleError(
            f"'{expression}' is not a valid crontab expression. It must contain 6 components of a "
            "schedule in the sequence of seconds, minutes, hours, days, months, and days of week "
            "(or 5, without seconds)."
        )
    parsed = [_parse_field(kind, text) for kind, text in zip(_CRON_FIELDS_6, fields, strict=True)]
    return CronSchedule(expression, *parsed)


def parse_timespan(expression: str) -> timedelta:
    """Parse a .NET TimeSpan (``hh:mm``, ``hh:mm:ss[.fffffff]``, ``d.hh:mm:ss``, ``d``)."""
    text = expression.strip()
    if text.isdigit():
        return timedelta(days=int(text))
    m = _TIMESPAN.match(text)
    if not m:
        raise ScheduleError(f"'{expression}' is not a TimeSpan")
    h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ScheduleError(f"'{expression}' is not a TimeSpan (a component is out of range)")
    frac = float("0." + m.group("f")) if m.group("f") else 0.0
    return timedelta(days=int(m.group("days") or 0), hours=h, minutes=mi, seconds=s + frac)


def parse_schedule(expression: str) -> Schedule:
    """A cron schedule if ``expression`` parses as one, else a TimeSpan; else :class:`IndexingError`.

    ``%Setting%`` references must be resolved first (indexing does it with
    :meth:`host.config.settings.HostSettings.resolve`).
    """
    try:
        return parse_cron(expression)
    except ScheduleError as cron_error:
        try:
            interval = parse_timespan(expression)
        except ScheduleError:
            raise IndexingError(
                f"The schedule expression '{expression}' was not recognized as a valid cron "
                f"expression or timespan string ({cron_error})."
            ) from None
        if interval <= timedelta(0):
            raise IndexingError(
                f"The schedule expression '{expression}' is a zero TimeSpan; use a positive interval."
            ) from None
        return ConstantSchedule(expression, interval)
