"""The data and rendering of each dashboard page (templates are package data under ``templates/``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from host.dashboard.format import FILTERS
from host.dashboard.queries import STATUSES, InstanceFilter, InstancePage, list_entities, list_instances
from host.dashboard.source import DashboardSource
from host.dashboard.timeline import bars, build_timeline
from host.durable.entities.ids import EntityId
from host.durable.instance_report import instance_report
from host.durable.replay.waiting import WaitState
from host.durable.taskhub.rows import EVENT_TYPE_NAMES
from host.errors import InstanceNotFoundError

NAV: tuple[tuple[str, str], ...] = (
    ("", "Instances"),
    ("/entities", "Entities"),
    ("/hub", "Task hub"),
    ("/functions", "Functions"),
)


class Pages:
    """Renders the dashboard's templates with what :class:`DashboardSource` reads."""

    def __init__(self, source: DashboardSource, prefix: str) -> None:
        self.source = source
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
            event_type=lambda n: (
                EVENT_TYPE_NAMES[n] if isinstance(n, int) and 0 <= n < len(EVENT_TYPE_NAMES) else str(n)
            ),
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

    async def instances(self, f: InstanceFilter) -> InstancePage | None:
        """One page of the instance list (``None`` without a task hub)."""
        management = self.source.management
        return await list_instances(management, f) if management is not None else None

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
        return {
            "status": report.status,
            "rows": list(zip(timeline, bars(timeline, now), strict=True)),
            "history": report.history,
            "waiting": waiting,
            "now": now,
        }

    async def entities(self, name: str) -> dict[str, Any]:
        """Every entity (of one name, when given) with its state."""
        management = self.source.management
        rows = await list_entities(management, name or None) if management is not None else []
        return {"entities": rows, "name": name}

    async def hub(self) -> dict[str, Any]:
        """The task hub's layout (partitions, queues)."""
        management = self.source.management
        names = management.hub.names if management is not None else None
        return {"names": names, "host_id": self.source.host_id}

    async def functions(self) -> dict[str, Any]:
        """The app's functions by trigger."""
        registry = self.source.registry
        functions = (
            sorted(registry, key=lambda f: (f.trigger_type, f.name.lower())) if registry is not None else []
        )
        return {"functions": functions}
