"""The Counter entity end to end on Azurite: client signals, calls from orchestrations, rollback,
deletion, unknown operations and entities, reading and listing over the HTTP API."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from test_entities_support import ENTITIES_APP, entity_row, entity_state, served_host, wait_state

from host.durable.entities import EntityId
from host.testing.app_host import AppHost


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with served_host(ENTITIES_APP, azurite_connection_string) as h:
        yield h


def key() -> str:
    return uuid.uuid4().hex[:10]


async def test_concurrent_signals_from_many_clients_give_the_exact_sum(host: AppHost) -> None:
    k = key()
    assert host.client is not None
    responses = await asyncio.gather(*(
        host.client.post(f"/api/counter/{k}", content=json.dumps(i)) for i in range(1, 51)))
    assert all(r.status_code == 202 for r in responses)
    await wait_state(host, EntityId("Counter", k), sum(range(1, 51)))
    read = await host.client.get(f"/api/counter/{k}")
    assert read.status_code == 200 and read.json() == 1275
    row = await entity_row(host, EntityId("Counter", k))
    assert row is not None and row.runtime_status == "Running" and row.name == "counter"
    assert json.loads(row.custom_status or "{}") == {"entityExists": True}

