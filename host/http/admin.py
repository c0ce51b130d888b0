"""Admin endpoints: host status and ping, function metadata and counters, invoking any function,
the OpenAPI document of the host's HTTP API (``/admin/openapi.json``).

With ``--enable-auth`` every admin endpoint but ``/admin/host/ping`` (anonymous in Azure too)
needs the master key, ``/admin/host/status`` included.

``GET /admin/host/functions`` lists the app's functions by trigger with their invocation counts,
failures and last error since start (:mod:`host.invocation_stats`; not under ``/admin/functions/``,
where a function may be called ``stats``).

``POST /admin/functions/{name}`` with ``{"input": "<string>"}`` answers 202 at once and runs the
function in the background; the trigger value is built by a converter the trigger's component
registered (``invoker.add_trigger_converter``) or by the defaults here (queue message text, a
timer that is not past due, the raw string for everything else).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from host.config.settings import HostSettings
from host.http.auth import KeyStore, lacks_master_key
from host.http.convert import build_request
from host.http.routing import function_route, join_prefix
from host.indexing.registry import HTTP_TRIGGER, QUEUE_TRIGGER, TIMER_TRIGGER, FunctionInfo, Registry
from host.invocation_stats import function_overview
from host.json_view import json_value
from host.logs import HTTP_REASON

if TYPE_CHECKING:
    from host.invocation import Invoker
    from host.invocation_stats import InvocationStats

HOST_VERSION = "4.0.0.0"
log = logging.getLogger("host.http.admin")


class RuntimeView(Protocol):
    """What the HTTP layer reads from :class:`host.runtime.HostRuntime`."""

    settings: HostSettings
    base_url: str
    routes: list[BaseRoute]
    host_id: str

    @property
    def invoker(self) -> Invoker: ...

    @property
    def state(self) -> str:
        """``Default``, ``Initializing``, ``Running``, ``Stopping``, ``Stopped`` or ``Error``."""
        ...

    @property
    def errors(self) -> list[str]: ...

    @property
    def uptime_ms(self) -> int: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def keys(self) -> KeyStore | None:
        """The app's keys with ``--enable-auth``, else ``None``."""
        ...

    @property
    def storage_problem(self) -> str | None:
        """What is wrong with the host's storage account right now (``None`` while it answers)."""
        ...

    @property
    def function_stats(self) -> InvocationStats:
        """Invocation counters per function since start."""
        ...


async def default_trigger_value(fn: FunctionInfo, text: str, base_url: str) -> tuple[Any, dict[str, Any]]:
    """The trigger value of an admin invocation when no component registered a converter."""
    now = datetime.now(UTC)
    if fn.trigger_type == QUEUE_TRIGGER:
        msg_id = str(uuid.uuid4())
        message = QueueMessage(
            id=msg_id,
            body=text,
            dequeue_count=1,
            insertion_time=now,
            expiration_time=now + timedelta(days=7),
            time_next_visible=now,
        )
        return message, {"QueueTrigger": text, "Id": msg_id, "DequeueCount": 1}
    if fn.trigger_type == TIMER_TRIGGER:
        return TimerRequest(past_due=False, schedule_status=None, schedule={"AdjustForDST": True}), {}
    if fn.trigger_type == HTTP_TRIGGER:
        url = f"{base_url}/{function_route(fn)}"
        request = build_request("POST", url, {"content-type": "text/plain"}, {}, {}, text.encode())
        return request, {}
    return text, {}


