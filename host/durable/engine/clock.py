"""The engine's notion of time: wall-clock by default, replaceable by a virtual clock in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the engine asks of time: the current UTC time and a callback at a given time."""

    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancellable: ...


class WallClock:
    """Real time, on the running event loop."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Cancellable:
        delay = max((when - self.now()).total_seconds(), 0.0)
        return asyncio.get_running_loop().call_later(delay, callback)
