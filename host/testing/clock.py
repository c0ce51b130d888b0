"""A virtual clock: time that moves only when a test moves it.

It satisfies the host's :class:`host.clock.Clock` (``now()`` and ``call_at``; the testing runtime
plugs it in as ``HostRuntime.clock``) and is callable for
:class:`host.storage.memory.storage.MemoryStorage` (``clock=virtual``). Nothing fires by itself:
:meth:`VirtualClock.jump_to` moves time and runs the callbacks that became due, in time order.
The app host's ``advance()`` uses it step by step, letting the app settle between due callbacks.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from host.clock import sleep_until


class VirtualTimer:
    """A callback registered with :meth:`VirtualClock.call_at` (cancel it with :meth:`cancel`)."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: datetime, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """UTC time under the test's control."""

    def __init__(self, start: datetime | None = None) -> None:
        base = start or datetime.now(UTC)
        self._now = base if base.tzinfo else base.replace(tzinfo=UTC)
        self._heap: list[tuple[datetime, int, VirtualTimer]] = []
        self._seq = itertools.count()
        self.on_schedule: Callable[[], None] | None = None
        """Called whenever a callback is registered (the app host's idle detector listens)."""

    # -- Clock protocol -----------------------------------------------------------------
    def now(self) -> datetime:
        """The current virtual time (timezone-aware UTC)."""
        return self._now

    __call__ = now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> VirtualTimer:
        """Run ``callback`` once virtual time reaches ``when`` (soon, if it already has)."""
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        timer = VirtualTimer(when, callback)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        if when <= self._now:
            asyncio.get_running_loop().call_soon(self._fire_due)
        if self.on_schedule is not None:
            self.on_schedule()
        return timer

    async def sleep_until(self, when: datetime) -> None:
        """Wait until virtual time reaches ``when``."""
        await sleep_until(self, when)

    # -- moving time --------------------------------------------------------------------
    def next_due(self) -> datetime | None:
        """When the earliest pending callback is due (``None`` when nothing is pending)."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    @property
    def pending(self) -> int:
        """How many callbacks wait for a future time."""
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    def jump_to(self, when: datetime) -> int:
        """Set the time to ``when`` (never backwards) and run every callback due by then.

        Returns how many callbacks ran. Callbacks run in time order; each sees ``now()`` at
        its own due time, then time ends at ``when``.
        """
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        ran = 0
        while True:
            nxt = self.next_due()
            if nxt is None or nxt > when:
                break
            self._now = max(self._now, nxt)
            ran += self._fire_due()
        self._now = max(self._now, when)
        return ran

    def jump(self, delta: timedelta) -> int:
        """:meth:`jump_to` ``now() + delta``."""
        return self.jump_to(self._now + delta)

    def _fire_due(self) -> int:
        ran = 0
        while self._heap and self._heap[0][0] <= self._now:
            _, _, timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()
                ran += 1
        return ran
