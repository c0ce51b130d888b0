"""Bookkeeping of one execution, derived from its history alone (pure).

Two levels:

* :func:`scan` needs only the history: which sequence ids are scheduled (and by which event),
  which are completed, entity request ids, the next free id, pending (held/buffered) events.
* :func:`reconcile` also needs the current flattened action list: it maps every scheduling
  event to the action that produced it, finds the first divergence, and reconstructs the
  with-retry chains.

Id rule (docs/protocol.md, "Sequence ids"): every action but WaitForExternalEvent owns the next id in
flattened order; with-retry chains take *hidden* ids when the SDK processes an attempt's
failure (the retry timer) and the retry timer's firing (the next attempt, if any remain).
This host always delivers such a retry event as the first completion of its episode, so the
hidden id is the id that was next when the episode started; every other scheduling event of
the episode belongs to the next unmatched action.

Held/buffered events: events that arrive while the instance is suspended, and external events
that nobody waits for yet, are stored as ``GenericEvent`` whose ``Data`` is
``{"funchost.pending": reason, "event": <the event>}`` (the SDK ignores type 17). When such an
event is finally delivered the original event is appended unchanged; a pending entry counts as
released once an identical event follows it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from host.durable.entities.from_orchestrations import request_id_of
from host.durable.replay.actions import WITH_RETRY, Action, atype, describe, matches, takes_id
from host.durable.replay.actions import describe_event as describe_scheduling
from host.durable.replay.history import SCHEDULING_TYPES, Event, EventType, completion_id, etype

PENDING_KEY = "funchost.pending"


def pending_marker(reason: str, e: Event) -> str:
    """``GenericEvent.Data`` for an event held back for ``reason`` (``suspended``/``buffered``)."""
    return json.dumps({PENDING_KEY: reason, "event": e}, separators=(",", ":"))


def pending_payload(e: Event) -> Event | None:
    """The held event inside a pending GenericEvent (None for other events)."""
    if etype(e) != EventType.GenericEvent or not e.get("Data"):
        return None
    try:
        d = json.loads(e["Data"])
    except ValueError:
        return None
    if isinstance(d, dict) and PENDING_KEY in d and isinstance(d.get("event"), dict):
        return dict(d["event"])
    return None


def event_key(e: Event) -> str:
    """Identity of an event for de-duplicating held copies (everything but ``IsPlayed``)."""
    return json.dumps({k: v for k, v in e.items() if k != "IsPlayed"}, sort_keys=True)


@dataclass
class Scan:
    """What the history alone tells."""

    scheduled: dict[int, Event] = field(default_factory=dict)
    completed: set[int] = field(default_factory=set)
    requests: dict[str, int] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    next_id: int = 0
    pending: list[Event] = field(default_factory=list)
    """Held/buffered events not released yet, oldest first."""
    raised: Counter[str] = field(default_factory=Counter)
    """External EventRaised delivered so far, per name (entity responses excluded)."""

    def is_duplicate(self, e: Event) -> bool:
        """A completion for a task that is already completed (or a response already received)."""
        tid = completion_id(e)
        if tid is not None:
            return tid in self.completed
        return etype(e) == EventType.EventRaised and e.get("Name") in self.answered

    def is_early(self, e: Event) -> bool:
        """A completion whose scheduling event is not in history yet (to be deferred)."""
        tid = completion_id(e)
        return tid is not None and tid not in self.scheduled

    def is_response(self, e: Event) -> bool:
        """An EventRaised answering one of this execution's entity calls."""
        return etype(e) == EventType.EventRaised and e.get("Name") in self.requests

    def note_delivered(self, e: Event) -> None:
        """Account for ``e`` being appended to history (used while building an episode)."""
        t = etype(e)
        tid = completion_id(e)
        if tid is not None:
            self.completed.add(tid)
        elif t == EventType.EventRaised:
            name = str(e.get("Name"))
            if name in self.requests:
                self.answered.add(name)
            else:
                self.raised[name] += 1
        elif t in SCHEDULING_TYPES:
            tid = int(e["EventId"])
            self.scheduled[tid] = e
            self.next_id = max(self.next_id, tid + 1)
            if t == EventType.EventSent:
                rid = request_id_of(e.get("Input"))
                if rid:
                    self.requests[rid] = tid


