"""The data and rendering of each dashboard page (templates are package data under ``templates/``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from host.dashboard.format import FILTERS
from host.dashboard.queries import PAGE_SIZE, STATUSES, BadFilter, Listing, ListQuery, list_instances
from host.dashboard.source import DashboardSource
from host.dashboard.timeline import bars, build_timeline
from host.durable.api.payloads import event_type_name
from host.durable.entities.ids import EntityId
from host.durable.inspect.instances import ListingTokenError
from host.durable.instance_report import instance_report
from host.durable.replay.history import find_execution_started, parent_instance_id
from host.durable.replay.waiting import WaitState
from host.errors import InstanceNotFoundError
from host.indexing.registry import ORCHESTRATION_TRIGGER

NAV: tuple[tuple[str, str], ...] = (
    ("", "Instances"),
    ("/entities", "Entities"),
    ("/hub", "Task hub"),
    ("/functions", "Functions"),
)


class Pages:
    """Renders the dashboard's templates with what :class:`DashboardSource` reads."""

    def __init__(self, source: DashboardSource, prefix: str, *, page_size: int = PAGE_SIZE) -> None:
        self.source = source
        self.page_size = page_size
        self.prefix = prefix
        self.env = Environment(
            loader=PackageLoader("host.dashboard", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)
        self.env.globals.update(
            prefix=prefix,
            nav=NAV,
            statuses=STATUSES,
            instance_url=self.instance_url,
            entity_url=self.entity_url,
            event_type=event_type_name,
        )

    def render(self, template: str, **context: Any) -> str:
        """The HTML of ``template`` with the page's common context."""
        management = self.source.management
        return self.env.get_template(template).render(
            hub=management.task_hub if management is not None else None,
            standalone=self.source.standalone,
            **context,
        )

    def instance_url(self, instance_id: str) -> str:
        """The page of one instance."""
        return f"{self.prefix}/instance?{urlencode({'id': instance_id})}"

    def entity_url(self, entity: EntityId) -> str:
        """The entity list filtered to one entity's name, anchored at it."""
        return f"{self.prefix}/entities?{urlencode({'name': entity.name})}"

    async def instances(self, q: ListQuery) -> dict[str, Any]:
        """One page of the instance list (``None`` without a task hub) and the orchestrator names."""
        inspector = self.source.inspector
        listing: Listing | None = (
            await list_instances(inspector, q, self.page_size) if inspector is not None else None
        )
        registry = self.source.registry
        names = (
            sorted(f.name for f in registry if f.trigger_type == ORCHESTRATION_TRIGGER) if registry else []
        )
        return {"listing": listing, "q": q, "orchestrators": names}

    async def instance(self, instance_id: str) -> dict[str, Any]:
        """Status, timeline and raw history of one instance."""
        management = self.source.management
        if management is None:
            raise InstanceNotFoundError("this app has no durable functions: there is no task hub to read")
        source = self.source
        report = await instance_report(
            management, instance_id, engine=source.engine, handles=source.handles, app_root=source.app_root
        )
        timeline = build_timeline(report.history)
        now = management.hub.now()
        waiting = report.waiting if report.waiting.state != WaitState.FINISHED else None
        started = find_execution_started(report.history)
        return {
            "parent": parent_instance_id(started) if started is not None else None,
            "status": report.status,
            "rows": list(zip(timeline, bars(timeline, now), strict=True)),
            "history": report.history,
            "waiting": waiting,
            "now": now,
        }

    async def entities(self, name: str, after: str = "") -> dict[str, Any]:
        """A page of entities (of one name, when given) with their state, and the next page's link."""
        inspector = self.source.inspector
        if inspector is None:
            return {"entities": [], "name": name, "after": after, "next_query": None}
        try:
            listing = await inspector.list_entities(name or None, continuation=after or None)
        except ListingTokenError:
            raise BadFilter("this page's link is out of date: start over from the first page") from None
        token = listing.continuation
        next_query = urlencode({"name": name, "after": token}) if token else None
        return {"entities": listing.entities, "name": name, "after": after, "next_query": next_query}

    async def hub(self) -> dict[str, Any]:
        """Partitions and their owners, hosts, queue depths, poison messages, stuck instances."""
        inspector = self.source.inspector
        if inspector is None:
            return {"health": None, "this_host": None}
        return {"health": await inspector.health(), "this_host": inspector.this_host}

    async def functions(self) -> dict[str, Any]:
        """The app's functions by trigger with their invocations, failures and last error."""
        overview = self.source.functions() if self.source.functions is not None else None
        return {"overview": overview}
