"""Why an unfinished orchestration is waiting, in one sentence (pure: no storage, no clock).

:func:`explain_waiting` takes :class:`WaitFacts` (the execution's history plus what else is
known: the Instances row's status, the external events the orchestrator code waits for, the
line of the ``yield`` it is suspended at, which of its activities run where, its children's
statuses) and returns a :class:`Waiting`: what the instance waits for, item by item, and the
sentence, e.g. ``waiting for event "Approval" since 2026-01-01T10:00:00Z (other events
buffered: "Cancel") at function_app.py:188``.

What the history alone tells: outstanding activities, timers, sub-orchestrations and entity
calls (scheduled, not completed), buffered external events, suspension. The names of the
external events awaited are not in history (``wait_for_external_event`` takes no sequence id):
they come from replaying the code (``WaitFacts.open_events``); without them the sentence says
"an external event".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from host.durable.entities.ids import REQUEST_EVENT
from host.durable.replay import history as h
from host.durable.replay.ledger import scan
from host.durable.replay.source import SourceLine


class WaitKind(StrEnum):
    """What one outstanding item is."""

    ACTIVITY = "activity"
    HTTP = "http"
    TIMER = "timer"
    EVENT = "event"
    SUB_ORCHESTRATION = "subOrchestration"
    ENTITY = "entity"


class WaitState(StrEnum):
    """The overall state the explanation is about."""

    PENDING = "pending"
    """Not started: no ExecutionStarted in history yet."""
    WAITING = "waiting"
    """Running, its code suspended on the items."""
    BUSY = "busy"
    """Running and nothing outstanding: an episode is due or under way."""
    SUSPENDED = "suspended"
    FINISHED = "finished"


@dataclass(frozen=True)
class ActivityRun:
    """An activity execution a host is known to be running."""

    host: str
    since: datetime


@dataclass(frozen=True)
class WaitFacts:
    """Everything known about one instance (see the module docstring)."""

    history: Sequence[h.Event]
    status: str | None = None
    """The Instances row's ``RuntimeStatus`` (None: derive it from the history)."""
    created_at: datetime | None = None
    scheduled_start: datetime | None = None
    open_events: Mapping[str, int] | None = None
    """External event names the code waits for, with how many waits (None: not known)."""
    source: SourceLine | None = None
    activities: Mapping[int, ActivityRun] = field(default_factory=dict)
    """Task id -> where that activity is running now."""
    activity_hosts: tuple[str, ...] | None = None
    """The other hosts that may run activities (``()``: none, so an activity not in ``activities``
    is queued; ``None``: not known, e.g. read straight from storage: it is only "scheduled")."""
    children: Mapping[str, str] = field(default_factory=dict)
    """Sub-orchestration instance id -> its runtime status."""
    version_refusal: str | None = None
    """Why this host leaves the instance to a host of its version (versionFailureStrategy Reject)."""


@dataclass(frozen=True)
class WaitItem:
    """One thing the orchestration waits for."""

    kind: WaitKind
    name: str
    since: datetime | None = None
    """When it was scheduled (or, for an external event, when the code last ran)."""
    task_id: int | None = None
    until: datetime | None = None
    """A timer's fire time."""
    host: str | None = None
    """The host running an activity (None: not running here)."""
    elsewhere: tuple[str, ...] | None = None
    """Activities not running here: other hosts that may run it (``()``: queued; None: not known)."""
    running_since: datetime | None = None
    instance_id: str | None = None
    """A sub-orchestration's or an entity's instance id."""
    detail: str | None = None
    """A child's status, an entity operation name."""

    def describe(self) -> str:
        """This item as a phrase (``activity "Hello" (queued since ...)``)."""
        if self.kind in (WaitKind.ACTIVITY, WaitKind.HTTP):
            what = f'activity "{self.name}"' if self.kind is WaitKind.ACTIVITY else "an HTTP call"
            if self.host is not None:
                return f"{what} (running on host {self.host} since {stamp(self.running_since)})"
            if self.elsewhere is None:
                return f"{what} (scheduled since {stamp(self.since)})"
            if not self.elsewhere:
                return f"{what} (queued since {stamp(self.since)})"
            hosts = ", ".join(self.elsewhere)
            where = f"host {hosts}" if len(self.elsewhere) == 1 else f"one of the hosts {hosts}"
            return f"{what} (scheduled since {stamp(self.since)}; queued, or running on {where})"
        if self.kind is WaitKind.TIMER:
            return f"a timer until {stamp(self.until)}"
        if self.kind is WaitKind.EVENT:
            return f'event "{self.name}"' + (f" since {stamp(self.since)}" if self.since else "")
        if self.kind is WaitKind.SUB_ORCHESTRATION:
            return f'sub-orchestration "{self.name}" ({self.instance_id}: {self.detail or "status unknown"})'
        op = f'operation "{self.detail}" on ' if self.detail else ""
        return f"entity {op}{self.instance_id} (since {stamp(self.since)})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "name": self.name, "description": self.describe()}
        for key, value in (
            ("since", self.since),
            ("taskId", self.task_id),
            ("until", self.until),
            ("host", self.host),
            ("runningSince", self.running_since),
            ("instanceId", self.instance_id),
            ("detail", self.detail),
        ):
            if value is not None:
                out[key] = stamp(value) if isinstance(value, datetime) else value
        if self.elsewhere:
            out["elsewhere"] = list(self.elsewhere)
        return out


