"""Task hub health: partition leases and their hosts, queue depths, stuck instances.

Everything is read from storage, so it works for any hub (this host's or another's):

* partitions from the ``{Hub}Partitions`` table (owner, lease renewal, expiry, hand-over);
* queues: the approximate length of each control queue, the work-item queue and the poison
  queue, and the age of the oldest *visible* message (a peek; messages a host holds locked or
  that wait for a timer are counted in the length but not seen by a peek);
* stuck instances: ``Running`` with no history write for longer than a threshold. The Instances
  row is only rewritten when the status changes, so its ``LastUpdatedTime`` only preselects
  (server-side) and the history sentinel's checkpoint time decides. Entities (also ``Running``
  rows) are left out: waiting for the next operation is their normal state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.instances import instance_filter
from host.durable.taskhub.poison import PoisonRecord
from host.durable.taskhub.rows import parse_datetime, row_to_instance
from host.errors import NotFoundError
from host.storage.interface import Row, all_of, eq, lt

DEFAULT_STUCK_AFTER = timedelta(minutes=5)
MAX_STUCK = 100
"""Stuck instances a report lists at most (their history sentinels are read one by one)."""
POISON_SHOWN = 10

QueueKind = Literal["control", "workitem", "poison"]


@dataclass(frozen=True)
class PartitionLease:
    """One control-queue partition and its lease."""

    index: int
    queue: str
    owner: str | None
    """The host (worker id) holding the lease; ``None`` when free or expired."""
    next_owner: str | None
    """A host that asked for it (a hand-over in progress)."""
    owned_since: datetime | None
    last_renewal: datetime | None
    expires_at: datetime | None
    lease_age: timedelta | None
    """Time since the last renewal (a live owner renews every few seconds)."""
    expired: bool
    draining: bool


@dataclass(frozen=True)
class HubHost:
    """A host sharing the hub, as the partition leases show it."""

    worker_id: str
    partitions: tuple[int, ...]
    last_renewal: datetime | None
    is_this_host: bool


@dataclass(frozen=True)
class QueueDepth:
    """One queue of the hub."""

    name: str
    kind: QueueKind
    partition: int | None
    exists: bool
    length: int
    """Approximate message count (visible or not)."""
    oldest_age: timedelta | None
    """Age of the oldest visible message (``None`` when none is visible)."""


@dataclass(frozen=True)
class StuckInstance:
    """A Running instance whose history has not been written for longer than the threshold."""

    instance_id: str
    name: str | None
    last_updated_time: datetime | None
    last_history_write: datetime | None
    idle: timedelta


@dataclass(frozen=True)
class StuckReport:
    """Running instances without a history write for ``threshold`` or longer (longest idle first)."""

    threshold: timedelta
    instances: list[StuckInstance]
    truncated: bool
    """More candidates than :data:`MAX_STUCK` were found; only the first were checked."""


@dataclass(frozen=True)
class HubHealth:
    """The state of one task hub at ``checked_at``."""

    hub: str
    checked_at: datetime
    partitions: list[PartitionLease]
    hosts: list[HubHost]
    queues: list[QueueDepth]
    poison: list[PoisonRecord]
    """The oldest quarantined messages (at most :data:`POISON_SHOWN`)."""
    stuck: StuckReport


def _time(row: Row, column: str) -> datetime | None:
    value = row.get(column)
    return parse_datetime(value) if value is not None else None


def lease_of(index: int, queue: str, row: Row | None, now: datetime) -> PartitionLease:
    """The lease of partition ``index`` from its Partitions row (``None``: no row yet)."""
    if row is None:
        return PartitionLease(index, queue, None, None, None, None, None, None, False, False)
    expires = _time(row, "ExpiresAt")
    renewed = _time(row, "LastRenewal")
    expired = expires is not None and now >= expires
    owner = row.get("CurrentOwner") or None
    return PartitionLease(
        index=index,
        queue=queue,
        owner=None if expired else owner,
        next_owner=row.get("NextOwner") or None,
        owned_since=_time(row, "OwnedSince"),
        last_renewal=renewed,
        expires_at=expires,
        lease_age=now - renewed if renewed is not None and owner else None,
        expired=expired and owner is not None,
        draining=bool(row.get("IsDraining")),
    )


def hosts_of(leases: list[PartitionLease], this_host: str | None) -> list[HubHost]:
    """The hosts holding (or asking for) partitions, with what they hold."""
    held: dict[str, list[PartitionLease]] = {}
    for lease in leases:
        if lease.owner:
            held.setdefault(lease.owner, []).append(lease)
        if lease.next_owner:
            held.setdefault(lease.next_owner, [])
    hosts = []
    for worker, owned in sorted(held.items()):
        renewals = [x.last_renewal for x in owned if x.last_renewal is not None]
        hosts.append(
            HubHost(
                worker,
                tuple(x.index for x in owned),
                max(renewals) if renewals else None,
                worker == this_host,
            )
        )
    return hosts


async def partition_leases(hub: TaskHub) -> list[PartitionLease]:
    """Every partition of the hub with its lease (one query of the Partitions table)."""
    names = hub.names
    try:
        rows = {
            r.row_key: r async for r in hub.storage.iter_rows(names.partitions_table, eq("PartitionKey", ""))
        }
    except NotFoundError:
        rows = {}
    now = hub.now()
    return [lease_of(i, q, rows.get(q), now) for i, q in enumerate(names.control_queues)]


async def queue_depth(hub: TaskHub, name: str, kind: QueueKind, partition: int | None = None) -> QueueDepth:
    """Length and oldest visible message age of one queue (two requests)."""
    try:
        length, peeked = await asyncio.gather(
            hub.storage.queue_length(name), hub.storage.peek_messages(name, max_messages=1)
        )
    except NotFoundError:
        return QueueDepth(name, kind, partition, False, 0, None)
    oldest = min((m.inserted_on for m in peeked), default=None)
    age = max(hub.now() - oldest, timedelta(0)) if oldest is not None else None
    return QueueDepth(name, kind, partition, True, length, age)


async def queue_depths(hub: TaskHub) -> list[QueueDepth]:
    """Every control queue, the work-item queue and the poison queue."""
    names = hub.names
    return list(
        await asyncio.gather(
            *(queue_depth(hub, q, "control", i) for i, q in enumerate(names.control_queues)),
            queue_depth(hub, names.workitem_queue, "workitem"),
            queue_depth(hub, names.poison_queue, "poison"),
        )
    )


async def stuck_instances(
    hub: TaskHub, threshold: timedelta = DEFAULT_STUCK_AFTER, *, limit: int = MAX_STUCK
) -> StuckReport:
    """Running instances without a history write for longer than ``threshold``, longest idle first."""
    now = hub.now()
    cutoff = now - threshold
    where = all_of(instance_filter(["Running"]), lt("LastUpdatedTime", cutoff))  # no entities
    candidates: list[Row] = []
    truncated = False
    async for row in hub.storage.iter_rows(
        hub.names.instances_table, where, select=("PartitionKey", "RowKey", "Name", "LastUpdatedTime")
    ):
        if len(candidates) >= limit:
            truncated = True
            break
        candidates.append(row)
    statuses = [row_to_instance(r) for r in candidates]
    gate = asyncio.Semaphore(16)

    async def written(instance_id: str) -> datetime | None:
        async with gate:
            return await hub.last_checkpoint_time(instance_id)

    writes = await asyncio.gather(*(written(s.instance_id) for s in statuses))
    stuck = []
    for status, wrote in zip(statuses, writes, strict=True):
        last = wrote or status.last_updated_time
        if last is None or last < cutoff:
            idle = now - last if last is not None else now - cutoff
            stuck.append(
                StuckInstance(status.instance_id, status.name, status.last_updated_time, wrote, idle)
            )
    stuck.sort(key=lambda s: s.idle, reverse=True)
    return StuckReport(threshold, stuck, truncated)


async def hub_health(
    hub: TaskHub, *, stuck_after: timedelta = DEFAULT_STUCK_AFTER, this_host: str | None = None
) -> HubHealth:
    """Partitions, hosts, queues, quarantined messages and stuck instances of ``hub``.

    ``this_host``: the worker id of the host asking (its entry in ``hosts`` is marked).
    """
    leases, queues, poison, stuck = await asyncio.gather(
        partition_leases(hub),
        queue_depths(hub),
        hub.peek_poison(POISON_SHOWN),
        stuck_instances(hub, stuck_after),
    )
    return HubHealth(
        hub=hub.names.hub,
        checked_at=hub.now(),
        partitions=leases,
        hosts=hosts_of(leases, this_host),
        queues=queues,
        poison=poison,
        stuck=stuck,
    )
