"""An orchestration's history as typed events, for assertions.

``[e.type for e in await app.history(iid)]`` gives ``["OrchestratorStarted",
"ExecutionStarted", "TaskScheduled", ...]``; :func:`activity_names` lists the activities an
instance scheduled, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from host.durable.api.payloads import parse_json_text
from host.durable.engine.activities import activity_input
from host.durable.replay.history import EventType, timestamp_or_none
from host.durable.replay.ledger import pending_payload


@dataclass(frozen=True)
class HistoryEvent:
    """One history event (DurableTask.Core's shape; the raw dict stays in ``raw``)."""

    type: str
    event_id: int = -1
    timestamp: datetime | None = None
    name: str | None = None
    input: Any = None
    """The event's input as a Python value (activity input, event data, orchestration input)."""
    result: Any = None
    """The result as a Python value (TaskCompleted, sub-orchestration and execution results)."""
    task_id: int | None = None
    """For completions: the id of the TaskScheduled/TimerCreated/sub-orchestration they answer."""
    fire_at: datetime | None = None
    reason: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> HistoryEvent:
        kind = int(raw.get("EventType", -1))
        try:
            type_name = EventType(kind).name
        except ValueError:
            type_name = f"Unknown{kind}"
        input_text = activity_input(dict(raw)) if kind == EventType.TaskScheduled else raw.get("Input")
        task_id = raw.get("TaskScheduledId", raw.get("TimerId"))
        return cls(
            type=type_name,
            event_id=int(raw.get("EventId", -1)),
            timestamp=timestamp_or_none(raw.get("Timestamp")),
            name=raw.get("Name"),
            input=parse_json_text(input_text),
            result=parse_json_text(raw.get("Result")),
            task_id=None if task_id is None else int(task_id),
            fire_at=timestamp_or_none(raw.get("FireAt")),
            reason=raw.get("Reason"),
            raw=dict(raw),
        )


def typed(history: Iterable[Mapping[str, Any]]) -> list[HistoryEvent]:
    """Raw history dicts as :class:`HistoryEvent` (without the host's records of events it held
    back while nobody waited or the instance was suspended: those show once delivered)."""
    return [HistoryEvent.from_raw(e) for e in history if pending_payload(dict(e)) is None]


def activity_names(history: Iterable[HistoryEvent]) -> list[str]:
    """Names of the activities scheduled, in history order."""
    return [e.name or "" for e in history if e.type == "TaskScheduled"]
