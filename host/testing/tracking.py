"""What the app is doing right now: in-flight storage requests, invocations, unreceived messages.

The idle detector (:mod:`host.testing.idle`) asks these counters whether the app is busy and
waits on them (a future resolved when the count drops to zero) instead of polling.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

from host.storage.interface import QueueMessage, SentMessage, Storage


class InFlight:
    """A counter of things in progress, with a future for "back to zero"."""

    def __init__(self) -> None:
        self.count = 0
        self._idle: list[asyncio.Future[None]] = []
        self.on_change: Callable[[], None] | None = None

    def enter(self) -> None:
        self.count += 1
        if self.on_change is not None:
            self.on_change()

    def exit(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            waiters, self._idle = self._idle, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        if self.on_change is not None:
            self.on_change()

    def when_idle(self) -> asyncio.Future[None]:
        """A future done when the count is zero."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.count <= 0:
            fut.set_result(None)
        else:
            self._idle.append(fut)
        return fut


class TrackingStorage:
    """A :class:`Storage` that counts in-flight requests and messages not yet received.

    Messages put visible at once on a tracked queue (the task hub's) count as work pending until
    a receive returns them or they are deleted: between a client's send and the engine's
    receive, the app is not idle.
    """

    def __init__(self, inner: Storage, tracked_prefix: str = "") -> None:
        self.inner = inner
        self.requests = InFlight()
        self.unreceived: dict[str, set[str]] = {}
        self.tracked_prefix = tracked_prefix.lower()
        self.on_change: Callable[[], None] | None = None

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if inspect.iscoroutinefunction(value):
            wrapped = self._tracked(value)
            setattr(self, name, wrapped)  # cache: next lookups skip __getattr__
            return wrapped
        return value

    def _tracked(self, method: Callable[..., Any]) -> Callable[..., Any]:
        requests = self.requests

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            requests.enter()
            try:
                return await method(*args, **kwargs)
            finally:
                requests.exit()

        return call

    @property
    def pending_messages(self) -> int:
        return sum(len(ids) for ids in self.unreceived.values())

    def _is_tracked(self, queue: str) -> bool:
        # A poison queue is never received from: its messages are no pending work.
        return (
            bool(self.tracked_prefix)
            and queue.lower().startswith(self.tracked_prefix)
            and not queue.lower().endswith("-poison")
        )

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def put_message(
        self, queue: str, content: str, *, visibility_timeout: int = 0, time_to_live: int = -1
    ) -> SentMessage:
        self.requests.enter()
        try:
            sent = await self.inner.put_message(
                queue, content, visibility_timeout=visibility_timeout, time_to_live=time_to_live
            )
        finally:
            self.requests.exit()
        if visibility_timeout <= 0 and self._is_tracked(queue):
            self.unreceived.setdefault(queue, set()).add(sent.id)
            self._changed()
        return sent

    async def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 300
    ) -> list[QueueMessage]:
        self.requests.enter()
        try:
            got = await self.inner.receive_messages(
                queue, max_messages=max_messages, visibility_timeout=visibility_timeout
            )
        finally:
            self.requests.exit()
        self._forget(queue, (m.id for m in got))
        return got

    async def delete_message(self, queue: str, message_id: str, pop_receipt: str) -> None:
        self.requests.enter()
        try:
            await self.inner.delete_message(queue, message_id, pop_receipt)
        finally:
            self.requests.exit()
            self._forget(queue, (message_id,))

    def _forget(self, queue: str, ids: Any) -> None:
        pending = self.unreceived.get(queue)
        if pending:
            for message_id in ids:
                pending.discard(message_id)
            self._changed()

    def iter_rows(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.iter_rows(*args, **kwargs)
