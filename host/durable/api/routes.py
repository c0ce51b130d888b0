"""The Durable Functions HTTP API: ``/runtime/webhooks/durabletask/…`` and the RPC base.

One dispatcher serves both the public webhook path and ``/durabletask/`` (the ``rpcBaseUrl``
the SDK's client calls), as the extension's ``HttpApiHandler`` does. The RPC base may name a
hub and connection (``/durabletask/hubs/{hub}/{connection}/…``) for bindings with
``task_hub``/``connection_name``; ``taskHub``/``connection`` query parameters work everywhere.
Unknown routes get a 404 listing the valid routes and the registered orchestrators.

With ``--enable-auth`` both bases need the ``durabletask_extension`` system key or the master key
(``x-functions-key`` or ``code=``; 401 otherwise). The SDK appends nothing to ``rpcBaseUrl``, so
the binding's RPC base carries the key as a path segment: ``/durabletask/code/{key}/…``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from host.durable.api import entities as api_entities
from host.durable.api import instances as api_instances
from host.durable.api.backend import BackendResolver, TaskHubNotFoundError
from host.durable.api.instances import Target
from host.durable.api.limits import (
    BodyStalledError,
    BodyTooLargeError,
    bounded_receive,
    check_entity_instance_id,
    check_instance_id_length,
    check_name,
    too_large_message,
)
from host.durable.api.parsing import (
    BadRequest,
    Query,
    argument_error,
    error_response,
    json_response,
    server_error,
)
from host.durable.api.payloads import RPC_KEY_SEGMENT, RPC_PATH, WEBHOOK_PATH
from host.durable.entities.ids import is_entity_instance_id
from host.durable.management import Management
from host.errors import (
    DurableError,
    HostError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InvalidInstanceStateError,
    StorageBusyError,
    StorageUnreachableError,
)
from host.http.auth import DURABLE_SYSTEM_KEY, KeyStore, provided_key
from host.http.limits import BODY_IDLE_TIMEOUT, MAX_BODY
from host.indexing.registry import ENTITY_TRIGGER, ORCHESTRATION_TRIGGER, Registry

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.types import ASGIApp, Receive, Scope, Send

    from host.durable.replay.source import OrchestratorHandle
    from host.runtime import HostRuntime
    from host.storage.connection import StorageAccount

log = logging.getLogger("host.durable.api")

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "orchestrators/{functionName}[/{instanceId}]"),
    ("GET", "instances/{instanceId}?showHistory&showHistoryOutput&showInput"),
    ("DELETE", "instances/{instanceId}"),
    ("GET", "instances/?runtimeStatus&createdTimeFrom&createdTimeTo&instanceIdPrefix&top"),
    ("DELETE", "instances/?createdTimeFrom&createdTimeTo&runtimeStatus"),
    ("POST", "instances/{instanceId}/raiseEvent/{eventName}"),
    ("POST", "instances/{instanceId}/terminate?reason"),
    ("POST", "instances/{instanceId}/suspend?reason"),
    ("POST", "instances/{instanceId}/resume?reason"),
    ("POST", "instances/{instanceId}/rewind?reason"),
    ("POST", "instances/{instanceId}/restart?restartWithNewInstanceId"),
    ("GET", "entities/{entityName}/{entityKey}"),
    ("POST", "entities/{entityName}/{entityKey}?op"),
    ("DELETE", "entities/{entityName}/{entityKey}"),
    ("GET", "entities/[{entityName}]?fetchState&top&lastOperationTimeFrom&lastOperationTimeTo"),
)
_OPERATIONS = ("terminate", "suspend", "resume", "rewind")


class DurableApi:
    """The ASGI endpoint behind both base paths."""

    def __init__(
        self,
        registry: Callable[[], Registry | None],
        resolver: BackendResolver,
        *,
        keys: KeyStore | None = None,
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_IDLE_TIMEOUT,
    ) -> None:
        self._registry = registry
        self._resolver = resolver
        self._keys = keys
        self._code = keys.system_key(DURABLE_SYSTEM_KEY) if keys is not None else None
        self._max_body = max_body
        self._body_timeout = body_timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self._max_body:
            response = error_response(413, too_large_message(self._max_body))
        else:
            request = Request(scope, bounded_receive(receive, self._max_body, self._body_timeout))
            response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Route one request; every failure becomes the extension's status code and a JSON body."""
        base, parts = _split(request)
        path_key = None
        if base == RPC_PATH and len(parts) >= 2 and parts[0] == RPC_KEY_SEGMENT:
            path_key, parts = parts[1], parts[2:]
        if self._keys is not None and not self._keys.is_system(
            path_key or provided_key(request.headers, request.query_params), DURABLE_SYSTEM_KEY
        ):
            return Response(status_code=401)
        shown = "/".join([base, *parts])  # never the key
        try:
            return await self._dispatch(request, base, parts, shown)
        except BadRequest as e:
            return argument_error(str(e))
        except BodyTooLargeError as e:
            return error_response(413, str(e))
        except BodyStalledError as e:
            return error_response(408, str(e))
        except (InstanceNotFoundError, TaskHubNotFoundError) as e:
            return error_response(404, str(e))
        except InstanceAlreadyExistsError as e:
            return server_error(str(e))
        except InvalidInstanceStateError as e:
            return error_response(410, str(e))
        except (StorageUnreachableError, StorageBusyError) as e:  # an outage: the client may retry
            return error_response(503, f"Storage unavailable: {e}", str(e), "System.Exception")
        except (DurableError, HostError) as e:
            return server_error(str(e), "System.Exception")
        except Exception as e:  # the extension answers 500 for any other exception
            log.exception("durable HTTP API %s %s failed", request.method, shown)
            return server_error(f"{type(e).__name__}: {e}", "System.Exception")

    async def _dispatch(self, request: Request, base: str, parts: list[str], shown: str) -> Response:
        hub: str | None = None
        connection: str | None = None
        if base == RPC_PATH and len(parts) >= 3 and parts[0] == "hubs":
            hub = None if parts[1] == "-" else parts[1]
            connection = None if parts[2] == "-" else parts[2]
            parts = parts[3:]
        q = Query(request)
        hub = q.get("taskHub") or hub
        connection = q.get("connection") or q.get("connectionName") or connection
        method = request.method
        head = parts[0] if parts else ""
        if head == "makeprimary":
            return json_response(None, 200)
        handler = self._match(method, head, parts)
        if handler is None:
            return self._not_found(request, shown)
        if method != "GET":
            await request.body()  # read (bounded) before any storage is touched; handlers get it cached
        creates = method == "POST" and head in ("orchestrators", "entities")
        management = await self._resolver(hub, connection, create=creates)
        target = Target(
            management,
            f"{request.url.scheme}://{request.url.netloc}",
            connection,
            self._code,
            public=base == WEBHOOK_PATH,
        )
        response: Response = await handler(request, target)
        return response

    def _match(self, method: str, head: str, parts: list[str]) -> Callable[[Request, Target], Any] | None:
        n = len(parts)
        if head == "orchestrators" and method == "POST" and n in (2, 3) and parts[1]:
            iid = parts[2] if n == 3 and parts[2] else None
            if iid is not None:
                check_instance_id_length(iid)
            return lambda r, t: api_instances.start(r, t, self._registry(), parts[1], iid)
        if head == "instances":
            if n == 1 or (n == 2 and not parts[1]):
                if method == "GET":
                    return api_instances.list_instances
                if method == "DELETE":
                    return api_instances.purge_many
                return None
            iid = parts[1]
            if is_entity_instance_id(iid):
                check_entity_instance_id(iid)
            else:
                check_instance_id_length(iid)
            if n == 2 and method == "GET":
                return lambda r, t: api_instances.get_status(r, t, iid)
            if n == 2 and method == "DELETE":
                return lambda r, t: api_instances.purge_one(t, iid)
            if method != "POST":
                return None
            if n == 4 and parts[2] == "raiseEvent" and parts[3]:
                check_name("event name", parts[3])
                return lambda r, t: api_instances.raise_event(r, t, iid, parts[3])
            if n == 3 and parts[2] in _OPERATIONS:
                return lambda r, t: api_instances.operation(r, t, iid, parts[2])
            if n == 3 and parts[2] == "restart":
                return lambda r, t: api_instances.restart(r, t, iid)
            return None
        if head == "entities":
            return _match_entities(method, parts)
        return None

    def _not_found(self, request: Request, shown: str) -> Response:
        orchestrators: list[str] = []
        entities: list[str] = []
        try:
            registry = self._registry()
        except HostError:
            registry = None
        if registry is not None:
            orchestrators = sorted(f.durable_name for f in registry.by_trigger(ORCHESTRATION_TRIGGER))
            entities = sorted(f.durable_name for f in registry.by_trigger(ENTITY_TRIGGER))
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return json_response(
            {
                "Message": f"No durable HTTP API route matches {request.method} {shown}.",
                "baseUrls": [f"{origin}{p}/" for p in (WEBHOOK_PATH, RPC_PATH)],
                "routes": [f"{m} {r}" for m, r in ROUTES],
                "orchestrators": orchestrators,
                "entities": entities,
            },
            404,
        )