def _metadata(fn: FunctionInfo, runtime: RuntimeView) -> dict[str, Any]:
    base = runtime.base_url
    invoke_url = None
    if fn.trigger_type == HTTP_TRIGGER:
        invoke_url = f"{base}/{join_prefix(runtime.settings.route_prefix, function_route(fn))}"
    bindings = [{"name": b.name, "type": b.type, "direction": b.direction, **b.settings} for b in fn.bindings]
    return {
        "name": fn.name,
        "script_root_path_href": f"{base}/admin/vfs/",
        "script_href": f"{base}/admin/vfs/{runtime.settings.script_file}",
        "config_href": None,
        "test_data_href": None,
        "href": f"{base}/admin/functions/{fn.name}",
        "invoke_url_template": invoke_url,
        "language": "python",
        "config": {
            "name": fn.name,
            "entryPoint": getattr(fn.func, "__name__", fn.name),
            "scriptFile": runtime.settings.script_file,
            "language": "python",
            "bindings": bindings,
        },
        "files": None,
        "test_data": "",
        "isDisabled": False,
        "isDirect": True,
        "isProxy": False,
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")


def _refused(status: int, message: str) -> Response:
    """A 4xx whose JSON body names the problem (``{"Message": ...}``, as the Durable API's)."""
    return _json({"Message": message}, status)


def _no_function(name: str) -> Response:
    return _refused(404, f"No function named {name!r} exists.")


def admin_routes(runtime: RuntimeView, keys: KeyStore | None = None) -> list[BaseRoute]:
    """Starlette routes of the admin API; with keys, all but ping need the master key (as in Azure)."""
    background: set[asyncio.Task[Any]] = set()

    def denied(request: Request) -> bool:
        return lacks_master_key(keys, request.headers, request.query_params)

    async def status(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        body: dict[str, Any] = {
            "id": runtime.host_id,
            "state": runtime.state,
            "version": HOST_VERSION,
            "versionDetails": f"{HOST_VERSION} funchost",
            "processUptime": runtime.uptime_ms,
            "functionAppContentEditingState": "NotAllowed",
        }
        errors = list(runtime.errors)
        problem = runtime.storage_problem
        if problem is not None:  # the host runs on; what it cannot do until storage is back
            body["storage"] = {"state": "Unavailable", "error": problem}
            errors.append(problem)
        if errors:
            body["errors"] = errors
        return JSONResponse(body)

    async def ping(request: Request) -> Response:
        return Response(status_code=200)

    async def functions(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        return _json([_metadata(f, runtime) for f in sorted(runtime.registry, key=lambda f: f.name.lower())])

    async def function_stats(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        return JSONResponse(json_value(function_overview(runtime.registry, runtime.function_stats)))

    async def function(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        name = request.path_params["name"]
        fn = runtime.registry.get(name)
        return _json(_metadata(fn, runtime)) if fn is not None else _no_function(name)

    async def function_status(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        name = request.path_params["name"]
        fn = runtime.registry.get(name)
        return _json({"errors": []}) if fn is not None else _no_function(name)

    async def invoke(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        name = request.path_params["name"]
        fn = runtime.registry.get(name)
        if fn is None:
            return _no_function(name)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return _refused(400, 'The body is not JSON: it must be a JSON object {"input": ...}.')
        if not isinstance(payload, dict) or "input" not in payload:
            return _refused(400, 'The body must be a JSON object {"input": ...}.')
        raw = payload["input"]
        text = raw if isinstance(raw, str) else ("" if raw is None else json.dumps(raw))
        invoker = runtime.invoker
        converter = invoker.trigger_converters.get(fn.trigger_type)
        try:
            if converter is not None:
                value, metadata = await converter(fn, text)
            else:
                value, metadata = await default_trigger_value(fn, text, runtime.base_url)
        except Exception as e:
            log.warning("Cannot invoke '%s' with input %r: %s", fn.name, text, e)
            return _refused(400, f"Cannot invoke {fn.name!r} with this input: {e}")

        async def run() -> None:
            try:
                await invoker.invoke(fn, value, trigger_metadata=metadata, reason=HTTP_REASON)
            except Exception:
                pass  # the invocation scope logged it

        task = asyncio.create_task(run())
        background.add(task)
        task.add_done_callback(background.discard)
        return Response(status_code=202)

    async def openapi(request: Request) -> Response:
        if denied(request):
            return Response(status_code=401)
        from host.openapi.document import document_text  # on request: it imports every area's types

        return Response(document_text(), media_type="application/json")

    return [
        Route("/admin/openapi.json", openapi, methods=["GET"]),
        Route("/admin/host/status", status, methods=["GET"]),
        Route("/admin/host/ping", ping, methods=["GET", "POST"]),
        Route("/admin/host/functions", function_stats, methods=["GET"]),
        Route("/admin/functions", functions, methods=["GET"]),
        Route("/admin/functions/{name}", function, methods=["GET"]),
        Route("/admin/functions/{name}", invoke, methods=["POST"]),
        Route("/admin/functions/{name}/status", function_status, methods=["GET"]),
    ]
