"""Supervised poller tasks: a poller that dies is restarted (with a log line); one that keeps
dying is handed to a give-up callback (the engine releases its partition) instead."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

log = logging.getLogger("host.durable")

MAX_DEATHS = 3
"""Deaths within ``DEATH_WINDOW_SECONDS`` after which a poller is given up."""
DEATH_WINDOW_SECONDS = 60.0

PollerFactory = Callable[[], Coroutine[Any, Any, None]]
GiveUp = Callable[[Hashable, BaseException], Coroutine[Any, Any, None]]


class PollerSupervisor:
    """Runs one task per key; restarts a task that ends with an exception while it should run."""

    def __init__(
        self, on_give_up: GiveUp, *, max_deaths: int = MAX_DEATHS, window: float = DEATH_WINDOW_SECONDS
    ) -> None:
        self.on_give_up = on_give_up
        self.max_deaths = max_deaths
        self.window = window
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._factories: dict[Hashable, PollerFactory] = {}
        self._deaths: dict[Hashable, deque[float]] = {}
        self._give_ups: set[asyncio.Task[None]] = set()

    def start(self, key: Hashable, factory: PollerFactory, name: str) -> None:
        """Run ``factory()`` as the poller of ``key`` (replacing nothing: one task per key)."""
        if key in self._tasks:
            return
        self._factories[key] = factory
        self._spawn(key, name)

    def running(self, key: Hashable) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    async def stop(self, key: Hashable) -> None:
        """Cancel the poller of ``key`` and wait for it; it is not restarted."""
        self._factories.pop(key, None)
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def drain_all(self, timeout: float) -> None:
        """Let every poller end by itself (its owner told it to stop and woke it): a receive in
        flight completes and what it got is admitted, not left locked. Past ``timeout``, cancel."""
        self._factories.clear()
        tasks = list(self._tasks.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def stop_all(self) -> None:
        for key in list(self._tasks):
            await self.stop(key)
        for task in list(self._give_ups):
            task.cancel()

    def _spawn(self, key: Hashable, name: str) -> None:
        factory = self._factories[key]
        task = asyncio.create_task(factory(), name=name)
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._ended(key, name, t))

    def _ended(self, key: Hashable, name: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is not task:
            return  # stopped on purpose
        del self._tasks[key]
        if task.cancelled() or key not in self._factories:
            return
        err = task.exception()
        if err is None:
            self._factories.pop(key, None)  # the poller decided to end (its partition is gone)
            return
        deaths = self._deaths.setdefault(key, deque())
        now = time.monotonic()
        deaths.append(now)
        while deaths and now - deaths[0] > self.window:
            deaths.popleft()
        if len(deaths) >= self.max_deaths:
            deaths.clear()
            self._factories.pop(key, None)
            log.error(
                "poller %s died %d times within %g s (last: %s: %s); giving it up",
                name,
                self.max_deaths,
                self.window,
                type(err).__name__,
                err,
                exc_info=err,
            )
            give_up = asyncio.create_task(self.on_give_up(key, err), name=f"give-up-{name}")
            self._give_ups.add(give_up)
            give_up.add_done_callback(self._give_ups.discard)
            return
        log.error("poller %s died (%s: %s); restarting it", name, type(err).__name__, err, exc_info=err)
        self._spawn(key, name)