def _match_entities(method: str, parts: list[str]) -> Callable[[Request, Target], Any] | None:
    n = len(parts)
    if n == 3 and parts[1] and parts[2]:
        name, key = parts[1], parts[2]
        check_entity_instance_id(api_entities.entity_id(name, key).instance_id)
        if method == "GET":
            return lambda r, t: api_entities.read_state(t.management, name, key)
        if method == "POST":
            return lambda r, t: api_entities.signal(r, t.management, name, key, None, public=t.public)
        if method == "DELETE":
            return lambda r, t: api_entities.signal(r, t.management, name, key, "delete", public=t.public)
        return None
    if method == "GET" and (n in (1, 2) or (n == 3 and not parts[2])):
        listed = parts[1] if n >= 2 and parts[1] else None
        return lambda r, t: api_entities.list_entities(r, t.management, listed)
    return None


def _split(request: Request) -> tuple[str, list[str]]:
    """The base path and the decoded segments after it (split before decoding: ids may hold %2F)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else request.url.path
    for base in (WEBHOOK_PATH, RPC_PATH):
        if path == base or path.startswith(base + "/"):
            rest = path[len(base) + 1 :]
            return base, [unquote(p) for p in rest.split("/")] if rest else []
    return RPC_PATH, []


def create_routes(runtime: HostRuntime, resolver: BackendResolver | None = None) -> list[BaseRoute]:
    """The Starlette routes of the durable HTTP API for ``runtime.routes``."""
    if resolver is None:
        from host.durable.api.resolver import ManagementResolver

        resolver = ManagementResolver(runtime)
    return api_routes(DurableApi(lambda: runtime.registry, resolver, keys=runtime.keys))


class PrefixRoute(BaseRoute):
    """Every path at or under ``prefix`` (Starlette's ``{rest:path}`` misses decoded line breaks)."""

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix, self.app = prefix, app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = str(scope.get("path", ""))
        inside = path == self.prefix or path.startswith(self.prefix + "/")
        return (Match.FULL, {}) if inside else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def api_routes(api: DurableApi) -> list[BaseRoute]:
    """The routes that hand both base paths (and everything under them) to ``api``."""
    return [PrefixRoute(base, api) for base in (WEBHOOK_PATH, RPC_PATH)]


@asynccontextmanager
async def direct_api(
    connection: str | StorageAccount,
    hub: str | None,
    *,
    create: bool = False,
    default_version: str = "",
    handles: Callable[[str], OrchestratorHandle | None] | None = None,
    app_root: Path | None = None,
) -> AsyncIterator[ASGIApp]:
    """The durable HTTP API as an in-process ASGI app over storage (no orchestrator checks);
    ``default_version`` stamps starts that name no version.

    It also answers ``GET /admin/durable/instances/{id}``; with ``handles`` (the app's
    orchestrators, indexed from ``app_root``) it replays an instance to find its source line.
    """
    from starlette.routing import Router

    from host.durable.api.admin import ADMIN_INSTANCES, admin_instance_routes
    from host.durable.api.resolver import direct_management

    async with direct_management(
        connection, hub, create=create, default_version=default_version
    ) as management:

        async def resolve(
            task_hub: str | None, connection: str | None, *, create: bool = False
        ) -> Management:
            return management

        api = DurableApi(lambda: None, resolve)
        admin = Router(routes=admin_instance_routes(management, None, handles, keys=None, app_root=app_root))

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and str(scope.get("path", "")).startswith(ADMIN_INSTANCES + "/"):
                await admin(scope, receive, send)
            else:
                await api(scope, receive, send)

        yield app
