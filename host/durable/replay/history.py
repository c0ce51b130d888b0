"""DTFx history events as plain dicts (pure).

Every event is the dict Newtonsoft would produce for a DurableTask.Core ``HistoryEvent``:
PascalCase keys, ``EventType`` as an int, ``EventId`` (the sequence id of scheduling events,
``-1`` otherwise), ``IsPlayed`` and ``Timestamp`` (ISO-8601 UTC, 7 fraction digits, ``Z``).
This is exactly what the Python Durable SDK reads from the orchestrator context
(docs/protocol.md, "History events") and what the task hub stores (docs/taskhub.md, "History").

Constructors take the event time as an aware ``datetime``; nothing here reads a clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    """DurableTask.Core ``EventType`` numbers."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20
    ExecutionRewound = 21


class OrchestrationStatus(IntEnum):
    """DurableTask.Core ``OrchestrationStatus`` numbers (names = runtimeStatus strings)."""

    Running = 0
    Completed = 1
    ContinuedAsNew = 2
    Failed = 3
    Canceled = 4
    Terminated = 5
    Pending = 6
    Suspended = 7


TERMINAL_STATUSES = frozenset(
    {
        OrchestrationStatus.Completed,
        OrchestrationStatus.Failed,
        OrchestrationStatus.Terminated,
        OrchestrationStatus.Canceled,
    }
)

#: Events that create a task and carry its sequence id in ``EventId``.
SCHEDULING_TYPES = frozenset(
    {
        EventType.TaskScheduled,
        EventType.TimerCreated,
        EventType.SubOrchestrationInstanceCreated,
        EventType.EventSent,
    }
)

#: Completion events and the key that names the task they complete.
COMPLETION_ID_KEY: dict[int, str] = {
    EventType.TaskCompleted: "TaskScheduledId",
    EventType.TaskFailed: "TaskScheduledId",
    EventType.SubOrchestrationInstanceCompleted: "TaskScheduledId",
    EventType.SubOrchestrationInstanceFailed: "TaskScheduledId",
    EventType.TimerFired: "TimerId",
}

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"

EXECUTED_BY = "FunchostWorkerId"
"""Extra member of TaskCompleted/TaskFailed: the worker id of the host that ran the activity.

It travels with the completion (queue message, History row column; DTFx readers ignore unknown
members) and is removed from the history the SDK sees (``orchestrator_call.sdk_view``)."""


# ---------------------------------------------------------------------------------------- time


def format_timestamp(t: datetime) -> str:
    """.NET round-trip format: ``2024-01-01T00:00:01.2500000Z`` (naive = UTC)."""
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}0Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp (0-7 fraction digits, ``Z`` or offset) to an aware UTC datetime."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    main, sep, rest = s.partition(".")
    if sep:
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        s = f"{main}.{(digits + '000000')[:6]}{rest[i:]}"
    t = datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def timestamp_or_none(value: Any) -> datetime | None:
    """An event member as a datetime: a datetime as it is, a timestamp text parsed, else ``None``."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return parse_timestamp(value)
        except ValueError:
            return None
    return None


def format_timespan(d: timedelta) -> str:
    """.NET TimeSpan "c" format (``6.00:00:00``), as the SDK expects for timer durations."""
    total = int(d.total_seconds())
    days, rem = divmod(total, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    prefix = f"{days}." if days else ""
    return f"{prefix}{h:02d}:{m:02d}:{s:02d}"


# -------------------------------------------------------------------------------- constructors


def event(
    event_type: EventType, when: datetime, *, event_id: int = -1, played: bool = False, **fields: Any
) -> Event:
    """A history event with the four common keys plus ``fields``."""
    e: Event = {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": played,
        "Timestamp": format_timestamp(when),
    }
    e.update(fields)
    return e


def execution_started(
    when: datetime,
    *,
    instance_id: str,
    execution_id: str,
    name: str,
    input_text: str | None,
    version: str = "",
    parent: dict[str, Any] | None = None,
    generation: int = 0,
    scheduled_start: datetime | None = None,
    tags: dict[str, str] | None = None,
) -> Event:
    """ExecutionStarted; ``parent`` is a :func:`parent_instance` dict for sub-orchestrations."""
    return event(
        EventType.ExecutionStarted,
        when,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Name=name,
        Version=version,
        Input=input_text,
        Tags=tags,
        Correlation=None,
        ParentTraceContext=None,
        ScheduledStartTime=None if scheduled_start is None else format_timestamp(scheduled_start),
        Generation=generation,
    )


def parent_instance(
    *, name: str, instance_id: str, execution_id: str, task_id: int, version: str = ""
) -> dict[str, Any]:
    """DTFx ``ParentInstance`` of a sub-orchestration's ExecutionStarted."""
    return {
        "Name": name,
        "Version": version,
        "TaskScheduleId": task_id,
        "OrchestrationInstance": {"InstanceId": instance_id, "ExecutionId": execution_id},
    }


