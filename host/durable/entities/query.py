"""Reading, listing and cleaning entities over Instances rows (pure).

Storage access goes through the task hub: read the rows whose PartitionKey lies in
:func:`entity_key_range` (all entities, or one entity name), then page/filter them here.
Rows are any objects with ``instance_id``, ``input`` (scheduler state text),
``custom_status`` (entity status text) and ``last_updated_time`` attributes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from host.durable.entities.ids import ENTITY_ID_PREFIX, EntityId, EntityIdError, is_entity_instance_id
from host.durable.entities.requests import EntityMessageError
from host.durable.entities.state import EntityStatus, SchedulerState
from host.durable.entities.ticks import format_ticks, ticks_from_datetime
from host.errors import DurableError


class EntityRow(Protocol):
    """The Instances-row columns entity queries use."""

    instance_id: str
    input: str | None
    custom_status: str | None
    last_updated_time: datetime | None


class ContinuationTokenError(DurableError):
    """A continuation token was not made by :func:`query_entities`."""


def entity_key_range(name: str | None = None) -> tuple[str, str]:
    """``(lower, upper)`` instance-id bounds: ``lower <= id < upper`` selects the entities.

    All entities when ``name`` is ``None``, else the entities of that (case-insensitive) name.
    Escape both bounds like PartitionKeys before using them in a table filter.
    """
    prefix = ENTITY_ID_PREFIX if name is None else f"@{name.lower()}@"
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def read_entity_state(input_text: str | None) -> tuple[bool, Any]:
    """``(exists, state value)`` of an entity row's ``Input`` (GET ``entities/{name}/{key}``)."""
    state = SchedulerState.from_text(input_text)
    if not state.exists:
        return False, None
    return True, json.loads(state.state) if state.state is not None else None


def _row_exists(row: EntityRow) -> bool:
    status = EntityStatus.from_text(row.custom_status)
    if status is not None and row.custom_status not in (None, "", "null"):
        return status.entity_exists
    try:
        return SchedulerState.from_text(row.input).exists
    except EntityMessageError:
        return False


@dataclass(frozen=True)
class EntityQuery:
    """The HTTP API's ``GET entities/[{name}]`` parameters."""

    name: str | None = None
    fetch_state: bool = False
    top: int | None = None
    last_operation_from: datetime | None = None
    last_operation_to: datetime | None = None
    include_deleted: bool = False
    continuation_token: str | None = None


@dataclass
class EntityPage:
    """One page of entities and the token for the next (``None`` when there is no next page)."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    continuation_token: str | None = None


def _decode_token(token: str | None) -> str | None:
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ContinuationTokenError(f"invalid continuation token {token!r}") from exc
    return str(after)


def _encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def query_entities(rows: Sequence[EntityRow], query: EntityQuery) -> EntityPage:
    """Filter, order (by instance id) and page entity rows into the listing JSON items."""
    after = _decode_token(query.continuation_token)
    low, high = entity_key_range(query.name)
    selected = sorted(
        (
            r
            for r in rows
            if is_entity_instance_id(r.instance_id)
            and low <= r.instance_id < high
            and (after is None or r.instance_id > after)
            and _in_range(r.last_updated_time, query.last_operation_from, query.last_operation_to)
        ),
        key=lambda r: r.instance_id,
    )
    page = EntityPage()
    for row in selected:
        if query.top is not None and page.entities and len(page.entities) >= query.top:
            page.continuation_token = _encode_token(page_last(page))
            break
        item = _item(row, query)
        if item is not None:
            page.entities.append(item)
    return page


def page_last(page: EntityPage) -> str:
    """The instance id of the last entity on a page."""
    last = page.entities[-1]["entityId"]
    return EntityId(last["name"], last["key"]).instance_id


def _in_range(when: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if when is None:
        return start is None and end is None
    return (start is None or when >= start) and (end is None or when <= end)


def _item(row: EntityRow, query: EntityQuery) -> dict[str, Any] | None:
    try:
        entity_id = EntityId.parse(row.instance_id)
    except EntityIdError:
        return None
    if not query.include_deleted and not _row_exists(row):
        return None
    item: dict[str, Any] = {"entityId": entity_id.to_json()}
    if row.last_updated_time is not None:
        item["lastOperationTime"] = format_ticks(ticks_from_datetime(row.last_updated_time))
    if query.fetch_state:
        item["state"] = read_entity_state(row.input)[1]
    return item


def select_for_clean(
    rows: Sequence[EntityRow], now: datetime, min_idle: timedelta = timedelta(0)
) -> list[str]:
    """Instance ids of entity rows that may be deleted: empty (no state, no queue, no lock).

    ``min_idle`` keeps rows updated more recently than ``now - min_idle``: their request-id
    de-dup memory still guards against late redeliveries.
    """
    horizon = now - min_idle
    chosen: list[str] = []
    for row in rows:
        if not is_entity_instance_id(row.instance_id):
            continue
        if row.last_updated_time is not None and row.last_updated_time > horizon:
            continue
        try:
            state = SchedulerState.from_text(row.input)
        except EntityMessageError:
            continue
        if state.is_empty:
            chosen.append(row.instance_id)
    return chosen
