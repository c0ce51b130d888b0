"""Entities of a task hub: a listing by name with last operation time and state, and one entity.

Entities are Instances rows whose id is ``@name@key``; one range query per page reads those of
a name (or all), in id order, with the table's own continuation tokens. The scheduler state in
the ``Input`` column gives the state, the queued operations and the lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from host.durable.entities.ids import EntityId, EntityIdError
from host.durable.entities.query import entity_key_range
from host.durable.entities.requests import EntityMessageError
from host.durable.entities.state import SchedulerState
from host.durable.inspect.instances import ListingTokenError
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.rows import InstanceStatus

DEFAULT_ENTITY_PAGE = 100


@dataclass(frozen=True)
class EntitySummary:
    """One entity as the listing shows it."""

    entity_id: EntityId
    exists: bool
    """False for an entity whose state was deleted (its row remains until cleaned)."""
    last_operation_time: datetime | None
    state: Any
    """The state as a JSON value (``None`` when it does not exist or was not fetched)."""
    queue_size: int
    """Operations waiting for the entity."""
    locked_by: str | None
    """The orchestration holding the entity's lock (a critical section)."""
    problem: str | None = None
    """Why the stored scheduler state could not be read (then nothing else is known)."""


@dataclass(frozen=True)
class EntityListing:
    """One page of entities and the token of the next (``None`` on the last page)."""

    entities: list[EntitySummary]
    continuation: str | None


def summarize_entity(row: InstanceStatus, *, with_state: bool = True) -> EntitySummary | None:
    """The summary of an entity's Instances row (``None`` when the row is not an entity's)."""
    try:
        entity_id = EntityId.parse(row.instance_id)
    except EntityIdError:
        return None
    try:
        scheduler = SchedulerState.from_text(row.input)
        fetch = with_state and scheduler.exists and scheduler.state is not None
        state = json.loads(scheduler.state) if fetch and scheduler.state is not None else None
    except (EntityMessageError, ValueError) as err:
        return EntitySummary(entity_id, False, row.last_updated_time, None, 0, None, problem=str(err))
    return EntitySummary(
        entity_id,
        scheduler.exists,
        row.last_updated_time,
        state,
        len(scheduler.queue),
        scheduler.locked_by,
    )


async def list_entities(
    hub: TaskHub,
    name: str | None = None,
    *,
    page_size: int = DEFAULT_ENTITY_PAGE,
    continuation: str | None = None,
    include_deleted: bool = False,
    with_state: bool = True,
) -> EntityListing:
    """One page of the entities of ``name`` (case-insensitive; all when ``None``), in id order."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    low, _ = entity_key_range(name)
    found: list[EntitySummary] = []
    token = continuation
    while True:  # a page of only deleted entities is skipped, not shown empty
        try:
            rows, token = await hub.query_instances(
                instance_id_prefix=low,
                include_input_output=True,
                exclude_entities=False,
                top=page_size,
                continuation=token,
            )
        except ValueError as err:  # the storage layer's word for a token it never handed out
            if token:
                raise ListingTokenError(f"invalid continuation token {token[:80]!r}") from err
            raise
        found = [s for r in rows if (s := summarize_entity(r, with_state=with_state)) is not None]
        if not include_deleted:
            found = [s for s in found if s.exists or s.queue_size or s.locked_by or s.problem]
        if found or token is None:
            return EntityListing(found, token)


async def get_entity(hub: TaskHub, entity: EntityId) -> EntitySummary | None:
    """One entity with its state (``None`` when the hub has no row for it)."""
    row = await hub.get_instance(entity.instance_id)
    return summarize_entity(row) if row is not None else None