def execution_completed(
    when: datetime,
    status: OrchestrationStatus,
    result: str | None,
    failure_details: dict[str, Any] | None = None,
) -> Event:
    """ExecutionCompleted with the final status; ``result`` is JSON text or a failure/terminate text."""
    return event(
        EventType.ExecutionCompleted,
        when,
        OrchestrationStatus=int(status),
        Result=result,
        FailureDetails=failure_details,
    )


def execution_terminated(when: datetime, reason: str | None) -> Event:
    """ExecutionTerminated (the management message; ``Input`` is the reason)."""
    return event(EventType.ExecutionTerminated, when, Input=reason)


def execution_suspended(when: datetime, reason: str | None) -> Event:
    """ExecutionSuspended (management message)."""
    return event(EventType.ExecutionSuspended, when, Reason=reason)


def execution_resumed(when: datetime, reason: str | None) -> Event:
    """ExecutionResumed (management message)."""
    return event(EventType.ExecutionResumed, when, Reason=reason)


def orchestrator_started(when: datetime) -> Event:
    """First event of every episode; its Timestamp is ``current_utc_datetime``."""
    return event(EventType.OrchestratorStarted, when)


def orchestrator_completed(when: datetime) -> Event:
    """Last event of every episode."""
    return event(EventType.OrchestratorCompleted, when)


def task_scheduled(when: datetime, task_id: int, name: str, input_text: str | None) -> Event:
    """TaskScheduled; DTFx stores the input as a one-element JSON array of the JSON text."""
    return event(
        EventType.TaskScheduled,
        when,
        event_id=task_id,
        Name=name,
        Version="",
        Input=json.dumps([input_text]) if input_text is not None else None,
    )


def task_completed(when: datetime, task_id: int, result: str | None) -> Event:
    """TaskCompleted; ``result`` is JSON text."""
    return event(EventType.TaskCompleted, when, TaskScheduledId=task_id, Result=result)


def _failed(
    kind: EventType,
    when: datetime,
    task_id: int,
    reason: str,
    details: str,
    failure_details: dict[str, Any] | None,
) -> Event:
    """A TaskFailed-shaped event (``TaskScheduledId``, ``Reason``, ``Details``, ``FailureDetails``)."""
    return event(
        kind, when, TaskScheduledId=task_id, Reason=reason, Details=details, FailureDetails=failure_details
    )


def task_failed(
    when: datetime,
    task_id: int,
    reason: str,
    details: str = "",
    failure_details: dict[str, Any] | None = None,
) -> Event:
    """TaskFailed; the SDK raises ``Exception(f"{Reason} \\n {Details}")``."""
    return _failed(EventType.TaskFailed, when, task_id, reason, details, failure_details)


def sub_orchestration_created(
    when: datetime, task_id: int, name: str, instance_id: str, input_text: str | None, version: str = ""
) -> Event:
    """SubOrchestrationInstanceCreated."""
    return event(
        EventType.SubOrchestrationInstanceCreated,
        when,
        event_id=task_id,
        Name=name,
        Version=version,
        InstanceId=instance_id,
        Input=input_text,
    )


def sub_orchestration_completed(when: datetime, task_id: int, result: str | None) -> Event:
    """SubOrchestrationInstanceCompleted; ``result`` is the JSON text of the child's output."""
    return event(EventType.SubOrchestrationInstanceCompleted, when, TaskScheduledId=task_id, Result=result)


def sub_orchestration_failed(
    when: datetime,
    task_id: int,
    reason: str,
    details: str = "",
    failure_details: dict[str, Any] | None = None,
) -> Event:
    """SubOrchestrationInstanceFailed (also for terminated children)."""
    return _failed(EventType.SubOrchestrationInstanceFailed, when, task_id, reason, details, failure_details)


def timer_created(when: datetime, timer_id: int, fire_at: datetime) -> Event:
    """TimerCreated."""
    return event(EventType.TimerCreated, when, event_id=timer_id, FireAt=format_timestamp(fire_at))


