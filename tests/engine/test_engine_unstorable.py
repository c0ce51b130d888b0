"""Writes storage refuses for good (400/413) fail the instance with a clear message instead of
being retried for ever: on Azurite and on the in-memory storage."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from engine_support import APPS

from host.testing.app_host import AppHost


@pytest.fixture(params=["azurite", "memory"])
async def app(request: pytest.FixtureRequest, azurite_connection_string: str) -> AsyncIterator[AppHost]:
    kind = request.param
    connection = azurite_connection_string if kind == "azurite" else None
    async with AppHost(APPS / "poison", storage=kind, connection_string=connection, virtual_time=False) as a:
        yield a


async def test_a_custom_status_too_large_for_the_instances_table_fails_the_instance(app: AppHost) -> None:
    status = await app.wait(await app.start("huge_custom_status"), 30)
    assert status.runtime_status == "Failed"
    message = status.output or ""
    assert "huge_custom_status" in message and "PropertyValueTooLarge" in message, message
    assert "cannot store" in message, message
    history = await app.management.get_history(status.instance_id)
    assert [e["EventType"] for e in history][-2:] == [1, 13]  # ExecutionCompleted, OrchestratorCompleted


async def test_a_child_whose_rows_storage_refuses_fails_its_parent(app: AppHost) -> None:
    status = await app.wait(await app.start("child_with_huge_id"), 30)
    assert status.runtime_status == "Failed"
    message = status.output or ""
    assert "InvalidInput" in message and "cannot store" in message, message
    assert await app.management.get_status("c" * 1100) is None
