"""What the dashboard's pages show, read through the one client path (:class:`Management`).

Filters come from query strings (:class:`InstanceFilter`); a bad value raises
:class:`BadFilter` with a sentence naming it, shown above the list.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from host.durable.entities.ids import EntityId
from host.durable.entities.query import EntityQuery
from host.durable.management import Management
from host.durable.replay.history import parse_timestamp
from host.durable.taskhub.rows import RUNTIME_STATUS_NAMES, InstanceStatus
from host.errors import DurableError

PAGE_SIZE = 50
STATUSES: tuple[str, ...] = tuple(s for s in RUNTIME_STATUS_NAMES if s != "ContinuedAsNew")
"""The statuses the list counts and filters by (in DTFx order)."""


class BadFilter(DurableError):
    """A filter value of the instance list is not understood."""


def _time(params: Mapping[str, str], key: str, label: str) -> datetime | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text) if "T" in text and len(text) <= 19 else parse_timestamp(text)
    except ValueError:
        raise BadFilter(f"{label} '{text[:40]}' is not a date and time (e.g. 2026-12-06T09:30)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class InstanceFilter:
    """The instance list's filters and page (from the query string)."""

    statuses: tuple[str, ...] = ()
    name: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    prefix: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str], statuses: list[str]) -> InstanceFilter:
        """Parse ``status`` (repeated), ``name``, ``from``, ``to``, ``prefix`` and ``page``."""
        wanted = tuple(s for s in statuses if s)
        unknown = [s for s in wanted if s not in RUNTIME_STATUS_NAMES]
        if unknown:
            raise BadFilter(f"unknown status '{unknown[0][:40]}' (one of {', '.join(STATUSES)})")
        page_text = params.get("page") or "1"
        if not page_text.isdigit() or int(page_text) < 1:
            raise BadFilter(f"page '{page_text[:20]}' is not a positive number")
        return cls(
            statuses=wanted,
            name=(params.get("name") or "").strip(),
            created_from=_time(params, "from", "created from"),
            created_to=_time(params, "to", "created to"),
            prefix=(params.get("prefix") or "").strip(),
            page=int(page_text),
        )

    def query(self, **changes: Any) -> str:
        """This filter as a query string (``changes`` replace fields, e.g. ``page=2``)."""
        f = replace(self, **changes)
        pairs: list[tuple[str, str]] = [("status", s) for s in f.statuses]
        for key, value in (
            ("name", f.name),
            ("from", f.created_from.strftime("%Y-%m-%dT%H:%M") if f.created_from else ""),
            ("to", f.created_to.strftime("%Y-%m-%dT%H:%M") if f.created_to else ""),
            ("prefix", f.prefix),
            ("page", str(f.page) if f.page > 1 else ""),
        ):
            if value:
                pairs.append((key, value))
        return urlencode(pairs)


@dataclass
class InstancePage:
    """One page of the instance list, newest update first, with the counts per status."""

    rows: list[InstanceStatus]
    counts: dict[str, int]
    total: int
    page: int
    pages: int
    filter: InstanceFilter = field(default_factory=InstanceFilter)


def _updated(status: InstanceStatus) -> datetime:
    return status.last_updated_time or status.created_time or datetime.min.replace(tzinfo=UTC)


async def list_instances(
    management: Management, f: InstanceFilter, page_size: int = PAGE_SIZE
) -> InstancePage:
    """The page ``f.page`` of instances matching ``f``; counts cover every status under the other filters."""
    rows, _ = await management.query_instances(
        None, f.created_from, f.created_to, f.prefix or None, include_input_output=False
    )
    if f.name:
        needle = f.name.lower()
        rows = [r for r in rows if needle in (r.name or "").lower()]
    counts = Counter(r.runtime_status or "Unknown" for r in rows)
    if f.statuses:
        rows = [r for r in rows if r.runtime_status in f.statuses]
    rows.sort(key=_updated, reverse=True)
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(f.page, pages)
    start = (page - 1) * page_size
    return InstancePage(
        rows[start : start + page_size],
        {s: counts.get(s, 0) for s in STATUSES},
        len(rows),
        page,
        pages,
        f,
    )


@dataclass
class EntityRowView:
    """One entity in the list."""

    entity: EntityId
    last_operation: datetime | None
    state: Any


async def list_entities(management: Management, name: str | None = None) -> list[EntityRowView]:
    """Every entity (of ``name``, when given) with its state, by instance id."""
    page = await management.query_entities(EntityQuery(name=name or None, fetch_state=True))
    found: list[EntityRowView] = []
    for item in page.entities:
        ident = item["entityId"]
        entity = EntityId(str(ident["name"]), str(ident["key"]))
        last = item.get("lastOperationTime")
        found.append(
            EntityRowView(entity, parse_timestamp(last) if isinstance(last, str) else None, item.get("state"))
        )
    return found
