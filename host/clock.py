"""The host's notion of time: wall-clock by default, replaceable by a virtual clock in tests.

The runtime owns one optional :class:`Clock` (``HostRuntime.clock``); the durable engine, its task
hub and the timer trigger run on it, so the testing toolkit's virtual clock drives them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What components ask of time: the current UTC time and a callback at a given time."""

    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancellable: ...


class WallClock:
    """Real time, on the running event loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancellable:
        delay = max((when - self.now()).total_seconds(), 0.0)
        return asyncio.get_running_loop().call_later(delay, callback)


async def sleep_until(clock: Clock, when: datetime) -> None:
    """Wait until ``clock`` reaches ``when``."""
    if when <= clock.now():
        return
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not fut.done():
            fut.set_result(None)

    timer = clock.call_at(when, wake)
    try:
        await fut
    finally:
        timer.cancel()
