"""Shared engine-test fixtures: the module's ``HOST_APP`` in process, and a fresh task hub with its
view and subprocess hosts for the crash, failover and lock tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from crash_support import HUB_PARTITIONS, HostProcess, HubView

from host.testing.app_host import AppHost


@pytest.fixture
async def host(request: pytest.FixtureRequest, azurite_connection_string: str) -> AsyncIterator[AppHost]:
    """The app in the folder the test module names ``HOST_APP``, started for one test."""
    async with AppHost(
        request.module.HOST_APP, connection_string=azurite_connection_string, virtual_time=False
    ) as h:
        yield h


@pytest.fixture
def hub_name(request: pytest.FixtureRequest) -> str:
    """A fresh task hub per test, named after the test module (``test_engine_crash`` → ``crash…``)."""
    stem = re.sub(r"[^a-z]", "", request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_engine_"))
    return f"{stem[:12] or 'hub'}{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def view(azurite_connection_string: str, hub_name: str) -> AsyncIterator[HubView]:
    """The test's task hub, read and driven straight from storage."""
    v = HubView(azurite_connection_string, hub_name, HUB_PARTITIONS)
    yield v
    await v.close()


@pytest.fixture
def hosts() -> Iterator[list[HostProcess]]:
    """A list to spawn hosts into; every one still alive is stopped at the end."""
    started: list[HostProcess] = []
    yield started
    for h in started:
        h.stop()
