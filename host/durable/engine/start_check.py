"""De-duplication of ExecutionStarted messages received from a queue (docs/taskhub.md, "A client start").

A client writes the start message *before* the Instances row, so a start message can arrive
before its row exists (defer it), after the id was started again with another execution (drop
it), or after the pending instance was terminated (drop it). Starts handed over in memory by
this host skip the check: the row was written first.
"""

from __future__ import annotations

import enum

from host.durable.replay.history import execution_id_of
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus

MAX_START_DEFERRALS = 10


class StartVerdict(enum.Enum):
    ACCEPT = "accept"
    DEFER = "defer"
    DROP = "drop"


def start_execution_id(msg: TaskMessage) -> str | None:
    return msg.execution_id or execution_id_of(msg.event)


def judge_start(msg: TaskMessage, row: InstanceStatus | None) -> StartVerdict:
    """What to do with a queued ExecutionStarted given the instance's row (``None``: no row)."""
    if msg.event.get("ParentInstance"):
        return StartVerdict.ACCEPT  # sub-orchestration starts are not de-duplicated (as DTFx)
    if row is None:
        return StartVerdict.DROP if msg.dequeue_count >= MAX_START_DEFERRALS else StartVerdict.DEFER
    if row.execution_id is None or row.execution_id == start_execution_id(msg):
        if row.runtime_status == "Terminated" and row.is_terminal:
            return StartVerdict.DROP  # terminated while still pending
        return StartVerdict.ACCEPT
    # Another execution owns the row: a newer start whose row write is still on its way (defer),
    # or a stale start that lost to a newer one (drop).
    generation = int(msg.event.get("Generation") or 0)
    if generation > (row.generation or 0) and msg.dequeue_count < MAX_START_DEFERRALS:
        return StartVerdict.DEFER
    return StartVerdict.DROP
