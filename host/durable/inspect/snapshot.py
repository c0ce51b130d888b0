"""The listing's rows kept between requests, refreshed by reading only what changed.

A dashboard polls its instance list every few seconds; a full scan of 10,000 rows each time would
keep a core busy. :class:`ListingCache` keeps the rows of each filter (statuses aside) and, on the
next request, reads only the rows whose ``LastUpdatedTime`` is at or after the newest it has seen
(minus ``overlap`` for the clocks of other hosts): every status change, start, rewind and
termination rewrites that column, so what changed comes back and replaces its old copy. Purged
instances do not come back, and a host whose clock is further behind than ``overlap`` is not
seen: a full scan every ``full_every`` seconds (and :meth:`ListingCache.invalidate`, after a
purge) puts both right.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from host.durable.inspect.instances import SCAN_SELECT, InstanceFilter, scan_rows, sort_key, table_filter
from host.durable.taskhub.hub import TaskHub
from host.storage.interface import Row, all_of, ge

FULL_EVERY = 30.0
"""Seconds after which a cached listing is read in full again."""
OVERLAP = timedelta(seconds=30)
MAX_FILTERS = 4
"""Filters whose rows are kept (the least recently used goes first: about 10 MB per 10,000 rows)."""


@dataclass
class _Rows:
    by_key: dict[str, Row]
    newest: datetime | None
    full_at: float
    truncated: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _newest(rows: Sequence[Row]) -> datetime | None:
    stamps = [sort_key(r)[0] for r in rows if r.get("LastUpdatedTime") is not None]
    return max(stamps) if stamps else None


class ListingCache:
    """Rows of recent listings of one hub (a :data:`~host.durable.inspect.instances.ListingRows`)."""

    def __init__(
        self,
        hub: TaskHub,
        *,
        full_every: float = FULL_EVERY,
        overlap: timedelta = OVERLAP,
        max_filters: int = MAX_FILTERS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub = hub
        self.full_every = full_every
        self.overlap = overlap
        self.max_filters = max_filters
        self.monotonic = monotonic
        self._cached: OrderedDict[tuple[object, ...], _Rows] = OrderedDict()

    def invalidate(self) -> None:
        """Forget every cached listing (the next request scans in full)."""
        self._cached.clear()

    async def __call__(self, where: InstanceFilter, scan_limit: int) -> tuple[list[Row], bool]:
        """The rows of ``where`` (statuses aside) and whether they stop at ``scan_limit``."""
        key = (where.name, where.created_from, where.created_to, where.prefix, scan_limit)
        cached = self._cached.get(key)
        if cached is None:
            cached = self._cached[key] = _Rows({}, None, float("-inf"), False)
            while len(self._cached) > self.max_filters:
                self._cached.popitem(last=False)
        self._cached.move_to_end(key)
        async with cached.lock:  # concurrent requests share one refresh
            await self._refresh(cached, where, scan_limit)
            return list(cached.by_key.values()), cached.truncated

    async def _refresh(self, cached: _Rows, where: InstanceFilter, scan_limit: int) -> None:
        now = self.monotonic()
        stale = now - cached.full_at >= self.full_every
        if stale or cached.truncated or cached.newest is None:
            rows, cached.truncated = await scan_rows(self.hub, where, scan_limit)
            cached.by_key = {r.partition_key: r for r in rows}
            cached.newest, cached.full_at = _newest(rows), now
            return
        since = min(cached.newest, self.hub.now()) - self.overlap
        changed, _ = await self.hub.query_instance_rows(
            all_of(table_filter(where), ge("LastUpdatedTime", since)), SCAN_SELECT
        )
        for row in changed:
            cached.by_key[row.partition_key] = row
        newest = _newest(changed)
        if newest is not None and newest > cached.newest:
            cached.newest = newest
        if len(cached.by_key) > scan_limit:
            cached.full_at = float("-inf")  # past the limit: the next request scans (and truncates)
