"""The engine end to end on Azurite: chaining and fan-out through the in-process host."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.testing.app_host import AppHost

APPS = Path(__file__).parent / "apps"


@pytest.fixture
async def chain_host(azurite_connection_string: str):
    async with AppHost(
        APPS / "chain", connection_string=azurite_connection_string, virtual_time=False
    ) as host:
        yield host


async def test_chain_completes_with_every_activity_result(chain_host: AppHost) -> None:
    status = await chain_host.run("hello_chain", ["A", "B", "C"], timeout=30)
    assert status.runtime_status == "Completed"
    assert status.output is not None and '"Hello A!"' in status.output
    history = await chain_host.management.get_history(status.instance_id)
    completed = [e for e in history if e["EventType"] == 5]
    assert len(completed) == 3


async def test_fan_out_runs_every_activity_once(chain_host: AppHost) -> None:
    status = await chain_host.run("fan_out", 20, timeout=60)
    assert status.runtime_status == "Completed"
    assert status.output == str(sum(i * i for i in range(20)))
