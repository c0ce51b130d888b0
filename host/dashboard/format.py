"""Template filters of the dashboard (pure): times, durations, JSON text, status classes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

STATUS_CLASSES: dict[str, str] = {
    "Running": "running",
    "Pending": "pending",
    "Completed": "completed",
    "Failed": "failed",
    "Terminated": "terminated",
    "Canceled": "terminated",
    "Suspended": "suspended",
    "ContinuedAsNew": "running",
}


def fmt_time(value: datetime | None) -> str:
    """``2026-12-06 16:40:01.123Z`` (UTC, milliseconds); ``""`` for ``None``."""
    if value is None:
        return ""
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def fmt_duration(value: timedelta | None) -> str:
    """A short human duration: ``850 ms``, ``3.2 s``, ``4 min 05 s``, ``2 h 03 min``, ``3 d 4 h``."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{sign}{seconds:.1f} s"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    return f"{sign}{minutes} min {secs:02d} s"


def json_value(text: str) -> Any:
    """The value of JSON ``text``; a JSON string holding a JSON object or array (how the SDK's
    client stores an input) is decoded once more. ``ValueError`` when ``text`` is not JSON."""
    value = json.loads(text)
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_json(text: Any, indent: int | None) -> str:
    """JSON text (or a value) dumped again with ``indent``; text that is not JSON as it is."""
    if text is None:
        return ""
    if isinstance(text, str):
        try:
            value = json_value(text)
        except ValueError:
            return text
        return json.dumps(value, indent=indent, ensure_ascii=False)
    return json.dumps(text, indent=indent, ensure_ascii=False, default=str)


def pretty_json(text: Any, limit: int = 20_000) -> str:
    """JSON text (or a value) indented for reading; other text as it is; cut at ``limit`` chars."""
    out = _as_json(text, indent=2)
    return out if len(out) <= limit else out[:limit] + f"\n… ({len(out) - limit} more characters)"


def short_json(text: Any, limit: int = 80) -> str:
    """JSON text on one line, cut at ``limit`` characters (for table cells)."""
    out = " ".join(_as_json(text, indent=None).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def status_class(status: str | None) -> str:
    """The CSS class of a runtime status (``unknown`` for anything else)."""
    return STATUS_CLASSES.get(status or "", "unknown")


def without_source(sentence: str, source: object) -> str:
    """``sentence`` without its trailing `` at file:line`` (the page shows the line on its own)."""
    suffix = f" at {source}"
    return sentence[: -len(suffix)] if source is not None and sentence.endswith(suffix) else sentence


FILTERS = {
    "time": fmt_time,
    "duration": fmt_duration,
    "pretty_json": pretty_json,
    "short_json": short_json,
    "status_class": status_class,
    "without_source": without_source,
}
"""The filters the dashboard's Jinja2 environment gets, by name."""
