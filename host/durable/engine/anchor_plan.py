"""The anchor decisions of one orchestration episode, as pure functions (engine/anchors.py).

The session runner asks :func:`plan_anchor` before it sends the episode's outbound messages
(which anchor the activities may run on, and how many), and :func:`keep_anchor` after (which
anchor to keep and the recovery record its checkpoint writes). :func:`plan_recovery` and
:func:`lost_activities` decide which activities run from memory a batch must send again. None of
them touches storage or the engine: the runner does what they decide, in its own order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from host.durable.engine.anchors import MAX_ANCHORED_TASKS, NO_RECORD, Anchor, can_anchor
from host.durable.replay.history import EventType, completion_id
from host.durable.replay.ledger import Scan, scan
from host.durable.replay.model import EpisodeResult
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import RecoveryRecord

TASK_SCHEDULED = int(EventType.TaskScheduled)


@dataclass(frozen=True)
class AnchorPlan:
    """What an episode may anchor, decided before its outbound messages are sent."""

    same: bool
    """The held anchor goes on standing for this execution's activities."""
    candidate: TaskMessage | None
    """The consumed control message a new anchor would be (used only if activities run on it)."""
    room: int
    """How many of the episode's activities may run from memory on the anchor."""
    unheld: tuple[int, ...]
    """Activities of the sentinel's record that an anchor this host does not hold stands for and
    the history has not completed: the record stays, and nothing new is anchored."""
    let_go: bool
    """The held anchor is no longer this host's claim (another host checkpointed since this one
    named it, and may have received it, deleted it or anchored its own activities on it): it is
    let go, and the plan is made as if no anchor were held."""
    stale: tuple[int, ...]
    """The let-go anchor's activities the history has not completed: they get work items."""


@dataclass(frozen=True)
class AnchorKeep:
    """What an episode's checkpoint keeps: the anchor (or none), its activities and the record."""

    anchor: Anchor | None
    tasks: frozenset[int]
    record: RecoveryRecord


def unheld_tasks(
    record: RecoveryRecord | None, held: Anchor | None, result: EpisodeResult
) -> tuple[int, ...]:
    """The activities of the sentinel's record that an anchor this host does not hold stands for
    and the execution has not completed (the record stays until that anchor comes back)."""
    if record is None or not record.message_id or not record.tasks:
        return ()
    if held is not None and held.message.message_id == record.message_id:
        return ()
    completed = scan(result.history).completed
    return tuple(t for t in record.tasks if t not in completed)


def plan_anchor(
    held: Anchor | None,
    record: RecoveryRecord | None,
    result: EpisodeResult,
    *,
    fresh: bool,
    consumed: list[TaskMessage],
    control_queues: frozenset[str],
) -> AnchorPlan:
    """Decide, before the sends, whether ``held`` continues, which consumed message could become
    the anchor, how many activities may run on it, and which record activities stay unheld."""
    ended = result.rewritten or fresh or result.is_terminal  # the old activities no longer matter
    stale: tuple[int, ...] = ()
    let_go = held is not None and not ended and not held.named_by(record)
    if let_go and held is not None:
        stale = tuple(sorted(held.tasks - scan(result.history).completed))
        held = None
    unheld = () if ended else unheld_tasks(record, held, result)
    same = (
        held is not None
        and not unheld
        and held.execution_id == result.execution_id
        and not result.is_terminal
    )
    candidate = (
        None
        if same or unheld or result.is_terminal
        else next((m for m in consumed if can_anchor(m, control_queues)), None)
    )
    room = MAX_ANCHORED_TASKS - len(held.tasks) if same and held else (MAX_ANCHORED_TASKS if candidate else 0)
    return AnchorPlan(same=same, candidate=candidate, room=room, unheld=unheld, let_go=let_go, stale=stale)


def completed_ids(appended: Iterable[dict[str, Any]]) -> set[int]:
    """The task ids the given events complete."""
    return {t for e in appended if (t := completion_id(e)) is not None}


def keep_anchor(
    plan: AnchorPlan,
    held: Anchor | None,
    record: RecoveryRecord | None,
    result: EpisodeResult,
    memory: set[int],
) -> AnchorKeep:
    """Decide, after the sends, the anchor to keep (``held``, a new one on the candidate, or none),
    the activities it stands for, and the recovery record the checkpoint writes.

    ``memory``: the activities the episode runs from memory on the anchor.
    """
    anchor: Anchor | None = None
    tasks: set[int] = set()
    if plan.same and held is not None:
        tasks = (held.tasks - completed_ids(result.appended)) | memory
        anchor = held if tasks else None
    elif plan.candidate is not None and memory:
        anchor, tasks = Anchor(plan.candidate, result.execution_id), memory
    if anchor is not None:
        kept = RecoveryRecord(str(anchor.message.message_id), tuple(sorted(tasks)))
    elif plan.unheld and record is not None:
        # Activities another anchor stands for, not completed yet: its record must stay in the
        # sentinel until that anchor comes back, or they would be lost.
        kept = RecoveryRecord(record.message_id, plan.unheld)
    else:
        kept = NO_RECORD
    return AnchorKeep(anchor=anchor, tasks=frozenset(tasks), record=kept)


@dataclass(frozen=True)
class RecoveryPlan:
    """Which activities run from memory a batch may have to send again."""

    came_back: bool
    """The anchor the sentinel's record names is in the batch and this host does not hold it."""
    wanted: frozenset[int]
    """The record's activities (when it came back) and, after a reload, the unsure ones."""


def plan_recovery(
    record: RecoveryRecord | None,
    held: Anchor | None,
    batch: list[TaskMessage],
    *,
    reloaded: bool,
    unsure: set[int],
) -> RecoveryPlan:
    """Decide which activities the batch's recovery checks against the history."""
    wanted: set[int] = set()
    came_back = (
        record is not None
        and bool(record.message_id)
        and (held is None or held.message.message_id != record.message_id)
        and any(m.message_id == record.message_id for m in batch)
    )
    if came_back and record is not None:
        wanted.update(record.tasks)
    if reloaded:
        wanted |= unsure
    return RecoveryPlan(came_back=came_back, wanted=frozenset(wanted))


def lost_activities(ledger: Scan, wanted: Iterable[int]) -> list[dict[str, Any]]:
    """The TaskScheduled events of ``wanted`` the history holds and has not completed, by id."""
    return [
        ledger.scheduled[t]
        for t in sorted(wanted)
        if t in ledger.scheduled
        and t not in ledger.completed
        and ledger.scheduled[t].get("EventType") == TASK_SCHEDULED
    ]
