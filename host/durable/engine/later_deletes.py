"""Work items whose completions are checkpointed are deleted a little later, off the critical path.

A work item this host took from the shared queue for an orchestration it owns must be deleted once
the checkpoint holds the activity's completion, but nothing waits for that delete: the next episode
of a fan-in does not need it, and neither does the client. Deleting at once made every episode of a
big fan-in wait for its deletes and made them compete with the receives that bring the rest of the
fan-in. So they are kept (still locked: the engine's message locks keep renewing them) and deleted
when the instance's execution ends or the engine stops, and at the latest ``delay`` seconds after
the first of them waited, a few at a time (also when the partition moved to another host: the
checkpoint holds their completions, whoever runs the instance now). The work items of the episode
that ends an execution never come here: they are deleted after its Instances row, like its other
consumed messages (they are what brings the instance back to repair the row if that write fails).

A crash before the delete makes the work item visible again when its lock ends: the activity runs
again and its completion is dropped by replay as a duplicate (activities run at least once, the
history stays exactly-once), as for a crash between the checkpoint and an immediate delete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from host.durable.taskhub.messages import TaskMessage

DELAY_SECONDS = 2.0
"""The longest a checkpointed work item waits for its delete (well inside half of a lock)."""
PARALLEL_DELETES = 8
"""Deletes in flight at once: enough to keep up, few enough not to hold up the hot path's requests."""


class LaterDeletes:
    """Checkpointed work items waiting for their delete, by instance id."""

    def __init__(
        self,
        delete: Callable[[TaskMessage], Awaitable[None]],
        spawn: Callable[[Awaitable[None], str], None],
        delay: float = DELAY_SECONDS,
    ) -> None:
        self._delete = delete
        self._spawn = spawn
        self._delay = delay
        self._waiting: dict[str, list[TaskMessage]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._slots = asyncio.Semaphore(PARALLEL_DELETES)
        self._in_flight = 0

    def add(self, instance_id: str, msgs: Iterable[TaskMessage]) -> None:
        """Delete ``msgs`` later (their completions are checkpointed)."""
        msgs = list(msgs)
        if not msgs:
            return
        self._waiting.setdefault(instance_id, []).extend(msgs)
        if instance_id not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[instance_id] = loop.call_later(self._delay, self.flush_soon, instance_id)

    def flush_soon(self, instance_id: str) -> None:
        """Delete the instance's waiting work items in the background."""
        msgs = self._take(instance_id)
        if msgs:
            self._spawn(self._delete_all(msgs), f"later-deletes-{instance_id}")

    async def flush(self, instance_ids: Iterable[str] | None = None) -> None:
        """Delete now what waits for the given instances (all when ``None``)."""
        ids = list(self._waiting) if instance_ids is None else list(instance_ids)
        msgs = [m for i in ids for m in self._take(i)]
        if msgs:
            await self._delete_all(msgs)

    def pending(self) -> int:
        """How many work items wait for their delete or are being deleted."""
        return sum(len(m) for m in self._waiting.values()) + self._in_flight

    def _take(self, instance_id: str) -> list[TaskMessage]:
        timer = self._timers.pop(instance_id, None)
        if timer is not None:
            timer.cancel()
        return self._waiting.pop(instance_id, [])

    async def _delete_all(self, msgs: list[TaskMessage]) -> None:
        async def one(msg: TaskMessage) -> None:
            try:
                async with self._slots:
                    await self._delete(msg)
            finally:
                self._in_flight -= 1

        self._in_flight += len(msgs)

        # A failed delete leaves the work item locked until its lock ends; then it runs again and
        # replay drops its completion (the same as a crash would).
        await asyncio.gather(*(one(m) for m in msgs), return_exceptions=True)