def scan(history: list[Event]) -> Scan:
    """Derive :class:`Scan` from one execution's history."""
    s = Scan()
    pending: list[tuple[str, Event]] = []
    for e in history:
        held = pending_payload(e)
        if held is not None:
            pending.append((event_key(held), held))
            continue
        if pending:
            k = event_key(e)
            for i, (pk, _) in enumerate(pending):
                if pk == k:
                    del pending[i]
                    break
        s.note_delivered(e)
    s.pending = [p for _, p in pending]
    return s


@dataclass
class Chain:
    """One with-retry call: its action, attempts so far and the id it waits on."""

    action: Action
    attempts: int = 1
    waiting_on: int = -1
    waiting_timer: bool = False

    @property
    def max_attempts(self) -> int:
        return int((self.action.get("retryOptions") or {}).get("maxNumberOfAttempts", 1))

    @property
    def interval_ms(self) -> int:
        return int((self.action.get("retryOptions") or {}).get("firstRetryIntervalInMilliseconds", 0))


@dataclass(frozen=True)
class Divergence:
    """The first place where the code no longer does what the history recorded."""

    position: int
    """Index of the action in the flattened action list (0-based; external-event waits count)."""
    task_id: int
    history_index: int
    expected: str
    actual: str

    @property
    def message(self) -> str:
        return (
            f"Non-deterministic workflow detected: expected {self.expected} at position "
            f"{self.position} (task id {self.task_id}) but the orchestrator now "
            f"{'calls ' + self.actual if self.actual != 'nothing' else 'schedules nothing there'}"
        )


@dataclass
class Reconciled:
    """Result of matching the history against the current action list."""

    new_positions: list[int] = field(default_factory=list)
    """Indexes in the flat list of the id-owning actions history does not know yet."""
    chains: dict[int, Chain] = field(default_factory=dict)
    """Open with-retry chains keyed by the id they wait on (attempt or retry timer)."""
    divergence: Divergence | None = None


def reconcile(history: list[Event], flat: list[Action]) -> Reconciled:
    """Match scheduling events to ``flat`` actions; rebuild retry chains; find divergence."""
    r = Reconciled()
    owning = [i for i, a in enumerate(flat) if takes_id(a)]
    p = 0
    next_id = 0
    episode_start_id = 0
    first_completion_seen = False
    hidden_for: tuple[Chain, bool] | None = None  # (chain, is_timer) awaiting its hidden id
    for index, e in enumerate(history):
        t = etype(e)
        if t == EventType.OrchestratorStarted:
            episode_start_id = next_id
            first_completion_seen = False
            hidden_for = None
            continue
        tid = completion_id(e)
        if tid is not None or t == EventType.EventRaised:
            if not first_completion_seen and tid is not None and tid in r.chains:
                hidden_for = _advance_chain(r.chains, tid, t)
            elif (
                tid is not None
                and tid in r.chains
                and etype(e) in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted)
            ):
                r.chains.pop(tid, None)
            first_completion_seen = True
            continue
        if t not in SCHEDULING_TYPES:
            continue
        eid = int(e["EventId"])
        next_id = max(next_id, eid + 1)
        if hidden_for is not None and eid == episode_start_id:
            chain, is_timer = hidden_for
            chain.waiting_on, chain.waiting_timer = eid, is_timer
            r.chains[eid] = chain
            hidden_for = None
            continue
        if r.divergence is not None:
            continue
        if p >= len(owning):
            r.divergence = Divergence(len(flat), eid, index, describe_scheduling(e), "nothing")
            continue
        a = flat[owning[p]]
        if not matches(a, e):
            r.divergence = Divergence(owning[p], eid, index, describe_scheduling(e), describe(a))
            continue
        if atype(a) in WITH_RETRY:
            r.chains[eid] = Chain(a, waiting_on=eid)
        p += 1
    if r.divergence is None:
        r.new_positions = owning[p:]
    return r


def _advance_chain(chains: dict[int, Chain], tid: int, t: int) -> tuple[Chain, bool] | None:
    """Apply a retry-relevant completion; returns the chain if it takes a hidden id now."""
    chain = chains.pop(tid)
    if t in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
        return chain, True
    if t == EventType.TimerFired:
        if chain.attempts < chain.max_attempts:
            chain.attempts += 1
            return chain, False
        return None
    return None


def is_retry_event(chains: dict[int, Any], e: Event) -> bool:
    """Whether delivering ``e`` makes the SDK allocate a hidden id (must go first, alone)."""
    tid = completion_id(e)
    if tid is None or tid not in chains:
        return False
    t = etype(e)
    if t in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
        return True
    return t == EventType.TimerFired and chains[tid].attempts < chains[tid].max_attempts
