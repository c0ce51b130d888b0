""".NET ``DateTime`` values as Durable Functions writes them in entity messages (pure).

Times are kept as **ticks** (100 ns units since 0001-01-01 UTC, .NET ``DateTime.Ticks``): they
compare exactly, survive a round trip through the 7-digit JSON form, and ``0`` is
``DateTime.MinValue`` (the "none" value of ``Predecessor`` and of the sorter horizons).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

MIN_TICKS = 0
TICKS_PER_SECOND = 10_000_000
_EPOCH0 = datetime(1, 1, 1, tzinfo=UTC)
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7})\d*)?(Z|[+-]\d{2}:?\d{2})?$"
)


def ticks_from_datetime(value: datetime) -> int:
    """Ticks of an aware (or naive = UTC) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH0
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


def datetime_from_ticks(ticks: int) -> datetime:
    """The UTC datetime of ``ticks`` (sub-microsecond digits are dropped)."""
    return _EPOCH0 + timedelta(microseconds=ticks // 10)


def parse_ticks(text: str | None) -> int:
    """Ticks of an ISO-8601 text as Newtonsoft writes ``DateTime`` (``None``/empty → MinValue).

    Raises ``ValueError`` for anything else.
    """
    if not text:
        return MIN_TICKS
    m = _ISO_RE.match(text.strip())
    if m is None:
        raise ValueError(f"not an ISO-8601 date/time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = int((m.group(7) or "").ljust(7, "0"))
    base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    ticks = ticks_from_datetime(base) + fraction
    zone = m.group(8)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * TICKS_PER_SECOND
        ticks -= sign * offset
    return ticks


def format_ticks(ticks: int) -> str:
    """Newtonsoft's ISO form: ``2024-01-01T00:00:00.1234567Z``, trailing zero digits trimmed.

    ``MinValue`` is written without zone (``0001-01-01T00:00:00``), as .NET writes an
    unspecified-kind ``default(DateTime)``.
    """
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    d = _EPOCH0 + timedelta(seconds=seconds)
    text = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    if ticks == MIN_TICKS:
        return text
    digits = f"{fraction:07d}".rstrip("0")
    return f"{text}.{digits}Z" if digits else f"{text}Z"
