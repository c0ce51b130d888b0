"""The anchors' side of settling activities: completions sent, activities lost, partitions left.

An activity's completion that went to its orchestration's control queue settles its work item,
or, for an activity run from memory, takes it off its instance's anchor; an anchor that stands for
nothing any more on a partition this host no longer owns is deleted. An activity run from memory
that cannot complete lets its anchor go at once. A partition that leaves a stopping host hands
its anchors' activities to the work-item queue (engine/anchors.py, docs/storage-operations.md).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from host.durable.engine.anchors import Anchor, Anchors
from host.durable.taskhub.messages import TaskMessage, new_message

if TYPE_CHECKING:
    from host.durable.engine.ports import AnchorHost


class AnchorKeeper:
    """Settles activities' completions against their work items and the host's anchors."""

    def __init__(self, host: AnchorHost, anchors: Anchors) -> None:
        self.host = host
        self.anchors = anchors

    async def completion_sent(self, workitem: TaskMessage) -> None:
        """An activity's completion went to its orchestration's control queue: settle its work
        item (or, run from memory, take it off its instance's anchor)."""
        await self.completion_forwarded(workitem, int(workitem.event.get("EventId", -1)))

    async def let_go(self, instance_id: str) -> None:
        """Stop holding the instance's anchor and make it visible at once (an activity it stands for
        could not be completed, or it is in doubt): whoever receives it sends the activities of the
        sentinel's record again (those the history has not completed)."""
        anchor = self.anchors.pop(instance_id)
        if anchor is not None:
            await self.host.locks.unlock([anchor.message])

    async def completion_forwarded(self, msg: TaskMessage, task_id: int | None) -> None:
        """The completion ``msg`` (of task ``task_id``) is on the control queue: delete its work
        item, or take it off its anchor (deleted when it stands for nothing on a partition this
        host no longer owns)."""
        if msg.message_id:
            await self.host.delete(msg)
        elif task_id is not None:
            done = self.anchors.forwarded(msg.instance_id, msg.execution_id, task_id)
            if done is not None and not self.host.owns(msg.instance_id):
                await self.host.delete(done.message)
            elif done is not None:  # owned again meanwhile: the session decides
                self.anchors.keep(msg.instance_id, done)

    async def partition_left(self, partition: int) -> None:
        """A partition left this host: an anchor standing for nothing is deleted; one whose
        activities still run here stays locked until their completions are forwarded; when the
        engine stops (those activities will not finish here) they are handed back first."""
        names = self.host.hub.names
        lost = {i for i in self.anchors.instance_ids() if names.partition_of(i) == partition}
        jobs = []
        for iid, anchor in self.anchors.of(lost):
            if not anchor.tasks:
                self.anchors.pop(iid)
                jobs.append(self.host.delete(anchor.message))
            elif not self.host.running:
                self.anchors.pop(iid)
                jobs.append(self._hand_back(iid, anchor))
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    async def _hand_back(self, instance_id: str, anchor: Anchor) -> None:
        """A stopping host: the activities the anchor stands for go on the work-item queue, visible,
        for the next host; then the anchor goes. When that fails the anchor is made visible, and
        whoever receives it sends them again from the sentinel's record."""
        events = [anchor.events[t] for t in sorted(anchor.tasks) if t in anchor.events]
        hub = self.host.hub
        queue = hub.names.workitem_queue
        try:
            if len(events) != len(anchor.tasks):
                raise LookupError("an anchored activity without its TaskScheduled event")
            await asyncio.gather(
                *(
                    hub.send_message(
                        new_message(e, instance_id=instance_id, execution_id=anchor.execution_id), queue=queue
                    )
                    for e in events
                )
            )
        except Exception:
            await self.host.locks.unlock([anchor.message])
            return
        await self.host.delete(anchor.message)
