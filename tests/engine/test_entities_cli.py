"""``python -m host durable clean-entities`` removes deleted, empty entities straight from storage."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
from test_entities_support import ENTITIES_APP, entity_row, entity_state, signal, wait_for, wait_state

from host.durable.entities.ids import EntityId
from host.testing.app_host import AppHost


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(ENTITIES_APP, connection_string=azurite_connection_string) as h:
        yield h


async def test_clean_entities_command(host: AppHost, azurite_connection_string: str) -> None:
    deleted = EntityId("Counter", uuid.uuid4().hex[:8])
    alive = EntityId("Counter", uuid.uuid4().hex[:8])
    await signal(host, deleted, "add", 1)
    await signal(host, alive, "add", 2)
    await wait_state(host, deleted, 1)
    await wait_state(host, alive, 2)
    await signal(host, deleted, "delete")

    async def gone() -> bool:
        return await entity_state(host, deleted) == (False, None)
    await wait_for(gone)

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "durable", "clean-entities", "--connection", azurite_connection_string,
        "--hub", host.hub_name, "--min-idle", "0", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    body = json.loads(out)
    assert deleted.instance_id in body["removed"] and alive.instance_id not in body["removed"]
    assert await entity_row(host, deleted) is None
    assert await entity_state(host, alive) == (True, 2)
