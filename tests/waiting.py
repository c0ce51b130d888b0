"""The one wait-for-a-condition helper of the test suite (tests/ is on sys.path via conftest)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(
    check: Callable[[], Any], timeout: float = 20.0, what: str = "condition", *, interval: float = 0.05
) -> Any:
    """Call (and await, if it is async) ``check`` until it returns something truthy; return that.

    Fails the test with an AssertionError naming ``what`` and the last value at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r})")
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], Any], timeout: float = 20.0, what: str = "condition", *, interval: float = 0.05
) -> Any:
    """:func:`eventually` for synchronous code (fixtures on threads, CLI subprocesses): ``check`` is
    called (never awaited) until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r})")
        time.sleep(interval)
