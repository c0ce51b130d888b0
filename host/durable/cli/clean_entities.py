"""Cleaning entity storage: remove the rows and history of entities that are empty.

An entity that was deleted (``destruct_on_exit``) keeps its Instances row (RuntimeStatus
Completed) so that its request-id memory still recognises late redeliveries. Cleaning removes
those that are empty (no state, nothing queued, no lock) and idle for at least ``min_idle``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from host.durable.entities.ids import ENTITY_ID_PREFIX
from host.durable.entities.query import select_for_clean
from host.durable.taskhub.hub import TaskHub


async def clean_entity_storage(hub: TaskHub, *, min_idle: timedelta = timedelta(minutes=5)) -> list[str]:
    """Purge every empty entity idle for ``min_idle``; returns the instance ids removed."""
    rows, _ = await hub.query_instances(
        instance_id_prefix=ENTITY_ID_PREFIX, include_input_output=True, exclude_entities=False
    )
    chosen = select_for_clean(rows, hub.now(), min_idle)
    await asyncio.gather(*(hub.purge_instance(iid) for iid in chosen))
    return chosen
