"""The instance listing of a task hub: filters, counts per status, pages sorted by last update.

The Instances table is keyed by instance id and Azure Tables cannot sort, so "most recently
updated first" needs every matching row. :func:`list_instances` reads them in one bounded scan
(the filters go to the table service, ``$select`` keeps only the listing columns: about 0.2 s
for 10,000 instances on Azurite), counts the statuses from the same rows, sorts them and cuts
the page after the continuation token. The token is a keyset cursor (last update, instance id),
so the next page is whatever sorts after the last row shown, even when instances were added
meanwhile. Past ``scan_limit`` rows the listing is marked ``truncated`` (sorted and counted
among the rows read); ``order="instance_id"`` pages through the table itself with its own
continuation tokens instead (any size, no counts).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.rows import RUNTIME_STATUS_NAMES, InstanceStatus, parse_datetime
from host.errors import DurableError

DEFAULT_PAGE_SIZE = 50
DEFAULT_SCAN_LIMIT = 25_000
"""Rows one sorted listing reads at most (about half a second on Azurite)."""
LISTING_COLUMNS: tuple[str, ...] = (
    "Name",
    "RuntimeStatus",
    "CreatedTime",
    "LastUpdatedTime",
    "CompletedTime",
)
"""The Instances columns a listing reads (never Input, Output or CustomStatus)."""

Order = Literal["last_updated", "instance_id"]
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class ListingTokenError(DurableError):
    """A continuation token that no listing of this kind handed out."""


@dataclass(frozen=True)
class InstanceFilter:
    """Which orchestration instances a listing shows (every field optional; all must hold)."""

    statuses: frozenset[str] = frozenset()
    """Runtime status names (``Running``, ``Completed``, …); empty = any."""
    name: str | None = None
    """The orchestrator's name, exactly as stored."""
    created_from: datetime | None = None
    created_to: datetime | None = None
    prefix: str | None = None
    """Instance ids starting with this."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.statuses) - set(RUNTIME_STATUS_NAMES))
        if unknown:
            raise ValueError(
                f"unknown runtime status {', '.join(unknown)}; valid: {', '.join(RUNTIME_STATUS_NAMES)}"
            )


@dataclass(frozen=True)
class InstanceSummary:
    """One row of the listing."""

    instance_id: str
    name: str | None
    runtime_status: str | None
    created_time: datetime | None
    last_updated_time: datetime | None
    completed_time: datetime | None


@dataclass(frozen=True)
class StatusCounts:
    """Instances per runtime status under a filter's other conditions (its statuses ignored)."""

    by_status: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    """False when the scan stopped at its limit: the counts cover the rows read."""
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(self.by_status.values()))


@dataclass(frozen=True)
class InstancePage:
    """One page of the listing and the token of the next (``None`` on the last page)."""

    instances: list[InstanceSummary]
    continuation: str | None
    counts: StatusCounts | None
    """Per status (``order="last_updated"`` only; ``None`` when paging in instance-id order)."""
    matched: int | None
    """How many instances match the whole filter (``None`` in instance-id order)."""
    truncated: bool = False
    """The scan stopped at ``scan_limit`` rows: sorting and counts cover only the rows read."""


def summary_of(row: InstanceStatus) -> InstanceSummary:
    """The listing row of an Instances row."""
    return InstanceSummary(
        instance_id=row.instance_id,
        name=row.name,
        runtime_status=row.runtime_status,
        created_time=row.created_time,
        last_updated_time=row.last_updated_time,
        completed_time=row.completed_time,
    )


def _sort_key(item: InstanceSummary) -> tuple[datetime, str]:
    return (item.last_updated_time or _EARLIEST, item.instance_id)


def encode_cursor(item: InstanceSummary) -> str:
    """The keyset token that continues after ``item`` (``k:`` + base64url JSON)."""
    when, instance_id = _sort_key(item)
    text = json.dumps({"u": when.isoformat(), "i": instance_id}, separators=(",", ":"))
    return "k:" + base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(token: str) -> tuple[datetime, str]:
    """``(last update, instance id)`` of a keyset token (ListingTokenError if it is not one)."""
    try:
        if not token.startswith("k:"):
            raise ValueError("no keyset prefix")
        data = json.loads(base64.urlsafe_b64decode(token[2:].encode()).decode())
        return parse_datetime(data["u"]), str(data["i"])
    except (ValueError, KeyError, TypeError) as err:
        raise ListingTokenError(f"invalid continuation token {token[:80]!r}: {err}") from None


