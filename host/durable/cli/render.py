"""Human-readable output of the ``durable`` commands: key/value blocks and plain tables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_CELL = 60


def cell(value: Any, width: int = MAX_CELL) -> str:
    """One table cell: JSON for structures, ``-`` for nothing, shortened to ``width``."""
    if value is None or value == "":
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned text table with a header rule."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def status_block(status: Mapping[str, Any]) -> str:
    """An instance's status as aligned ``Key: value`` lines (input/output in full; the version
    only for a versioned instance)."""
    version = [("Version", status["version"])] if status.get("version") else []
    pairs = [
        ("Instance", status.get("instanceId")),
        ("Name", status.get("name")),
        *version,
        ("Status", status.get("runtimeStatus")),
        ("Created", status.get("createdTime")),
        ("Updated", status.get("lastUpdatedTime")),
        ("Input", status.get("input")),
        ("Output", status.get("output")),
        ("Custom status", status.get("customStatus")),
    ]
    waiting = status.get("waiting")
    if isinstance(waiting, Mapping) and waiting.get("state") != "finished":
        pairs.append(("Waiting", waiting.get("sentence")))
    elif isinstance(waiting, str):
        pairs.append(("Waiting", waiting))
    return "\n".join(f"{k + ':':<15}{cell(v, 10_000)}" for k, v in pairs)


def _event_detail(event: Mapping[str, Any]) -> Any:
    for key in ("Result", "Reason", "Input", "FireAt", "Details"):
        if event.get(key) not in (None, ""):
            return f"{key}: {cell(event[key])}"
    return None


def history_table(events: Sequence[Mapping[str, Any]]) -> str:
    """``historyEvents`` as Time | Event | Name | Detail rows."""
    rows = [
        (e.get("Timestamp"), e.get("EventType"), e.get("FunctionName") or e.get("Name"), _event_detail(e))
        for e in events
    ]
    return table(("Time", "Event", "Name", "Detail"), rows)


def instances_table(statuses: Sequence[Mapping[str, Any]]) -> str:
    """One row per instance; a Version column when any of them is versioned."""
    versioned = any(s.get("version") for s in statuses)
    rows = [
        (
            s.get("instanceId"),
            s.get("name"),
            *([s.get("version")] if versioned else []),
            s.get("runtimeStatus"),
            s.get("createdTime"),
            s.get("lastUpdatedTime"),
        )
        for s in statuses
    ]
    headers = ("Instance", "Name", *(["Version"] if versioned else []), "Status", "Created", "Updated")
    return table(headers, rows)
