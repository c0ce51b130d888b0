"""Fixtures of the storage contract tests: every test runs on Azurite and in memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from storages import open_test_storage
from waiting import eventually as poll_until

from host.storage.interface import Storage


@pytest.fixture(params=["azure", "azure_sdk", "memory"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """An AzureStorage on the session Azurite (lean REST path, or SDKs only), or a MemoryStorage."""
    s = open_test_storage(request.param, request)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def name() -> Callable[[str], str]:
    """Unique lowercase alphanumeric names (valid for queues, tables and containers)."""
    return lambda prefix: f"{prefix}{uuid.uuid4().hex[:16]}"


Eventually = Callable[..., Awaitable[Any]]


@pytest.fixture
def eventually() -> Eventually:
    """``await eventually(check, timeout=…)``: poll ``check`` until truthy, with a deadline."""
    return _eventually


async def _eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, interval: float = 0.05
) -> Any:
    return await poll_until(check, timeout, interval=interval)
