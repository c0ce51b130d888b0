"""The SDK's orchestrator actions: parsing, flattening, describing, matching history (pure).

The orchestrator state JSON (docs/protocol.md, "The state JSON") carries the *cumulative* action list. Under
schema V2/V3 it is one inner list with WhenAll/WhenAny compounds; flattened depth-first, every
action except WaitForExternalEvent owns the next sequence id. With-retry actions arrive
wrapped in a one-child WhenAll, so flattening removes the wrapper too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import IntEnum
from typing import Any

from host.durable.replay.history import HTTP_ACTIVITY_NAME, Event, EventType, etype

Action = dict[str, Any]


class ActionType(IntEnum):
    """``OutOfProcOrchestrationShim.AsyncActionType`` numbers."""

    CallActivity = 0
    CallActivityWithRetry = 1
    CallSubOrchestrator = 2
    CallSubOrchestratorWithRetry = 3
    ContinueAsNew = 4
    CreateTimer = 5
    WaitForExternalEvent = 6
    CallEntity = 7
    CallHttp = 8
    SignalEntity = 9
    ScheduledSignalEntity = 10
    WhenAny = 11
    WhenAll = 12


COMPOUND = frozenset({ActionType.WhenAny, ActionType.WhenAll})
WITH_RETRY = frozenset({ActionType.CallActivityWithRetry, ActionType.CallSubOrchestratorWithRetry})


def atype(a: Action) -> int:
    """The action's type number."""
    return int(a["actionType"])


def flatten(actions: list[Any]) -> list[Action]:
    """Depth-first flattening of the state's ``actions`` (V1 lists of lists or V2/V3 compounds)."""
    return list(_walk(actions))


def _walk(items: list[Any]) -> Iterator[Action]:
    for item in items:
        if isinstance(item, list):
            yield from _walk(item)
        elif atype(item) in COMPOUND:
            yield from _walk(item.get("compoundActions") or [])
        else:
            yield item


def takes_id(a: Action) -> bool:
    """Whether the action owns a sequence id (all but WaitForExternalEvent)."""
    return atype(a) != ActionType.WaitForExternalEvent


def describe(a: Action) -> str:
    """Python-API-like description, e.g. ``call_activity('Hello')``."""
    t = atype(a)
    if t in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
        api = "call_activity" if t == ActionType.CallActivity else "call_activity_with_retry"
        return f"{api}({a.get('functionName')!r})"
    if t in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
        api = (
            "call_sub_orchestrator"
            if t == ActionType.CallSubOrchestrator
            else "call_sub_orchestrator_with_retry"
        )
        extra = f", instance_id={a['instanceId']!r}" if a.get("instanceId") else ""
        return f"{api}({a.get('functionName')!r}{extra})"
    if t == ActionType.CreateTimer:
        return f"create_timer({a.get('fireAt')})"
    if t == ActionType.WaitForExternalEvent:
        return f"wait_for_external_event({a.get('externalEventName')!r})"
    if t in (ActionType.CallEntity, ActionType.SignalEntity):
        api = "call_entity" if t == ActionType.CallEntity else "signal_entity"
        return f"{api}({a.get('instanceId')!r}, {a.get('operation')!r})"
    if t == ActionType.CallHttp:
        req = a.get("httpRequest") or {}
        return f"call_http({req.get('method')!r}, {req.get('uri')!r})"
    if t == ActionType.ContinueAsNew:
        return "continue_as_new(...)"
    return f"action type {t}"


def describe_event(e: Event) -> str:
    """Description of the action that produced a scheduling event (for divergence messages)."""
    t = etype(e)
    if t == EventType.TaskScheduled:
        if e.get("Name") == HTTP_ACTIVITY_NAME:
            return "call_http(...)"
        return f"call_activity({e.get('Name')!r})"
    if t == EventType.SubOrchestrationInstanceCreated:
        return f"call_sub_orchestrator({e.get('Name')!r})"
    if t == EventType.TimerCreated:
        return f"create_timer({e.get('FireAt')})"
    if t == EventType.EventSent:
        op = _request_op(e)
        return f"call_entity/signal_entity({e.get('InstanceId')!r}, {op!r})"
    return f"event type {t}"


def _request_op(e: Event) -> str | None:
    try:
        body = json.loads(e.get("Input") or "null")
    except ValueError:
        return None
    return body.get("op") if isinstance(body, dict) else None


def matches(a: Action, e: Event) -> bool:
    """Whether action ``a`` is what produced scheduling event ``e`` (same kind and target)."""
    t, et = atype(a), etype(e)
    if t in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
        return (
            et == EventType.TaskScheduled
            and str(e.get("Name", "")).lower() == str(a.get("functionName", "")).lower()
        )
    if t == ActionType.CallHttp:
        return et == EventType.TaskScheduled and e.get("Name") == HTTP_ACTIVITY_NAME
    if t in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
        if et != EventType.SubOrchestrationInstanceCreated:
            return False
        if str(e.get("Name", "")).lower() != str(a.get("functionName", "")).lower():
            return False
        return not a.get("instanceId") or a["instanceId"] == e.get("InstanceId")
    if t == ActionType.CreateTimer:
        return et == EventType.TimerCreated
    if t in (ActionType.CallEntity, ActionType.SignalEntity):
        return (
            et == EventType.EventSent
            and e.get("InstanceId") == a.get("instanceId")
            and _request_op(e) == a.get("operation")
        )
    return False
