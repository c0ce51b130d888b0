"""One instance, explained: its status, a history summary and why it waits (storage reads here).

:func:`instance_report` gathers the facts :func:`host.durable.replay.waiting.explain_waiting`
needs: the Instances row and the history (through :class:`~host.durable.management.Management`),
the statuses of outstanding sub-orchestrations, and, when the host's engine runs the instance,
where its code stopped (recorded by the last episode) and which of its activities run here.
When the engine did not run the last episode (another host, a restart, the CLI) and the app's
code is loaded, the history is replayed against the code to find the line
(:func:`host.durable.replay.check.replay_position`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from host.durable.inspect.health import hosts_of, partition_leases
from host.durable.management import Management
from host.durable.replay import history as h
from host.durable.replay.check import replay_position
from host.durable.replay.source import CodePosition, OrchestratorHandle
from host.durable.replay.waiting import ActivityRun, WaitFacts, Waiting, explain_waiting
from host.durable.taskhub.rows import InstanceStatus
from host.errors import InstanceNotFoundError

log = logging.getLogger("host.durable")

MAX_REPLAYS_KEPT = 256
"""Replayed positions kept (by instance, execution, history length and handle): a page polling
an instance another host runs replays its code once per new history event, not once per poll."""
_REPLAYED: OrderedDict[tuple[str, str | None, int, object], CodePosition | None] = OrderedDict()

MAX_CHILDREN_READ = 20
"""Statuses of outstanding sub-orchestrations read per report (a fan-out names the first ones)."""


class EngineView(Protocol):
    """What the engine of this host knows about the instances it runs."""

    @property
    def worker_id(self) -> str: ...

    def code_position(self, instance_id: str, history_length: int) -> CodePosition | None: ...

    def activity_runs(self, instance_id: str) -> dict[int, ActivityRun]: ...

    def version_refusal(self, version: str | None) -> str | None:
        """Why this host leaves instances of ``version`` to other hosts (``None``: it runs them)."""
        ...


@dataclass(frozen=True)
class HistorySummary:
    """The shape of an execution's history in a few numbers."""

    events: int
    episodes: int
    execution_id: str | None
    generation: int
    last_event_time: str | None
    by_type: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "episodes": self.episodes,
            "executionId": self.execution_id,
            "generation": self.generation,
            "lastEventTime": self.last_event_time,
            "byType": dict(self.by_type),
        }


@dataclass(frozen=True)
class InstanceReport:
    """An instance's row, its history and the explanation of its waiting."""

    status: InstanceStatus
    history: list[h.Event]
    summary: HistorySummary
    waiting: Waiting
    source_from: str
    """Where the source line came from: ``episode``, ``replay`` or ``none``."""


def summarize(history: list[h.Event]) -> HistorySummary:
    """Counts per event type, episodes, the execution and its generation."""
    by_type: dict[str, int] = {}
    for e in history:
        name = _type_name(h.etype(e))
        by_type[name] = by_type.get(name, 0) + 1
    started = h.find_execution_started(history) or {}
    last = history[-1].get("Timestamp") if history else None
    return HistorySummary(
        events=len(history),
        episodes=h.episode_count(history),
        execution_id=h.execution_id_of(started) if started else None,
        generation=int(started.get("Generation") or 0),
        last_event_time=None if last is None else str(last),
        by_type=by_type,
    )


def _type_name(value: int) -> str:
    try:
        return h.EventType(value).name
    except ValueError:
        return str(value)


async def instance_report(
    management: Management,
    instance_id: str,
    *,
    engine: EngineView | None = None,
    handles: Callable[[str], OrchestratorHandle | None] | None = None,
    app_root: Path | None = None,
) -> InstanceReport:
    """The report of ``instance_id``; :class:`InstanceNotFoundError` when it does not exist.

    ``engine`` is this host's engine (its recorded code positions and running activities),
    ``handles`` gives the loaded orchestrator handle of a name (for replaying), ``app_root``
    makes source paths relative to the app folder.
    """
    status = await management.get_status(instance_id)
    if status is None:
        raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r} exists")
    history = await management.get_history(instance_id)
    position, source_from = _position(instance_id, status, history, engine, handles)
    source = position.source if position is not None else None
    if source is not None and app_root is not None:
        source = source.relative_to(app_root)
    facts = WaitFacts(
        history=history,
        status=status.runtime_status,
        created_at=status.created_time,
        scheduled_start=status.scheduled_start_time,
        open_events=position.open_events if position is not None else None,
        source=source,
        activities=engine.activity_runs(instance_id) if engine is not None else {},
        activity_hosts=await _other_hosts(management, engine) if engine is not None else None,
        children=await _children(management, history),
        version_refusal=engine.version_refusal(status.version) if engine is not None else None,
    )
    return InstanceReport(status, history, summarize(history), explain_waiting(facts), source_from)


def _position(
    instance_id: str,
    status: InstanceStatus,
    history: list[h.Event],
    engine: EngineView | None,
    handles: Callable[[str], OrchestratorHandle | None] | None,
) -> tuple[CodePosition | None, str]:
    if status.is_terminal or h.find_execution_started(history) is None:
        return None, "none"
    if engine is not None:
        recorded = engine.code_position(instance_id, len(history))
        if recorded is not None:
            return recorded, "episode"
    handle = handles(status.name or "") if handles is not None and status.name else None
    if handle is None:
        return None, "none"
    key = (instance_id, h.execution_id_of(h.find_execution_started(history) or {}), len(history), handle)
    if key in _REPLAYED:
        _REPLAYED.move_to_end(key)
        cached = _REPLAYED[key]
        return cached, "replay" if cached is not None else "none"
    replayed = replay_position(handle, history)
    position: CodePosition | None = CodePosition(replayed.source, replayed.open_events, len(history))
    if replayed.divergence is not None or replayed.error is not None:
        log.debug("instance %s: no code position by replay: %s", instance_id, replayed.error or "divergence")
        position = None
    _REPLAYED[key] = position
    while len(_REPLAYED) > MAX_REPLAYS_KEPT:
        _REPLAYED.popitem(last=False)
    return position, "replay" if position is not None else "none"


async def _other_hosts(management: Management, engine: EngineView) -> tuple[str, ...]:
    """The other hosts holding partitions of the hub (any of them may run an activity)."""
    leases = await partition_leases(management.hub)
    return tuple(x.worker_id for x in hosts_of(leases, engine.worker_id) if not x.is_this_host)


async def _children(management: Management, history: list[h.Event]) -> Mapping[str, str]:
    done = {h.completion_id(e) for e in history if h.completion_id(e) is not None}
    ids = [
        str(e.get("InstanceId"))
        for e in history
        if h.etype(e) == h.EventType.SubOrchestrationInstanceCreated and e.get("EventId") not in done
    ]
    out: dict[str, str] = {}
    for child in ids[:MAX_CHILDREN_READ]:
        row = await management.get_status(child, show_input=False)
        out[child] = (row.runtime_status or "Unknown") if row is not None else "not created yet"
    return out
