"""Fixtures of the durable tests: a storage (Azurite and in-memory) and a fresh task hub on it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from storages import open_test_storage

from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.storage.interface import Storage


@pytest.fixture(params=["azure", "memory"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """The session's Azurite, then an in-memory storage: every test using it runs on both."""
    s = open_test_storage(request.param, request)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def hub(storage: Storage) -> AsyncIterator[TaskHub]:
    """A task hub with a unique name (4 partitions), created, and deleted afterwards."""
    taskhub = TaskHub(storage, TaskHubNames(f"t{uuid.uuid4().hex[:12]}", 4))
    await taskhub.create()
    try:
        yield taskhub
    finally:
        await taskhub.delete()
