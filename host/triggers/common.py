"""Pieces every trigger listener shares: options, the invoke callable, wake-ups, back-off."""

from __future__ import annotations

import asyncio
import os
import random
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from host.errors import ConfigError
from host.triggers.encoding import check_encoding

Invoke = Callable[..., Awaitable[Any]]
"""``await invoke(fn, trigger_value, trigger_metadata=..., invocation_id=...)`` (``Invoker.invoke``)."""

MIN_POLLING_INTERVAL = 0.1


class SettingsLike(Protocol):
    """The part of :class:`host.config.settings.HostSettings` the triggers read."""

    def get_int(self, path: str, default: int) -> int: ...

    def get_str(self, path: str, default: str | None = None, *, resolve: bool = True) -> str | None: ...

    def get_timespan(self, path: str, default: float | None) -> float | None: ...


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues`` of host.json, with the v5 extension's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8 * (os.cpu_count() or 1)
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"
    message_lease: int = 600
    """Seconds a received message stays invisible (renewed at half of it while the function runs)."""

    @classmethod
    def from_settings(cls, settings: SettingsLike) -> QueueOptions:
        """Read and validate host.json ``extensions.queues``."""
        base = "extensions.queues."
        batch = settings.get_int(base + "batchSize", 16)
        if not 1 <= batch <= 32:
            raise ConfigError(f"host.json '{base}batchSize': {batch} is not between 1 and 32")
        threshold = settings.get_int(base + "newBatchThreshold", batch // 2 * (os.cpu_count() or 1))
        if threshold < 0:
            raise ConfigError(f"host.json '{base}newBatchThreshold': {threshold} is negative")
        max_poll = settings.get_timespan(base + "maxPollingInterval", 60.0) or 60.0
        if max_poll < MIN_POLLING_INTERVAL:
            raise ConfigError(f"host.json '{base}maxPollingInterval' must be at least 00:00:00.1")
        visibility = settings.get_timespan(base + "visibilityTimeout", 0.0) or 0.0
        dequeue = settings.get_int(base + "maxDequeueCount", 5)
        if dequeue < 1:
            raise ConfigError(f"host.json '{base}maxDequeueCount': {dequeue} must be at least 1")
        encoding = check_encoding(settings.get_str(base + "messageEncoding", "base64"))
        return cls(batch, threshold, max_poll, visibility, dequeue, encoding)


class Backoff:
    """``RandomizedExponentialBackoffStrategy``: 100 ms, then ~200, 300, 500, 900 ms… up to a cap."""

    def __init__(self, maximum: float, minimum: float = MIN_POLLING_INTERVAL) -> None:
        self.minimum = minimum
        self.maximum = max(maximum, minimum)
        self._empty = 0

    def reset(self) -> None:
        self._empty = 0

    def next_delay(self) -> float:
        """The wait after one more consecutive empty poll."""
        self._empty += 1
        if self._empty == 1:
            return self.minimum
        exponent = min(self._empty - 2, 30)
        delay = self.minimum + random.uniform(0.8, 1.2) * (2.0**exponent) * self.minimum
        return min(delay, self.maximum)


class Wakeups:
    """In-process wake-ups: a writer of a queue/container notifies the listeners of that name."""

    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = {}

    def subscribe(self, name: str) -> asyncio.Event:
        event = asyncio.Event()
        self._events.setdefault(name, set()).add(event)
        return event

    def unsubscribe(self, name: str, event: asyncio.Event) -> None:
        self._events.get(name, set()).discard(event)

    def notify(self, name: str) -> None:
        for event in self._events.get(name, ()):
            event.set()


_WAKEUPS: weakref.WeakKeyDictionary[Any, Wakeups] = weakref.WeakKeyDictionary()
_WAKEUPS_STRONG: dict[int, Wakeups] = {}


def wakeups_for(storage: Any) -> Wakeups:
    """The wake-up registry shared by every component that uses ``storage`` (one account)."""
    try:
        found = _WAKEUPS.get(storage)
        if found is None:
            found = _WAKEUPS[storage] = Wakeups()
        return found
    except TypeError:  # not weak-referenceable
        return _WAKEUPS_STRONG.setdefault(id(storage), Wakeups())


def succeeded(result: Any) -> bool:
    """Whether an invocation result means success (the invoker may return or raise failures)."""
    if result is None:
        return True
    if getattr(result, "error", None) is not None:
        return False
    return bool(getattr(result, "succeeded", True))


def failure_of(result: Any) -> BaseException | None:
    """The error carried by a failed invocation result (if it carries one)."""
    error = getattr(result, "error", None)
    return error if isinstance(error, BaseException) else None
