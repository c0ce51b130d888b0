"""Message locks: a queue message this host holds in memory stays invisible until it is settled.

A message the engine received or put locked (a control message waiting in a session's inbox, an
activity work item waiting for a slot, running, or whose completion waits for its orchestration's
session) is *held*. While held, its visibility is renewed (``update_message``) before the lock
runs out, so neither this host's pollers nor another host see it again: without a crash, work
runs once. Settling (delete, abandon) first *releases* the message, which also waits for a
renewal in flight so that the settle uses the newest pop receipt.

A held message is renewed once less than half of its lock is left (its end is known from the
queue's ``TimeNextVisible``, on the task hub's clock), so the renewal rate is two per lock period
per message that waits long; messages settled sooner are never renewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import TaskMessage
from host.log_limits import DEFAULT_INTERVAL

log = logging.getLogger("host.durable")

RENEW_WHEN_LEFT = 1 / 2
"""A held message is renewed once less than this fraction of the lock is left."""
MAX_PARALLEL_RENEWALS = 16


@dataclass
class _Held:
    msg: TaskMessage
    locked_until: float
    """When the lock ends, on the monotonic clock."""
    renewing: asyncio.Task[None] | None = None


def _key(msg: TaskMessage) -> tuple[str, str] | None:
    if not (msg.queue and msg.message_id and msg.pop_receipt):
        return None
    return msg.queue, msg.message_id


class LapseLog:
    """Logs a lock that ran out before its renewal: once per ``interval``, with the count held back.

    A lapsed lock means the message was visible for a while, so another poller (or host) may have
    received it and run its work again: worth a line, but not one per message during a stall.
    Only the queue and message id are logged (a pop receipt is a credential for the message).
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self._last: float | None = None
        self._held = 0

    def lapsed(self, msg: TaskMessage, overdue: float) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            self._held += 1
            return
        held, self._held, self._last = self._held, 0, now
        more = f" ({held} more lapsed locks in the last {self.interval:g} s not shown)" if held else ""
        log.warning(
            "the lock of message %s on queue %s lapsed %.1f s before its renewal; another poller may "
            "have received it (the event loop or storage was too slow)%s",
            msg.message_id,
            msg.queue,
            overdue,
            more,
        )


class MessageLocks:
    """Keeps the messages this host holds locked on their queues until they are released."""

    def __init__(self, hub: TaskHub, lock_seconds: int) -> None:
        self.hub = hub
        self.lock_seconds = lock_seconds
        self._held: dict[tuple[str, str], _Held] = {}
        self._slots = asyncio.Semaphore(MAX_PARALLEL_RENEWALS)
        self._task: asyncio.Task[None] | None = None
        self.lapses = LapseLog()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="message-locks")

    async def stop(self) -> None:
        """Stop renewing (renewals in flight finish: their new receipts must not be lost)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        pending = [e.renewing for e in self._held.values() if e.renewing is not None]
        if pending:
            await asyncio.wait(pending, timeout=min(self.lock_seconds, 2.0))

    def hold(self, msg: TaskMessage) -> None:
        """Keep ``msg`` locked until released. A copy of a held message (same queue and id, e.g. an
        activity's completion standing in for its work item) takes over the hold."""
        key = _key(msg)
        if key is None:
            return
        entry = self._held.get(key)
        if entry is None:
            self._held[key] = _Held(msg, self._lock_end(msg))
        else:
            entry.msg = msg
            if msg.next_visible_on is not None:  # received again; a copy keeps the original's end
                entry.locked_until = max(entry.locked_until, self._lock_end(msg))

    def _lock_end(self, msg: TaskMessage) -> float:
        """When ``msg``'s lock ends (monotonic), from its ``next_visible_on`` when known."""
        now = time.monotonic()
        if msg.next_visible_on is None:
            return now + self.lock_seconds
        return now + (msg.next_visible_on - self.hub.now()).total_seconds()

    async def release(self, msg: TaskMessage) -> None:
        """Stop renewing ``msg`` (before it is deleted or abandoned); its receipt is then current."""
        key = _key(msg)
        entry = self._held.get(key) if key is not None else None
        if key is None or entry is None or entry.msg is not msg:
            return
        del self._held[key]
        if entry.renewing is not None:
            await asyncio.shield(entry.renewing)

    def drop(self, msgs: Iterable[TaskMessage]) -> None:
        """Stop renewing: the messages become visible when their current lock runs out."""
        for msg in msgs:
            key = _key(msg)
            if key is not None and (entry := self._held.get(key)) is not None and entry.msg is msg:
                del self._held[key]

    async def unlock(self, msgs: Iterable[TaskMessage]) -> None:
        """Release and make visible at once (work this host will not do: another may, now)."""

        async def one(msg: TaskMessage) -> None:
            await self.release(msg)
            if _key(msg) is not None:
                with contextlib.suppress(Exception):  # at worst it becomes visible when its lock ends
                    await self.hub.renew_message(msg, 0)

        await asyncio.gather(*(one(m) for m in msgs))

    # ------------------------------------------------------------------ renewal
    async def _loop(self) -> None:
        tick = min(max(self.lock_seconds / 8, 0.1), 5.0)
        while True:
            await asyncio.sleep(tick)
            self.renew_due()

    def renew_due(self) -> None:
        """Start a renewal for every held message with less than half of its lock left."""
        horizon = time.monotonic() + self.lock_seconds * RENEW_WHEN_LEFT
        for entry in list(self._held.values()):
            if entry.renewing is None and entry.locked_until <= horizon:
                entry.renewing = asyncio.create_task(self._renew(entry, entry.msg))

    async def _renew(self, entry: _Held, target: TaskMessage) -> None:
        try:
            async with self._slots:
                started = time.monotonic()
                if started > entry.locked_until:
                    self.lapses.lapsed(target, started - entry.locked_until)
                renewed = await self.hub.renew_message(target, self.lock_seconds)
            if renewed:
                entry.locked_until = started + self.lock_seconds
                if entry.msg is not target:  # a copy took over the hold meanwhile: it needs the receipt
                    entry.msg.pop_receipt = target.pop_receipt
            elif entry.msg is target:
                # Gone, or received again (its receipt changed): nothing left to keep locked. (A
                # copy that took over meanwhile, e.g. the same message received again, stays held.)
                log.debug("message %s: lock renewal refused; no longer held", target.message_id)
                key = _key(target)
                if key is not None and self._held.get(key) is entry:
                    del self._held[key]
        except Exception as err:  # the next pass retries; at worst the message is seen again
            log.warning("renewing the lock of message %s: %s", target.message_id, err)
        finally:
            entry.renewing = None
