"""The sample app's tests run on both storages: in memory and on the session's Azurite."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["memory", "azurite"])
def funchost_storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def funchost_connection_string(azurite_connection_string: str) -> str:
    return azurite_connection_string