def timer_fired(when: datetime, timer_id: int, fire_at: datetime) -> Event:
    """TimerFired (the message the engine schedules for ``fire_at``)."""
    return event(EventType.TimerFired, when, TimerId=timer_id, FireAt=format_timestamp(fire_at))


def event_sent(when: datetime, task_id: int, instance_id: str, name: str, input_text: str | None) -> Event:
    """EventSent (entity requests from orchestrations)."""
    return event(
        EventType.EventSent, when, event_id=task_id, InstanceId=instance_id, Name=name, Input=input_text
    )


def event_raised(when: datetime, name: str, input_text: str | None) -> Event:
    """EventRaised: external events and entity responses (``input_text`` is JSON text)."""
    return event(EventType.EventRaised, when, Name=name, Input=input_text, ParentTraceContext=None)


def generic_event(when: datetime, data: str | None) -> Event:
    """GenericEvent (ignored by the SDK); used for rewind and for held/buffered events."""
    return event(EventType.GenericEvent, when, Data=data)


def failure_details(error_type: str, message: str, stack: str | None = None) -> dict[str, Any]:
    """DTFx ``FailureDetails`` object."""
    return {
        "ErrorType": error_type,
        "ErrorMessage": message,
        "StackTrace": stack,
        "InnerFailure": None,
        "IsNonRetriable": False,
    }


# ------------------------------------------------------------------------------------- queries


def etype(e: Event) -> int:
    """The event's type number."""
    return int(e["EventType"])


def instance_id_of(e: Event) -> str | None:
    """``OrchestrationInstance.InstanceId`` of an ExecutionStarted or SubOrchestrationInstanceCreated."""
    return (e.get("OrchestrationInstance") or {}).get("InstanceId")


def execution_id_of(e: Event) -> str | None:
    """``OrchestrationInstance.ExecutionId`` of an ExecutionStarted or SubOrchestrationInstanceCreated."""
    return (e.get("OrchestrationInstance") or {}).get("ExecutionId")


def parent_instance_id(started: Event) -> str | None:
    """The parent's instance id of a sub-orchestration's ExecutionStarted (``None`` at top level)."""
    return instance_id_of(started.get("ParentInstance") or {})


def find_execution_started(history: Sequence[Event]) -> Event | None:
    """The ExecutionStarted of the (single) execution in ``history``."""
    return next((e for e in history if etype(e) == EventType.ExecutionStarted), None)


def find_terminal(history: Sequence[Event]) -> Event | None:
    """The ExecutionCompleted (or ContinueAsNew) that ended the execution, if any."""
    for e in reversed(history):
        if etype(e) in (EventType.ExecutionCompleted, EventType.ContinueAsNew):
            return e
    return None


def is_suspended(history: Iterable[Event]) -> bool:
    """True when the latest suspend/resume event is an ExecutionSuspended."""
    state = False
    for e in history:
        t = etype(e)
        if t == EventType.ExecutionSuspended:
            state = True
        elif t == EventType.ExecutionResumed:
            state = False
    return state


def runtime_status(history: Sequence[Event]) -> OrchestrationStatus:
    """The runtime status implied by the history alone."""
    if not history or find_execution_started(history) is None:
        return OrchestrationStatus.Pending
    term = find_terminal(history)
    if term is not None:
        return OrchestrationStatus(int(term.get("OrchestrationStatus", OrchestrationStatus.Completed)))
    return OrchestrationStatus.Suspended if is_suspended(history) else OrchestrationStatus.Running


def episode_count(history: Iterable[Event]) -> int:
    """Number of episodes (OrchestratorStarted events), DTFx's ``Episode``."""
    return sum(1 for e in history if etype(e) == EventType.OrchestratorStarted)


def last_timestamp(history: Sequence[Event]) -> datetime | None:
    """Timestamp of the latest OrchestratorStarted (the orchestration's notion of "now")."""
    for e in reversed(history):
        if etype(e) == EventType.OrchestratorStarted:
            return parse_timestamp(e["Timestamp"])
    return None


def mark_played(history: Iterable[Event]) -> list[Event]:
    """Copies of ``history`` with ``IsPlayed`` true (what earlier episodes look like on replay)."""
    return [e if e.get("IsPlayed") else {**e, "IsPlayed": True} for e in history]


def completion_id(e: Event) -> int | None:
    """The task id a completion event refers to (None for other events)."""
    key = COMPLETION_ID_KEY.get(etype(e))
    return None if key is None else int(e[key])