@dataclass(frozen=True)
class Waiting:
    """The explanation: the state, the items, buffered events, the source line and the sentence."""

    state: WaitState
    sentence: str
    items: tuple[WaitItem, ...] = ()
    buffered: tuple[str, ...] = ()
    """Names of external events received but not (yet) awaited, oldest first."""
    since: datetime | None = None
    source: SourceLine | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of the admin endpoint and the CLI (``waiting`` of an instance)."""
        return {
            "state": self.state.value,
            "sentence": self.sentence,
            "items": [i.to_json() for i in self.items],
            "buffered": list(self.buffered),
            "since": None if self.since is None else stamp(self.since),
            "source": None if self.source is None else self.source.to_json(),
        }


def stamp(t: datetime | None) -> str:
    """A time as the sentences show it (ISO 8601 UTC to the second)."""
    if t is None:
        return "an unknown time"
    return (t if t.tzinfo is None else t.astimezone(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def explain_waiting(facts: WaitFacts) -> Waiting:
    """Why the instance described by ``facts`` is not finished (see the module docstring)."""
    hist = list(facts.history)
    status = facts.status or h.runtime_status(hist).name
    if status == "ContinuedAsNew":  # the row lags behind: the history is the next generation's
        status = h.runtime_status(hist).name
    started = h.find_execution_started(hist)
    if status in _FINISHED or h.find_terminal(hist) is not None:
        return Waiting(WaitState.FINISHED, f"not waiting: the instance is {status}")
    if facts.version_refusal is not None:
        text = f"waiting for a host that runs its version: {facts.version_refusal}"
        state = WaitState.PENDING if started is None else WaitState.WAITING
        return Waiting(state, text, since=facts.created_at if started is None else h.last_timestamp(hist))
    if started is None or status == "Pending":
        return _pending(facts)
    buffered = tuple(_buffered(hist))
    if status == "Suspended" or h.is_suspended(hist):
        since, reason = _suspension(hist)
        text = f"suspended since {stamp(since)}" + (f" ({reason})" if reason else "")
        if buffered:
            text += f"; events held: {_names(buffered)}"
        return Waiting(WaitState.SUSPENDED, _at(text, facts.source), (), buffered, since, facts.source)
    items = _outstanding(hist, facts)
    last_run = _last_progress(hist)
    events = _open_events(facts.open_events, last_run)
    items = events + items
    if not items:
        if facts.open_events is None and _ran_to_completion(hist):
            items = [WaitItem(WaitKind.EVENT, "", since=last_run)]
        else:
            text = "running: an episode is due or under way (no task outstanding)"
            return Waiting(WaitState.BUSY, text, (), buffered, last_run, facts.source)
    text = "waiting for " + _join([_phrase(i) for i in items])
    if buffered:
        other = "other events buffered" if any(i.kind is WaitKind.EVENT for i in items) else "events buffered"
        text += f" ({other}: {_names(buffered)})"
    since = min((i.since for i in items if i.since is not None), default=last_run)
    return Waiting(WaitState.WAITING, _at(text, facts.source), tuple(items), buffered, since, facts.source)


_FINISHED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
_MAX_LISTED = 3


def _pending(facts: WaitFacts) -> Waiting:
    if facts.scheduled_start is not None:
        text = f"pending: scheduled to start at {stamp(facts.scheduled_start)}"
    elif facts.created_at is not None:
        text = f"pending: not started yet (created {stamp(facts.created_at)}; its start message is queued)"
    else:
        text = "pending: not started yet (its start message is queued)"
    return Waiting(WaitState.PENDING, text, since=facts.created_at)


def _at(text: str, source: SourceLine | None) -> str:
    return text if source is None else f"{text} at {source}"


def _phrase(item: WaitItem) -> str:
    if item.kind is WaitKind.EVENT and not item.name:
        return "an external event" + (f" since {stamp(item.since)}" if item.since else "")
    return item.describe()


def _join(phrases: list[str]) -> str:
    counts = Counter(phrases)
    unique = list(dict.fromkeys(phrases))
    shown = [p if counts[p] == 1 else f"{counts[p]} × {p}" for p in unique]
    if len(shown) > _MAX_LISTED:
        rest = sum(counts[p] for p in unique[_MAX_LISTED:])
        shown = [*shown[:_MAX_LISTED], f"{rest} more"]
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _names(names: Sequence[str]) -> str:
    counts = Counter(names)
    return ", ".join(f'"{n}"' + (f" ×{counts[n]}" if counts[n] > 1 else "") for n in dict.fromkeys(names))


def _buffered(hist: list[h.Event]) -> list[str]:
    """Names of external events stored as pending and not released (entity messages excluded)."""
    pending = scan(hist).pending
    return [str(e.get("Name")) for e in pending if h.etype(e) == h.EventType.EventRaised]


def _suspension(hist: list[h.Event]) -> tuple[datetime | None, str | None]:
    for e in reversed(hist):
        if h.etype(e) == h.EventType.ExecutionSuspended:
            reason = e.get("Reason")
            return _time(e), str(reason) if reason else None
    return None, None


def _time(e: h.Event) -> datetime | None:
    text = e.get("Timestamp")
    return h.parse_timestamp(text) if isinstance(text, str) else None


def _open_events(open_events: Mapping[str, int] | None, since: datetime | None) -> list[WaitItem]:
    if not open_events:
        return []
    out: list[WaitItem] = []
    for name, count in open_events.items():
        out.extend(WaitItem(WaitKind.EVENT, name, since=since) for _ in range(max(count, 0)))
    return out


_NO_PROGRESS = frozenset(
    {
        h.EventType.OrchestratorStarted,
        h.EventType.OrchestratorCompleted,
        h.EventType.GenericEvent,
        h.EventType.ExecutionSuspended,
        h.EventType.ExecutionResumed,
    }
)


def _last_progress(hist: list[h.Event]) -> datetime | None:
    """When the code last moved on: the start of the last episode that delivered or scheduled
    something (episodes that only buffered an event or suspended/resumed left the code where it was)."""
    progressed = False
    for e in reversed(hist):
        t = h.etype(e)
        if t == h.EventType.OrchestratorStarted and progressed:
            return _time(e)
        if t not in _NO_PROGRESS:
            progressed = True
    return h.last_timestamp(hist)


def _ran_to_completion(hist: list[h.Event]) -> bool:
    """The last episode ended (OrchestratorCompleted after the last OrchestratorStarted)."""
    for e in reversed(hist):
        t = h.etype(e)
        if t == h.EventType.OrchestratorCompleted:
            return True
        if t == h.EventType.OrchestratorStarted:
            return False
    return False


def _outstanding(hist: list[h.Event], facts: WaitFacts) -> list[WaitItem]:
    sc = scan(hist)
    out: list[WaitItem] = []
    for tid, e in sorted(sc.scheduled.items()):
        if tid in sc.completed:
            continue
        item = _item(tid, e, sc.answered, facts)
        if item is not None:
            out.append(item)
    return out


def _item(tid: int, e: h.Event, answered: set[str], facts: WaitFacts) -> WaitItem | None:
    t, since, name = h.etype(e), _time(e), str(e.get("Name") or "")
    if t == h.EventType.TaskScheduled:
        kind = WaitKind.HTTP if name == h.HTTP_ACTIVITY_NAME else WaitKind.ACTIVITY
        run = facts.activities.get(tid)
        if run is None:
            return WaitItem(kind, name, since, tid, elsewhere=facts.activity_hosts)
        return WaitItem(kind, name, since, tid, host=run.host, running_since=run.since)
    if t == h.EventType.TimerCreated:
        fire = e.get("FireAt")
        until = h.parse_timestamp(fire) if isinstance(fire, str) else None
        return WaitItem(WaitKind.TIMER, "timer", since, tid, until=until)
    if t == h.EventType.SubOrchestrationInstanceCreated:
        child = str(e.get("InstanceId") or "")
        return WaitItem(
            WaitKind.SUB_ORCHESTRATION, name, since, tid, instance_id=child, detail=facts.children.get(child)
        )
    if t == h.EventType.EventSent and name == REQUEST_EVENT:
        request = _json_object(e.get("Input"))
        if request.get("signal") or str(request.get("id")) in answered:
            return None
        op = request.get("op")
        return WaitItem(
            WaitKind.ENTITY,
            str(e.get("InstanceId") or ""),
            since,
            tid,
            instance_id=str(e.get("InstanceId") or ""),
            detail=None if op is None else str(op),
        )
    return None


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
