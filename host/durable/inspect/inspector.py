"""One task hub as the dashboard and the admin endpoints read it.

:class:`HubInspector` binds the read-only views of :mod:`host.durable.inspect` to one
:class:`TaskHub`. A host with an app gets it from its durable service
(``runtime.durable.inspector``: its own hub, its worker id marked in the hub's hosts); a
standalone dashboard builds one over the hub of ``direct_management(connection, hub)``
(:mod:`host.durable.api.resolver`), with no app at all.
"""

from __future__ import annotations

from datetime import timedelta

from host.durable.entities.ids import EntityId
from host.durable.inspect.entities import DEFAULT_ENTITY_PAGE, EntityListing, EntitySummary
from host.durable.inspect.entities import get_entity as _get_entity
from host.durable.inspect.entities import list_entities as _list_entities
from host.durable.inspect.health import DEFAULT_STUCK_AFTER, HubHealth, StuckReport, hub_health
from host.durable.inspect.health import stuck_instances as _stuck_instances
from host.durable.inspect.instances import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_SCAN_LIMIT,
    InstanceFilter,
    InstancePage,
    Order,
    StatusCounts,
    count_statuses,
)
from host.durable.inspect.instances import list_instances as _list_instances
from host.durable.inspect.snapshot import ListingCache
from host.durable.taskhub.hub import TaskHub


class HubInspector:
    """Read-only views of one task hub (instances, entities, health)."""

    def __init__(self, hub: TaskHub, *, this_host: str | None = None) -> None:
        self.hub = hub
        self.this_host = this_host
        """The worker id of the host serving the views (``None`` for a standalone dashboard)."""
        self.listing = ListingCache(hub)
        """Rows of recent listings, refreshed with only what changed (a dashboard polls)."""

    @property
    def hub_name(self) -> str:
        """The task hub these views read."""
        return self.hub.names.hub

    async def list_instances(
        self,
        where: InstanceFilter | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        continuation: str | None = None,
        order: Order = "last_updated",
        scan_limit: int = DEFAULT_SCAN_LIMIT,
    ) -> InstancePage:
        """A page of orchestration instances (see :func:`host.durable.inspect.instances.list_instances`;
        the rows come from :attr:`listing`: call ``listing.invalidate()`` after purging)."""
        return await _list_instances(
            self.hub,
            where,
            page_size=page_size,
            continuation=continuation,
            order=order,
            scan_limit=scan_limit,
            source=self.listing,
        )

    async def status_counts(self, where: InstanceFilter | None = None) -> StatusCounts:
        """Instances per runtime status (reads one column of each row)."""
        return await count_statuses(self.hub, where)

    async def list_entities(
        self,
        name: str | None = None,
        *,
        page_size: int = DEFAULT_ENTITY_PAGE,
        continuation: str | None = None,
        include_deleted: bool = False,
    ) -> EntityListing:
        """A page of entities of ``name`` (all when ``None``) with their state."""
        return await _list_entities(
            self.hub, name, page_size=page_size, continuation=continuation, include_deleted=include_deleted
        )

    async def get_entity(self, entity: EntityId) -> EntitySummary | None:
        """One entity with its state (``None`` when unknown)."""
        return await _get_entity(self.hub, entity)

    async def health(self, *, stuck_after: timedelta = DEFAULT_STUCK_AFTER) -> HubHealth:
        """Partitions and hosts, queue depths, poison messages and stuck instances."""
        return await hub_health(self.hub, stuck_after=stuck_after, this_host=self.this_host)

    async def stuck_instances(self, threshold: timedelta = DEFAULT_STUCK_AFTER) -> StuckReport:
        """Running instances without a history write for longer than ``threshold``."""
        return await _stuck_instances(self.hub, threshold)
