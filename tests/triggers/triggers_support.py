"""Helpers shared by the trigger tests (imported as a plain module: tests have no packages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from host.errors import NotFoundError
from host.runtime import HostRuntime
from host.storage.interface import QueueMessage, Storage

StartHost = Callable[..., Awaitable[HostRuntime]]


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
