"""An instance's history as a timeline (pure): each task from scheduled to finished, with duration.

Activities and sub-orchestrations are paired by task id (``EventId`` of the scheduling event,
``TaskScheduledId`` of its completion), timers by ``TimerId``; external events, events sent,
suspend/resume/rewind/terminate and the execution's start and end are single points. Replay
markers (``OrchestratorStarted``/``Completed``) and buffered ``GenericEvent`` records are left
out: the raw history shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from host.durable.replay.history import EXECUTED_BY, EventType, timestamp_or_none
from host.durable.taskhub.rows import RUNTIME_STATUS_NAMES

ACTIVITY, SUB_ORCHESTRATION, TIMER = "activity", "sub-orchestration", "timer"
EVENT, EVENT_SENT, EXECUTION, CONTINUED = "event", "event sent", "execution", "continue-as-new"
CONTROL = "control"


@dataclass
class TimelineItem:
    """One row of the timeline: a task (``start``→``end``) or a point in time (``end`` is ``None``)."""

    kind: str
    name: str
    start: datetime | None
    end: datetime | None = None
    state: str = "pending"
    """``pending``, ``completed``, ``failed``, ``fired`` or ``point`` (a single event)."""
    task_id: int | None = None
    detail: str | None = None
    """The result, the failure, the event's data or the reason (JSON text or plain text)."""
    fire_at: datetime | None = None
    instance_id: str | None = None
    """The sub-orchestration's instance (or an event sent's target)."""
    host: str | None = None
    """The worker that ran an activity (recorded with its completion)."""

    @property
    def duration(self) -> timedelta | None:
        """How long the task took (``None`` while pending or for a point)."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


def failure_text(event: dict[str, Any]) -> str:
    """The failure of a ``TaskFailed``-shaped or ``ExecutionCompleted`` event, as one text."""
    details = event.get("FailureDetails")
    if isinstance(details, dict) and details.get("ErrorMessage"):
        kind = details.get("ErrorType")
        return f"{kind}: {details['ErrorMessage']}" if kind else str(details["ErrorMessage"])
    reason, more = event.get("Reason"), event.get("Details")
    return " ".join(str(p) for p in (reason, more) if p) or str(event.get("Result") or "failed")


def _task_id(event: dict[str, Any], key: str) -> int | None:
    value = event.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _host(event: dict[str, Any]) -> str | None:
    value = event.get(EXECUTED_BY)
    return str(value) if value else None


def _find(open_items: dict[int, TimelineItem], event: dict[str, Any], key: str) -> TimelineItem | None:
    task_id = _task_id(event, key)
    return open_items.get(task_id) if task_id is not None else None


def build_timeline(events: list[dict[str, Any]]) -> list[TimelineItem]:
    """The timeline of one execution's history, in the order things were scheduled or happened."""
    items: list[TimelineItem] = []
    tasks: dict[int, TimelineItem] = {}
    timers: dict[int, TimelineItem] = {}
    for event in events:
        kind = int(event.get("EventType", -1))
        when = timestamp_or_none(event.get("Timestamp"))
        name = str(event.get("Name") or "")
        if kind == EventType.TaskScheduled or kind == EventType.SubOrchestrationInstanceCreated:
            is_activity = kind == EventType.TaskScheduled
            item = TimelineItem(
                ACTIVITY if is_activity else SUB_ORCHESTRATION,
                name,
                when,
                task_id=_task_id(event, "EventId"),
                instance_id=None if is_activity else str(event.get("InstanceId") or "") or None,
            )
            if item.task_id is not None:
                tasks[item.task_id] = item
            items.append(item)
        elif kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            found = _find(tasks, event, "TaskScheduledId")
            if found is not None:
                found.end, found.state, found.detail = when, "completed", event.get("Result")
                found.host = _host(event)
        elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            found = _find(tasks, event, "TaskScheduledId")
            if found is not None:
                found.end, found.state, found.detail = when, "failed", failure_text(event)
                found.host = _host(event)
        elif kind == EventType.TimerCreated:
            fire_at = timestamp_or_none(event.get("FireAt"))
            item = TimelineItem(TIMER, "timer", when, task_id=_task_id(event, "EventId"), fire_at=fire_at)
            if item.task_id is not None:
                timers[item.task_id] = item
            items.append(item)
        elif kind == EventType.TimerFired:
            found = _find(timers, event, "TimerId")
            if found is not None:
                found.end, found.state = when, "fired"
        elif kind == EventType.EventRaised:
            items.append(TimelineItem(EVENT, name, when, state="point", detail=event.get("Input")))
        elif kind == EventType.EventSent:
            target = str(event.get("InstanceId") or "") or None
            items.append(
                TimelineItem(
                    EVENT_SENT, name, when, state="point", detail=event.get("Input"), instance_id=target
                )
            )
        elif kind == EventType.ExecutionStarted:
            generation = event.get("Generation")
            label = f"started {name}" + (f" (generation {generation})" if generation else "")
            items.append(TimelineItem(EXECUTION, label, when, state="point", detail=event.get("Input")))
        elif kind == EventType.ExecutionCompleted:
            items.append(_completed(event, when))
        elif kind == EventType.ContinueAsNew:
            items.append(
                TimelineItem(CONTINUED, "continued as new", when, state="point", detail=event.get("Result"))
            )
        elif kind in _CONTROL_NAMES:
            detail = event.get("Reason") if kind != EventType.ExecutionTerminated else event.get("Input")
            items.append(TimelineItem(CONTROL, _CONTROL_NAMES[kind], when, state="point", detail=detail))
    return items


_CONTROL_NAMES: dict[int, str] = {
    EventType.ExecutionTerminated: "terminated",
    EventType.ExecutionSuspended: "suspended",
    EventType.ExecutionResumed: "resumed",
    EventType.ExecutionRewound: "rewound",
}


def _completed(event: dict[str, Any], when: datetime | None) -> TimelineItem:
    status = event.get("OrchestrationStatus")
    if isinstance(status, int) and 0 <= status < len(RUNTIME_STATUS_NAMES):
        status = RUNTIME_STATUS_NAMES[status]
    failed = status == "Failed"
    return TimelineItem(
        EXECUTION,
        f"finished: {status or 'Completed'}",
        when,
        state="failed" if failed else "point",
        detail=failure_text(event) if failed else event.get("Result"),
    )


def bars(items: list[TimelineItem], now: datetime) -> list[tuple[float, float]]:
    """``(left %, width %)`` of each item on one time axis from the first start to the last end
    (``now`` ends what is still pending); a point gets a sliver."""
    starts = [i.start for i in items if i.start is not None]
    if not starts:
        return [(0.0, 0.0) for _ in items]
    first = min(starts)
    last = max([now if i.state == "pending" else (i.end or i.start or first) for i in items] + [first])
    span = (last - first).total_seconds() or 1.0
    out: list[tuple[float, float]] = []
    for item in items:
        if item.start is None:
            out.append((0.0, 0.0))
            continue
        left = (item.start - first).total_seconds() / span * 100
        end = now if item.state == "pending" else (item.end or item.start)
        width = max((end - item.start).total_seconds() / span * 100, 0.5)
        out.append((round(min(left, 99.5), 2), round(min(width, 100 - min(left, 99.5)), 2)))
    return out
