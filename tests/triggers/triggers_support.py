"""Helpers shared by the trigger tests (imported as a plain module: tests have no packages)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from host.errors import NotFoundError
from host.runtime import HostRuntime
from host.storage.interface import QueueMessage, Storage

StartHost = Callable[..., Awaitable[HostRuntime]]


async def eventually(check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Call (and await) ``check`` until it returns something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {result!r})")
        await asyncio.sleep(interval)


def app_globals(runtime: HostRuntime, function: str) -> dict[str, Any]:
    """The module globals of an indexed function (where test apps record what they saw)."""
    fn = runtime.registry.get(function)
    assert fn is not None
    return fn.func.__globals__


async def peek(storage: Storage, queue: str) -> list[QueueMessage]:
    """The visible messages of a queue ([] when the queue does not exist)."""
    try:
        return await storage.peek_messages(queue)
    except NotFoundError:
        return []
