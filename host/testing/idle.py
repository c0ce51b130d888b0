"""Knowing when an in-process app has nothing left to do but wait for time (or a test).

The app is *idle* when no orchestration or entity episode runs or waits in a session, no
activity or function invocation is in flight, no storage request is in flight and no message
sent to the task hub waits to be received. :meth:`IdleDetector.settle` waits for that by
awaiting the busy things themselves (tasks, in-flight counters), never by sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from host.testing.tracking import InFlight, TrackingStorage

_SPINS = 3  # loop turns that must pass quietly: lets call_soon callbacks and woken pollers run
_MESSAGE_GRACE = 0.001


class IdleDetector:
    """Watches one app's engine, invoker and storage."""

    def __init__(
        self, *, storage: TrackingStorage | None, invocations: InFlight | None, engine: Any = None
    ) -> None:
        self.storage = storage
        self.invocations = invocations
        self.engine = engine

    def busy(self) -> list[Awaitable[Any]]:
        """What the app is busy with right now (empty = idle)."""
        waits: list[Awaitable[Any]] = []
        engine = self.engine
        if engine is not None:
            waits.extend(engine.busy_tasks())
            if any(s.inbox and (s.task is None or s.task.done()) for s in list(engine.sessions.values())):
                waits.append(asyncio.sleep(0))  # delivered, its episode not started yet
        if self.invocations is not None and self.invocations.count:
            waits.append(self.invocations.when_idle())
        if self.storage is not None:
            if self.storage.requests.count:
                waits.append(self.storage.requests.when_idle())
            if self.storage.pending_messages:
                # A sent message wakes its poller; give the receive a moment to start.
                waits.append(asyncio.sleep(_MESSAGE_GRACE))
        return waits

    async def settle(self, timeout: float = 30.0) -> None:
        """Return once the app is idle (TimeoutError after ``timeout`` seconds of real time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < 2:
            for _ in range(_SPINS):
                await asyncio.sleep(0)
            waits = self.busy()
            if not waits:
                quiet += 1
                continue
            quiet = 0
            remaining = deadline - loop.time()
            if remaining <= 0:
                for w in waits:
                    if asyncio.iscoroutine(w):
                        w.close()
                raise TimeoutError(f"the app did not become idle within {timeout:g} s ({self.describe()})")
            futures = [asyncio.ensure_future(w) for w in waits]
            own = [f for w, f in zip(waits, futures, strict=True) if asyncio.iscoroutine(w)]
            await asyncio.wait(futures, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for f in own:  # only what this method created; the app's own tasks are left alone
                f.cancel()

    def describe(self) -> str:
        """What keeps the app busy, for error messages."""
        parts: list[str] = []
        engine = self.engine
        if engine is not None:
            running = [iid for iid, s in engine.sessions.items() if s.task is not None and not s.task.done()]
            if running:
                parts.append(f"episodes running for {', '.join(running[:5])}")
            activities = engine.activities.running()
            if activities:
                parts.append(f"{len(activities)} activities running")
        if self.invocations is not None and self.invocations.count:
            parts.append(f"{self.invocations.count} invocations in flight")
        if self.storage is not None:
            if self.storage.requests.count:
                parts.append(f"{self.storage.requests.count} storage requests in flight")
            if self.storage.pending_messages:
                parts.append(f"{self.storage.pending_messages} messages not yet received")
        return "; ".join(parts) or "nothing visible"
