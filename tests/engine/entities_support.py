"""Helpers shared by the entity engine tests (no tests here)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from waiting import eventually

from host.durable.entities.ids import EntityId
from host.durable.entities.query import read_entity_state
from host.durable.taskhub.rows import InstanceStatus
from host.testing.app_host import AppHost

ENTITIES_APP = Path(__file__).parent / "apps" / "entities"


async def entity_row(host: AppHost, entity: EntityId) -> InstanceStatus | None:
    """The entity's Instances row (``None`` before its first checkpoint)."""
    row: InstanceStatus | None = await host.durable.hub.get_instance(entity.instance_id)
    return row


async def entity_state(host: AppHost, entity: EntityId) -> tuple[bool, Any]:
    """``(exists, state)`` as the HTTP API reads it."""
    row = await entity_row(host, entity)
    return read_entity_state(row.input) if row is not None else (False, None)


async def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    """Await ``check()`` until it returns something truthy (AssertionError at the deadline)."""
    return await eventually(check, timeout, interval=interval)


async def wait_state(host: AppHost, entity: EntityId, expected: Any, timeout: float = 20.0) -> None:
    """Wait until the entity exists with state ``expected``."""

    async def check() -> bool:
        return await entity_state(host, entity) == (True, expected)

    try:
        await wait_for(check, timeout)
    except AssertionError:
        raise AssertionError(
            f"{entity} never reached {expected!r}: now {await entity_state(host, entity)!r}"
        ) from None


async def signal(
    host: AppHost, entity: EntityId, operation: str, value: Any = None, scheduled_time: datetime | None = None
) -> None:
    """Signal as the SDK's client does (its request body is the JSON text of the value's JSON)."""
    text = None if value is None else json.dumps(json.dumps(value))
    await host.management.signal_entity(entity, operation, text, scheduled_time=scheduled_time)


async def deleted_and_alive(host: AppHost) -> tuple[EntityId, EntityId]:
    """Two counters with state; the first is then deleted (its empty row stays until cleaned)."""
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
    return deleted, alive
