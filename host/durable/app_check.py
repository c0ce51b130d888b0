"""Replay a stored history against the app's current code: the first divergence, if any.

Used by the testing toolkit's replay checks, ``durable replay`` and the check of in-flight
instances on a hot reload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from host.durable.replay import history as h
from host.durable.replay.check import check_replay
from host.durable.replay.ledger import Divergence
from host.errors import HostError
from host.indexing.registry import Registry


def check_history(
    registry: Registry, events: list[dict[str, Any]], *, name: str | None = None
) -> Divergence | None:
    """The first divergence between ``events`` and the current code of orchestrator ``name``."""
    started = h.find_execution_started(events)
    orchestrator = name or (started or {}).get("Name")
    if not orchestrator:
        raise HostError("the history has no ExecutionStarted event: cannot tell which orchestrator ran")
    fn = registry.orchestrator(str(orchestrator))
    if fn is None:
        return Divergence(
            0, -1, 0, f"orchestrator {orchestrator}", "nothing (no such orchestrator in the app)"
        )
    return check_replay(fn.func, [_timestamps_as_text(e) for e in events])


def _timestamps_as_text(event: dict[str, Any]) -> dict[str, Any]:
    return {k: h.format_timestamp(v) if isinstance(v, datetime) else v for k, v in event.items()}
