"""The instance listing of a task hub: filters, counts per status, pages sorted by last update.

The Instances table is keyed by instance id and Azure Tables cannot sort, so "most recently
updated first" needs every matching row. :func:`list_instances` reads them in one bounded scan
(the filters go to the table service, ``$select`` keeps only the listing columns: about 0.2 s
for 10,000 instances on Azurite), counts the statuses from the same raw rows, sorts them and
converts only the page after the continuation token. The token is a keyset cursor (last update,
key), so the next page is whatever sorts after the last row shown, even when instances were
added meanwhile (an instance updated between two pages moves to the top: it may be missed or
shown twice, as in any live listing). ``LastUpdatedTime`` is the last change of status or custom
status (the engine does not rewrite the row for every history write).

Past ``scan_limit`` rows the listing is marked ``truncated`` (sorted and counted among the rows
read); ``order="instance_id"`` pages through the table itself with its own continuation tokens
instead (any size, no counts).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, TypeVar

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.instances import instance_filter
from host.durable.taskhub.rows import RUNTIME_STATUS_NAMES, InstanceStatus, parse_datetime, row_to_instance
from host.errors import DurableError
from host.storage.interface import Filter, Row

DEFAULT_PAGE_SIZE = 50
DEFAULT_SCAN_LIMIT = 25_000
"""Rows one sorted listing reads at most (about half a second on Azurite)."""
LISTING_COLUMNS: tuple[str, ...] = (
    "Name",
    "RuntimeStatus",
    "CreatedTime",
    "LastUpdatedTime",
    "CompletedTime",
    "Version",
)
"""The Instances columns a listing reads (never Input, Output or CustomStatus)."""
SCAN_SELECT: tuple[str, ...] = ("PartitionKey", "RowKey", *LISTING_COLUMNS)

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
    version: str | None = None
    """The orchestration version (``None`` when it has none: unversioned instances store "")."""


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
        version=row.version or None,
    )


SortKey = tuple[datetime, str]
"""``(LastUpdatedTime, PartitionKey)`` of a row: the listing shows the largest first."""


def sort_key(row: Mapping[str, Any]) -> SortKey:
    """Where an Instances row sorts (rows without a last update last)."""
    when = row.get("LastUpdatedTime")
    return (parse_datetime(when) if when is not None else _EARLIEST, str(row["PartitionKey"]))


def encode_cursor(key: SortKey) -> str:
    """The keyset token that continues after the row at ``key`` (``k:`` + base64url JSON)."""
    text = json.dumps({"u": key[0].isoformat(), "k": key[1]}, separators=(",", ":"))
    return "k:" + base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(token: str) -> SortKey:
    """The sort key of a keyset token (ListingTokenError if it is not one)."""
    try:
        if not token.startswith("k:"):
            raise ValueError("no keyset prefix")
        data = json.loads(base64.urlsafe_b64decode(token[2:].encode()).decode())
        return parse_datetime(data["u"]), str(data["k"])
    except (ValueError, KeyError, TypeError) as err:
        raise ListingTokenError(f"invalid continuation token {token[:80]!r}: {err}") from None


R = TypeVar("R", bound=Mapping[str, Any])


def sorted_page(
    rows: Sequence[R], statuses: frozenset[str], page_size: int, continuation: str | None
) -> tuple[list[R], str | None, StatusCounts, int]:
    """Counts per status of ``rows``, then the page of those in ``statuses`` after the cursor,
    newest update first, and how many are in ``statuses`` (pure: :func:`list_instances` after
    its scan; only the page's rows are ever converted)."""
    counts = Counter(str(r.get("RuntimeStatus") or "Unknown") for r in rows)
    keyed = [(sort_key(r), r) for r in rows if not statuses or r.get("RuntimeStatus") in statuses]
    matched = len(keyed)
    if continuation:
        after = decode_cursor(continuation)
        keyed = [pair for pair in keyed if pair[0] < after]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    page = keyed[:page_size]
    token = encode_cursor(page[-1][0]) if len(keyed) > page_size else None
    return [r for _, r in page], token, StatusCounts(dict(sorted(counts.items()))), matched


def table_filter(where: InstanceFilter) -> Filter | None:
    """The table filter of everything in ``where`` but its statuses (those are counted)."""
    return instance_filter(None, where.created_from, where.created_to, where.prefix, name=where.name)


async def scan_rows(hub: TaskHub, where: InstanceFilter, scan_limit: int) -> tuple[list[Row], bool]:
    """The listing columns of every row ``where`` selects (statuses aside), up to ``scan_limit``,
    and whether the scan stopped there."""
    rows, more = await hub.query_instance_rows(table_filter(where), SCAN_SELECT, top=scan_limit)
    return rows, more is not None


ListingRows = Callable[[InstanceFilter, int], Awaitable[tuple[Sequence[Row], bool]]]
"""Where a sorted listing gets its rows: ``(where, scan_limit) -> (rows, truncated)``
(:func:`scan_rows`, or a cache of it such as :class:`host.durable.inspect.snapshot.ListingCache`)."""


async def list_instances(
    hub: TaskHub,
    where: InstanceFilter | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    continuation: str | None = None,
    order: Order = "last_updated",
    scan_limit: int = DEFAULT_SCAN_LIMIT,
    source: ListingRows | None = None,
) -> InstancePage:
    """One page of orchestration instances (entities excluded) matching ``where``.

    ``order="last_updated"``: newest update first, with counts per status, from one scan of at
    most ``scan_limit`` rows (``source``: where the rows come from; default a fresh scan).
    ``order="instance_id"``: table order, one table page per call. Raises
    :class:`ListingTokenError` for a token of the other order or of nobody.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    where = where or InstanceFilter()
    if order == "instance_id":
        return await _table_page(hub, where, page_size, continuation)
    rows, truncated = await (source or partial(scan_rows, hub))(where, scan_limit)
    page, token, counts, matched = sorted_page(rows, where.statuses, page_size, continuation)
    if truncated:
        counts = StatusCounts(counts.by_status, complete=False)
    return InstancePage([summary_of(row_to_instance(r)) for r in page], token, counts, matched, truncated)


async def _table_page(
    hub: TaskHub, where: InstanceFilter, page_size: int, continuation: str | None
) -> InstancePage:
    if continuation is not None and not continuation.startswith("t:"):
        raise ListingTokenError(f"invalid continuation token {continuation[:80]!r} for instance-id order")
    try:
        rows, token = await hub.query_instances(
            sorted(where.statuses) or None,
            where.created_from,
            where.created_to,
            where.prefix,
            name=where.name,
            top=page_size,
            continuation=continuation[2:] if continuation else None,
            columns=LISTING_COLUMNS,
        )
    except ValueError as err:  # the storage layer's word for a token it never handed out
        if continuation:
            raise ListingTokenError(f"invalid continuation token {continuation[:80]!r}") from err
        raise
    return InstancePage(
        [summary_of(r) for r in rows], "t:" + token if token else None, counts=None, matched=None
    )


async def count_statuses(
    hub: TaskHub, where: InstanceFilter | None = None, *, scan_limit: int = DEFAULT_SCAN_LIMIT
) -> StatusCounts:
    """Instances per runtime status under ``where`` (its statuses ignored), reading one column."""
    where = where or InstanceFilter()
    rows, more = await hub.query_instance_rows(table_filter(where), ("RuntimeStatus",), top=scan_limit)
    counts = Counter(str(r.get("RuntimeStatus") or "Unknown") for r in rows)
    return StatusCounts(dict(sorted(counts.items())), complete=more is None)
