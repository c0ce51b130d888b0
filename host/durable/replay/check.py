"""Replaying a recorded history against the current orchestrator code (pure).

Used by the testing toolkit (:func:`check_replay`: the first action that differs from what the
history recorded) and by "why is it waiting" for instances this host did not run itself
(:func:`replay_position`: where the code is suspended and which external events it awaits).
"""

from __future__ import annotations

from dataclasses import dataclass

from host.durable.replay import history as h
from host.durable.replay.actions import Action, describe
from host.durable.replay.episode import open_waiters
from host.durable.replay.ledger import Divergence, reconcile, scan
from host.durable.replay.model import ReplayOptions
from host.durable.replay.orchestrator_call import (
    OrchestratorHandle,
    SdkOutcome,
    build_context_json,
    call_orchestrator,
)
from host.durable.replay.source import SourceLine, traced


@dataclass(frozen=True)
class ReplayPosition:
    """Where replayed code stopped: its source line and the external events it waits for."""

    source: SourceLine | None
    open_events: dict[str, int]
    divergence: Divergence | None = None
    error: str | None = None
    """The code failed on replay (then ``source`` is None)."""


def _replay(
    handle: OrchestratorHandle, history: list[h.Event], options: ReplayOptions | None
) -> tuple[SdkOutcome, list[Action]]:
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
    return outcome, outcome.flat_actions


def check_replay(
    handle: OrchestratorHandle, history: list[h.Event], options: ReplayOptions | None = None
) -> Divergence | None:
    """The first divergence between ``history`` and what ``handle`` now does, or None."""
    _, flat = _replay(handle, history, options)
    rec = reconcile(history, flat)
    if rec.divergence is not None:
        return rec.divergence
    if rec.new_positions:
        pos = rec.new_positions[0]
        return Divergence(pos, -1, len(history), "nothing", describe(flat[pos]))
    return None


def replay_position(
    handle: OrchestratorHandle, history: list[h.Event], options: ReplayOptions | None = None
) -> ReplayPosition:
    """Replay ``history`` with ``handle`` (traced) and report where the code waits."""
    outcome, flat = _replay(traced(handle), history, options)
    rec = reconcile(history, flat)
    waits = {n: c for n, c in open_waiters(flat, scan(history), []).items() if c > 0}
    return ReplayPosition(outcome.source, waits, rec.divergence, outcome.error)
