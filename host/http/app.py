"""The Starlette application of a host: admin API, component routes, then every HTTP trigger.

Order of matching: admin endpoints, the extra routes components added to ``runtime.routes``
(e.g. the durable HTTP API), then the function dispatcher, which applies the host's own route
rules (:mod:`host.http.routing`) to everything else. CORS wraps it all when origins are set;
without ``--enable-auth`` the local guard (:mod:`host.http.guard`) wraps that.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from host.http.admin import RuntimeView, admin_routes
from host.http.convert import to_response
from host.http.dispatch import FunctionDispatcher
from host.http.guard import LocalGuard

HOMEPAGE_SETTING = "AzureWebJobsDisableHomepage"


def build_app(runtime: RuntimeView, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The ASGI app serving ``runtime`` (its registry, invoker, settings and extra routes);
    ``extra_routes`` (the host's own, e.g. hot reload's admin endpoints) come after the admin API."""
    settings = runtime.settings
    registry = runtime.registry
    runtime.invoker.add_output_encoder("http", to_response)
    keys = runtime.keys
    homepage = (settings.setting(HOMEPAGE_SETTING) or "").strip().lower() != "true"
    dispatcher = FunctionDispatcher(
        registry,
        runtime.invoker,
        route_prefix=settings.route_prefix,
        keys=keys,
        homepage=homepage,
        storage_problem=lambda: runtime.storage_problem,
    )
    middleware = []
    if keys is None:
        middleware.append(
            Middleware(LocalGuard, address=settings.address, cors_origins=settings.cors_origins)
        )
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["*"],
                allow_headers=["*"],
                allow_credentials=settings.cors_credentials,
            )
        )
    app = Starlette(
        routes=[*admin_routes(runtime, keys), *extra_routes, *runtime.routes], middleware=middleware
    )
    app.router.default = dispatcher
    app.router.redirect_slashes = False  # else every trigger request re-scans the routes once more
    app.state.keys = keys
    app.state.dispatcher = dispatcher
    return app
