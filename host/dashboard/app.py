"""The dashboard's Starlette routes: server-rendered pages, live fragments, actions.

Every page is a Jinja2 template; a page's live part is the same template rendered alone
(``?fragment=1``), which the page's script fetches every few seconds and swaps in place (no
full reload). Actions are ``POST`` requests with a CSRF token that answer JSON
(``{"ok", "message", "location"}``): a missing or malformed parameter is a 400 naming it, an
unknown instance a 404, and a refusal by the instance's state a 409 with the API's message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from host.dashboard.actions import ActionRefused, instance_action, signal_entity
from host.dashboard.pages import Pages
from host.dashboard.queries import PAGE_SIZE, BadParameter, ListQuery, instance_id_param
from host.dashboard.security import CSRF_FIELD, Security
from host.dashboard.source import DashboardSource
from host.errors import DurableError, InstanceNotFoundError, StorageError

STATIC = Path(__file__).parent / "static"
MAX_FORM = 256 * 1024
"""Bytes of an action's form (an event's data included)."""
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


Handler = Callable[[Request], Awaitable[Response]]


def dashboard_routes(
    source: DashboardSource, prefix: str = "/dashboard", *, page_size: int = PAGE_SIZE
) -> list[BaseRoute]:
    """The routes of a dashboard at ``prefix`` (e.g. ``/dashboard``); ``page_size`` instances a page."""
    security = Security(source.keys, cookie_path=prefix)
    pages = Pages(source, prefix, page_size=page_size)

    def html(request: Request, template: str, code: int = 200, **context: Any) -> Response:
        body = pages.render(
            template,
            request=request,
            csrf=security.csrf_token(request),
            logged_in=security.required and security.authenticated(request),
            **context,
        )
        return HTMLResponse(body, status_code=code, headers=SECURITY_HEADERS)

    def page(handler: Callable[[Request], Awaitable[tuple[str, dict[str, Any]]]]) -> Handler:
        async def serve(request: Request) -> Response:
            if not security.authenticated(request):
                return html(request, "login.html", 401, next=request.url.path + _query(request), error="")
            try:
                template, context = await handler(request)
            except BadParameter as err:
                return html(request, "error.html", 400, message=str(err))
            except DurableError as err:
                return html(request, "error.html", 404, message=str(err))
            except StorageError as err:
                return html(request, "error.html", 503, message=_storage_problem(err))
            if request.query_params.get("fragment"):
                template = template.replace(".html", "_live.html")
            return html(request, template, **context)

        return serve

    def action(handler: Callable[[Request, dict[str, str]], Awaitable[dict[str, Any]]]) -> Handler:
        async def serve(request: Request) -> Response:
            if not security.authenticated(request):
                return _json({"ok": False, "message": "log in with the master key first"}, 401)
            form = await read_form(request)
            if form is None:
                return _json({"ok": False, "message": f"the form is larger than {MAX_FORM} bytes"}, 413)
            if not security.csrf_ok(request, form.get(CSRF_FIELD)):
                return _json(
                    {
                        "ok": False,
                        "message": "refused: the request has no valid CSRF token (reload the page)",
                    },
                    403,
                )
            if source.management is None:
                return _json({"ok": False, "message": "no task hub: this app has no durable functions"}, 409)
            try:
                return _json({"ok": True, **await handler(request, form)})
            except BadParameter as err:
                return _json({"ok": False, "message": str(err)}, 400)
            except InstanceNotFoundError as err:
                return _json({"ok": False, "message": str(err)}, 404)
            except ActionRefused as err:
                return _json({"ok": False, "message": str(err)}, 409)
            except StorageError as err:
                return _json({"ok": False, "message": _storage_problem(err)}, 503)

        return serve

    async def instances_page(request: Request) -> tuple[str, dict[str, Any]]:
        q = ListQuery.from_query(request.query_params, request.query_params.getlist("status"))
        return "instances.html", await pages.instances(q)

    async def instance_page(request: Request) -> tuple[str, dict[str, Any]]:
        return "instance.html", await pages.instance(instance_id_param(request.query_params.get("id")))

    async def entities_page(request: Request) -> tuple[str, dict[str, Any]]:
        params = request.query_params
        return "entities.html", await pages.entities(params.get("name", ""), params.get("after", ""))

    async def hub_page(request: Request) -> tuple[str, dict[str, Any]]:
        return "hub.html", await pages.hub()

    async def functions_page(request: Request) -> tuple[str, dict[str, Any]]:
        return "functions.html", await pages.functions()

    async def run_instance_action(request: Request, form: dict[str, str]) -> dict[str, Any]:
        assert source.management is not None
        instance_id = instance_id_param(form.get("id"))
        result = await instance_action(
            source.management,
            form.get("action", ""),
            instance_id,
            reason=form.get("reason", ""),
            event_name=form.get("event", ""),
            event_data=form.get("data", ""),
        )
        if source.inspector is not None and form.get("action") == "purge":
            source.inspector.listing.invalidate()  # the list must not show it from its cache
        location = pages.instance_url(result.instance_id) if result.instance_id else prefix
        return {"message": result.message, "location": location}

    async def run_signal(request: Request, form: dict[str, str]) -> dict[str, Any]:
        assert source.management is not None
        message = await signal_entity(
            source.management,
            form.get("name", ""),
            form.get("key", ""),
            form.get("operation", ""),
            form.get("input", ""),
        )
        return {"message": message}

    async def login_form(request: Request) -> Response:
        return html(request, "login.html", next=request.query_params.get("next", prefix), error="")

    async def login(request: Request) -> Response:
        form = await read_form(request) or {}
        target = form.get("next") or prefix
        if not target.startswith(prefix):
            target = prefix  # only back into the dashboard (no open redirect)
        response = RedirectResponse(target, status_code=303)
        if security.login(form.get("key", ""), response):
            return response
        return html(request, "login.html", 401, next=target, error="That is not the master key.")

    async def logout(request: Request) -> Response:
        response = RedirectResponse(prefix, status_code=303)
        security.logout(response)
        return response

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC_FILES:
            return Response(status_code=404)
        return FileResponse(
            STATIC / name, headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"}
        )

    async def root(request: Request) -> Response:
        return await page(instances_page)(request)

    return [
        Route(prefix, root, methods=["GET"]),
        Route(f"{prefix}/", root, methods=["GET"]),
        Route(f"{prefix}/instance", page(instance_page), methods=["GET"]),
        Route(f"{prefix}/instance/action", action(run_instance_action), methods=["POST"]),
        Route(f"{prefix}/entities", page(entities_page), methods=["GET"]),
        Route(f"{prefix}/entities/signal", action(run_signal), methods=["POST"]),
        Route(f"{prefix}/hub", page(hub_page), methods=["GET"]),
        Route(f"{prefix}/functions", page(functions_page), methods=["GET"]),
        Route(f"{prefix}/login", login_form, methods=["GET"]),
        Route(f"{prefix}/login", login, methods=["POST"]),
        Route(f"{prefix}/logout", logout, methods=["POST"]),
        Route(f"{prefix}/static/{{name}}", static, methods=["GET"]),
    ]


_STATIC_FILES = frozenset({"dashboard.css", "dashboard.js"})


async def read_form(request: Request) -> dict[str, str] | None:
    """The URL-encoded form of ``request`` (``None`` when larger than :data:`MAX_FORM` bytes)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _storage_problem(err: StorageError) -> str:
    return f"The task hub's storage does not answer right now ({err}); the page retries on its own."


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})
