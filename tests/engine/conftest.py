"""The ``host`` fixture of the engine tests: the test module's ``HOST_APP`` on Azurite, real time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from host.testing.app_host import AppHost


@pytest.fixture
async def host(request: pytest.FixtureRequest, azurite_connection_string: str) -> AsyncIterator[AppHost]:
    """The app in the folder the test module names ``HOST_APP``, started for one test."""
    async with AppHost(
        request.module.HOST_APP, connection_string=azurite_connection_string, virtual_time=False
    ) as h:
        yield h
