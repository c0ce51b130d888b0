"""Recovery anchors: one locked control message per instance stands in for its in-memory activities.

An activity this host runs from memory needs no work-item message of its own when something else
brings the instance back after a crash: the control message that started the episode (an
ExecutionStarted or a completion, both de-duplicated on replay) is kept locked instead of deleted,
and the checkpoint's sentinel names it and the activities it stands for
(:class:`~host.durable.taskhub.rows.RecoveryRecord`). If this host dies, the message becomes
visible, the next owner sees its id in the sentinel and sends the named activities the history has
not completed to the work-item queue. The anchor is deleted once the instance has no activity left
in memory (docs/storage-operations.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from host.durable.replay.history import EventType, completion_id
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import RecoveryRecord

MAX_ANCHORED_TASKS = 1000
"""At most this many activities per instance run from memory on one anchor (the sentinel column
lists them); more get a work-item message each."""
EXECUTION_STARTED = int(EventType.ExecutionStarted)


@dataclass
class Anchor:
    """The locked control message of one instance and the activities it stands for."""

    message: TaskMessage
    execution_id: str
    tasks: set[int] = field(default_factory=set)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The TaskScheduled events of ``tasks`` (a stopping host puts them on the work-item queue)."""
    claimed: frozenset[int] = frozenset()
    """The tasks of the last record this host wrote naming it (see :meth:`named_by`)."""

    def stand_for(self, tasks: Iterable[int], scheduled: Iterable[dict[str, Any]]) -> None:
        """Stand for ``tasks`` from now on, as the record just written says (they are its claim):
        ``scheduled`` adds TaskScheduled events, and the events of tasks no longer stood for are
        dropped."""
        self.tasks = set(tasks)
        self.claimed = frozenset(self.tasks)
        self.events.update((int(e.get("EventId", -1)), e) for e in scheduled)
        self.events = {t: e for t, e in self.events.items() if t in self.tasks}

    def record(self) -> RecoveryRecord:
        return RecoveryRecord(str(self.message.message_id), tuple(sorted(self.tasks)))

    def named_by(self, record: RecoveryRecord | None) -> bool:
        """Whether the sentinel's ``record`` is still this host's claim on the anchor: written by
        this host, or kept by another that did not receive the anchor (the same message, a subset
        of the tasks). Anything else means another host checkpointed since, and may have received
        the anchor (and deleted it, or anchored its own activities on it)."""
        return (
            record is not None
            and record.message_id == str(self.message.message_id)
            and set(record.tasks) <= self.claimed
        )


NO_RECORD = RecoveryRecord("", ())
"""Written when an instance has no anchor: clears an earlier execution's record."""


def can_anchor(msg: TaskMessage, control_queues: frozenset[str]) -> bool:
    """Whether ``msg`` may stand in for in-memory activities: a received or locked control message
    whose redelivery replay drops as a duplicate (an ExecutionStarted or a completion)."""
    if not (msg.message_id and msg.pop_receipt and msg.queue in control_queues):
        return False
    return msg.event_type == EXECUTION_STARTED or completion_id(msg.event) is not None


class Anchors:
    """The anchors this host holds, by instance id."""

    def __init__(self) -> None:
        self._by_instance: dict[str, Anchor] = {}

    def get(self, instance_id: str) -> Anchor | None:
        return self._by_instance.get(instance_id)

    def keep(self, instance_id: str, anchor: Anchor) -> None:
        self._by_instance[instance_id] = anchor

    def pop(self, instance_id: str) -> Anchor | None:
        return self._by_instance.pop(instance_id, None)

    def instance_ids(self) -> set[str]:
        return set(self._by_instance)

    def of(self, instance_ids: set[str]) -> list[tuple[str, Anchor]]:
        """The anchors of the given instances."""
        return [(i, a) for i, a in self._by_instance.items() if i in instance_ids]

    def forwarded(self, instance_id: str, execution_id: str | None, task_id: int) -> Anchor | None:
        """An anchored activity's completion went to the control queue (this host no longer runs
        the instance); returns the anchor when it stands for nothing any more (to be deleted)."""
        anchor = self._by_instance.get(instance_id)
        if anchor is None or (execution_id and anchor.execution_id != execution_id):
            return None
        anchor.tasks.discard(task_id)
        anchor.events.pop(task_id, None)
        if anchor.tasks:
            return None
        del self._by_instance[instance_id]
        return anchor
