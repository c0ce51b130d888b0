"""The dashboard as a host component: its routes at ``/dashboard`` next to the app's.

Loaded by :mod:`host.runtime` for every app (after the durable component, whose management it
reads). ``--no-dashboard`` turns it off; an HTTP function whose route takes ``/dashboard`` wins,
and the host says so once. The pages (Jinja2, the durable client) are imported on the first
request, so the dashboard costs the host's start-up nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from host.http.routing import build_router
from host.indexing.registry import Registry

if TYPE_CHECKING:
    from host.runtime import HostRuntime, Service

log = logging.getLogger("host.dashboard")

DASHBOARD_PATH = "/dashboard"


def user_route_conflict(registry: Registry, route_prefix: str, path: str = DASHBOARD_PATH) -> str | None:
    """The HTTP function whose route takes ``path`` (or a page below it), if any."""
    router = build_router(registry, route_prefix)
    for probe in (path, f"{path}/instance", f"{path}/static/dashboard.css"):
        for method in ("GET", "POST"):
            found = router.match(method, probe)
            if found is not None:
                return found.route.function_name
    return None


class LazyDashboard:
    """An ASGI app that builds the dashboard's router on its first request."""

    def __init__(self, runtime: HostRuntime) -> None:
        self.runtime = runtime
        self._router: Router | None = None

    def _build(self) -> Router:
        from host.dashboard.app import dashboard_routes
        from host.dashboard.source import DashboardSource
        from host.invocation_stats import function_overview

        runtime = self.runtime
        durable = runtime.durable
        source = DashboardSource(
            durable.management if durable is not None else None,
            durable.inspector if durable is not None else None,
            functions=lambda: function_overview(runtime.registry, runtime.function_stats),
            registry=runtime.registry,
            keys=lambda: runtime.keys,
            engine=durable.engine if durable is not None else None,
            handles=durable.engine.orchestrator_handle if durable is not None else None,
            app_root=runtime.settings.script_root,
        )
        return Router(routes=dashboard_routes(source, DASHBOARD_PATH))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._router is None:
            self._router = self._build()
        await self._router(scope, receive, send)


def create_services(runtime: HostRuntime) -> list[Service]:
    """Add the dashboard's routes to ``runtime.routes`` (no service of its own)."""
    if not runtime.settings.dashboard:
        return []
    taken_by = user_route_conflict(runtime.registry, runtime.settings.route_prefix)
    if taken_by is not None:
        log.warning(
            "The dashboard is not served: function '%s' has a route at %s (it wins).",
            taken_by,
            DASHBOARD_PATH,
        )
        return []
    lazy = LazyDashboard(runtime)
    runtime.routes.extend([Route(DASHBOARD_PATH, lazy), Route(DASHBOARD_PATH + "/{rest:path}", lazy)])
    runtime.dashboard_path = DASHBOARD_PATH
    return []
