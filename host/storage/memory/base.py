"""Shared state of :class:`host.storage.memory.storage.MemoryStorage`: the clock, counters, ids."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from host.storage.interface import StorageStats

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock (timezone-aware UTC)."""
    return datetime.now(UTC)


class MemoryBase:
    """Clock, stats and id sources shared by the in-memory queues, tables and blobs."""

    def __init__(self, clock: Clock | None = None, account_name: str = "memoryaccount") -> None:
        self._clock: Clock = clock or utc_now
        self._account_name = account_name
        self.stats = StorageStats()
        self._counter = itertools.count(1)

    @property
    def account_name(self) -> str:
        """A fixed, fake account name."""
        return self._account_name

    def now(self) -> datetime:
        """The current time of the injected clock (naive results are taken as UTC)."""
        value = self._clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def next_number(self) -> int:
        return next(self._counter)

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    async def _request(self, op: str) -> None:
        """Count one request and yield to the loop once, as real I/O would."""
        self.stats.add(op)
        await asyncio.sleep(0)

    async def close(self) -> None:
        """Nothing to release."""

    async def ping(self, timeout: float = 5.0) -> None:
        """Always reachable."""
        await self._request("memory.ping")
