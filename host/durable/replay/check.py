"""Checking a recorded history against the current orchestrator code (pure).

Used by the testing toolkit: replay a complete (or partial) history with the current code and
report the first action that differs from what the history recorded.
"""

from __future__ import annotations

from host.durable.replay import history as h
from host.durable.replay.actions import describe
from host.durable.replay.ledger import Divergence, reconcile
from host.durable.replay.model import ReplayOptions
from host.durable.replay.orchestrator_call import OrchestratorHandle, build_context_json, call_orchestrator


def check_replay(
    handle: OrchestratorHandle, history: list[h.Event], options: ReplayOptions | None = None
) -> Divergence | None:
    """The first divergence between ``history`` and what ``handle`` now does, or None."""
    started = h.find_execution_started(history) or {}
    now = h.last_timestamp(history) or h.parse_timestamp(started.get("Timestamp", "2000-01-01T00:00:00Z"))
    ctx = build_context_json(
        [*h.mark_played(history), h.orchestrator_started(now)],
        instance_id=str(h.instance_id_of(started) or ""),
        input_text=started.get("Input"),
        parent_instance_id=h.parent_instance_id(started),
        options=options,
    )
    outcome = call_orchestrator(handle, ctx)
    flat = outcome.flat_actions
    rec = reconcile(history, flat)
    if rec.divergence is not None:
        return rec.divergence
    if rec.new_positions:
        pos = rec.new_positions[0]
        return Divergence(pos, -1, len(history), "nothing", describe(flat[pos]))
    return None
