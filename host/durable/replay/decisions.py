"""Turning new orchestrator actions into decision events and outbound messages (pure).

One function per action kind; all take the sequence id the action owns. See
docs/protocol.md ("The state JSON") for the history each action leaves, "Sequence ids" for retries.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from host.durable.entities.from_orchestrations import last_request_times, orchestration_request
from host.durable.entities.requests import request_event_name
from host.durable.replay import history as h
from host.durable.replay.actions import Action, ActionType, atype
from host.durable.replay.model import (
    CallHttp,
    EntityRequest,
    Outbound,
    ReplayOptions,
    ScheduleActivity,
    ScheduleTimer,
    StartSubOrchestration,
)

_EXEC_NS = uuid.UUID("0c7a3d4e-2b1f-4e8a-9d6c-5f4e3a2b1c0d")


def derived_execution_id(*parts: str) -> str:
    """A deterministic execution id (32 hex) so a re-run work item produces the same ids."""
    return uuid.uuid5(_EXEC_NS, "\n".join(parts)).hex


@dataclass
class Identity:
    """Who is deciding: the orchestration instance and execution."""

    instance_id: str
    execution_id: str
    name: str
    version: str = ""


@dataclass
class Decisions:
    """Accumulated decision events and messages of one episode."""

    events: list[h.Event] = field(default_factory=list)
    messages: list[Outbound] = field(default_factory=list)
    error: str | None = None
    """Set when an action cannot be carried out (unknown function): the orchestration fails."""
    history: list[h.Event] = field(default_factory=list)
    """The history before these decisions (entity requests are labelled after earlier ones)."""
    entity_last_sent: dict[str, int] | None = None


def unknown_function_message(name: str, kind: str) -> str:
    """The extension's text for scheduling a function that is not registered."""
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
        f"Additional info: the app has no {kind} function named '{name}'."
    )


def decide(
    a: Action, task_id: int, who: Identity, now: datetime, opts: ReplayOptions, out: Decisions
) -> None:
    """Record the decision for new action ``a`` owning ``task_id``."""
    t = atype(a)
    if t in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
        name = str(a.get("functionName"))
        if opts.known_activities is not None and name.lower() not in opts.known_activities:
            out.error = out.error or unknown_function_message(name, "activity")
            return
        schedule_activity(task_id, name, a.get("input"), now, out)
    elif t in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
        name = str(a.get("functionName"))
        if opts.known_orchestrators is not None and name.lower() not in opts.known_orchestrators:
            out.error = out.error or unknown_function_message(name, "orchestrator")
            return
        start_sub_orchestration(a, task_id, who, now, opts.versioning.default_version, out)
    elif t == ActionType.CreateTimer:
        fire_at = h.parse_timestamp(str(a["fireAt"]))
        out.events.append(h.timer_created(now, task_id, fire_at))
        if not a.get("isCanceled"):
            out.messages.append(ScheduleTimer(task_id, fire_at, h.timer_fired(fire_at, task_id, fire_at)))
    elif t in (ActionType.CallEntity, ActionType.SignalEntity):
        target = str(a.get("instanceId"))
        if out.entity_last_sent is None:
            out.entity_last_sent = last_request_times(out.history)
        req = orchestration_request(
            operation=str(a.get("operation")),
            input_text=a.get("input"),
            is_signal=t == ActionType.SignalEntity,
            instance_id=who.instance_id,
            execution_id=who.execution_id,
            task_id=task_id,
            now=now,
            target=target,
            last_sent=out.entity_last_sent,
        )
        out.events.append(h.event_sent(now, task_id, target, "op", req.to_text()))
        out.messages.append(EntityRequest(target, req, request_event_name(req)))
    elif t == ActionType.CallHttp:
        request: dict[str, Any] = dict(a.get("httpRequest") or {})
        ev = h.task_scheduled(now, task_id, h.HTTP_ACTIVITY_NAME, json.dumps(request))
        out.events.append(ev)
        out.messages.append(CallHttp(task_id, request, ev))


def schedule_activity(task_id: int, name: str, input_text: str | None, now: datetime, out: Decisions) -> None:
    """TaskScheduled + ScheduleActivity."""
    ev = h.task_scheduled(now, task_id, name, input_text)
    out.events.append(ev)
    out.messages.append(ScheduleActivity(task_id, name, input_text, ev))


def start_sub_orchestration(
    a: Action, task_id: int, who: Identity, now: datetime, default_version: str, out: Decisions
) -> None:
    """SubOrchestrationInstanceCreated + StartSubOrchestration (child id defaults to DTFx's; a
    child without an explicit version gets the host's ``default_version``)."""
    name = str(a.get("functionName"))
    child_id = a.get("instanceId") or f"{who.execution_id}:{task_id}"
    stored_input = None if a.get("input") is None else json.dumps(a["input"])
    version = default_version if a.get("version") is None else str(a["version"])
    out.events.append(h.sub_orchestration_created(now, task_id, name, child_id, stored_input, version))
    child_exec = derived_execution_id(who.instance_id, who.execution_id, str(task_id))
    parent = h.parent_instance(
        name=who.name,
        instance_id=who.instance_id,
        execution_id=who.execution_id,
        task_id=task_id,
        version=who.version,
    )
    started = h.execution_started(
        now,
        instance_id=child_id,
        execution_id=child_exec,
        name=name,
        input_text=stored_input,
        version=version,
        parent=parent,
    )
    out.messages.append(StartSubOrchestration(task_id, child_id, name, stored_input, started))


def retry_timer(task_id: int, interval_ms: int, now: datetime, out: Decisions) -> None:
    """The timer DTFx's RetryInterceptor waits on after a failed attempt."""
    fire_at = now + timedelta(milliseconds=max(0, interval_ms))
    out.events.append(h.timer_created(now, task_id, fire_at))
    out.messages.append(ScheduleTimer(task_id, fire_at, h.timer_fired(fire_at, task_id, fire_at)))


def retry_attempt(
    a: Action, task_id: int, who: Identity, now: datetime, default_version: str, out: Decisions
) -> None:
    """Schedule the next attempt of a with-retry action under ``task_id``."""
    if atype(a) == ActionType.CallActivityWithRetry:
        schedule_activity(task_id, str(a.get("functionName")), a.get("input"), now, out)
    else:
        start_sub_orchestration(a, task_id, who, now, default_version, out)