def sorted_page(
    rows: list[InstanceSummary], statuses: frozenset[str], page_size: int, continuation: str | None
) -> tuple[list[InstanceSummary], str | None, StatusCounts, int]:
    """Counts per status of ``rows``, then the page of those in ``statuses`` after the cursor,
    newest update first (pure: the part of :func:`list_instances` after the scan)."""
    counts = Counter(r.runtime_status or "Unknown" for r in rows)
    chosen = [r for r in rows if not statuses or r.runtime_status in statuses]
    chosen.sort(key=_sort_key, reverse=True)
    if continuation:
        after = decode_cursor(continuation)
        chosen_after = [r for r in chosen if _sort_key(r) < after]
    else:
        chosen_after = chosen
    page = chosen_after[:page_size]
    more = len(chosen_after) > page_size
    token = encode_cursor(page[-1]) if more and page else None
    return page, token, StatusCounts(dict(sorted(counts.items()))), len(chosen)


async def list_instances(
    hub: TaskHub,
    where: InstanceFilter | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    continuation: str | None = None,
    order: Order = "last_updated",
    scan_limit: int = DEFAULT_SCAN_LIMIT,
) -> InstancePage:
    """One page of orchestration instances (entities excluded) matching ``where``.

    ``order="last_updated"``: newest update first, with counts per status, from one scan of at
    most ``scan_limit`` rows. ``order="instance_id"``: table order, one table page per call.
    Raises :class:`ListingTokenError` for a token of the other order or of nobody.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    where = where or InstanceFilter()
    if order == "instance_id":
        return await _table_page(hub, where, page_size, continuation)
    rows, more = await _query(hub, where, top=scan_limit, columns=LISTING_COLUMNS)
    page, token, counts, matched = sorted_page(
        [summary_of(r) for r in rows], where.statuses, page_size, continuation
    )
    truncated = more is not None
    if truncated:
        counts = StatusCounts(counts.by_status, complete=False)
    return InstancePage(page, token, counts, matched, truncated)


async def _query(
    hub: TaskHub,
    where: InstanceFilter,
    *,
    top: int,
    columns: tuple[str, ...],
    statuses: bool = False,
    continuation: str | None = None,
) -> tuple[list[InstanceStatus], str | None]:
    """``where`` as a table query (its statuses only with ``statuses``: else they are counted)."""
    return await hub.query_instances(
        (sorted(where.statuses) or None) if statuses else None,
        where.created_from,
        where.created_to,
        where.prefix,
        name=where.name,
        top=top,
        continuation=continuation,
        columns=columns,
    )


async def _table_page(
    hub: TaskHub, where: InstanceFilter, page_size: int, continuation: str | None
) -> InstancePage:
    if continuation is not None and not continuation.startswith("t:"):
        raise ListingTokenError(f"invalid continuation token {continuation[:80]!r} for instance-id order")
    rows, token = await _query(
        hub,
        where,
        top=page_size,
        columns=LISTING_COLUMNS,
        statuses=True,
        continuation=continuation[2:] if continuation else None,
    )
    return InstancePage(
        [summary_of(r) for r in rows], "t:" + token if token else None, counts=None, matched=None
    )


async def count_statuses(
    hub: TaskHub, where: InstanceFilter | None = None, *, scan_limit: int = DEFAULT_SCAN_LIMIT
) -> StatusCounts:
    """Instances per runtime status under ``where`` (its statuses ignored), reading one column."""
    where = where or InstanceFilter()
    rows, more = await _query(hub, where, top=scan_limit, columns=("RuntimeStatus",))
    counts = Counter(r.runtime_status or "Unknown" for r in rows)
    return StatusCounts(dict(sorted(counts.items())), complete=more is None)
