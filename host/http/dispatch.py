"""The ASGI endpoint behind every HTTP trigger: route, authorize, build the request, invoke, respond.

Status codes follow the Functions host: no matching route (path, method or constraint) is 404
with an empty body, a failing function is 500 with an empty body (the traceback goes to the log
through the invocation scope) — or 503 with a JSON body naming the problem while the host's
storage account does not answer (an HTTP starter can then be retried), a binding refusing a value
from the request (a blob path leaving its container) is 400 with a JSON body naming it, a
missing/wrong key with ``--enable-auth`` is 401, a body over 100 MiB is 413, a body that stalls
for 30 s is 408. ``GET /`` without a matching function is the homepage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, JSONResponse, Response

from host.errors import BindingInputError
from host.http.auth import KeyStore, provided_key
from host.http.convert import build_request, join_headers, parse_query, request_url
from host.http.limits import BODY_IDLE_TIMEOUT, MAX_BODY, loads_bounded
from host.http.routing import Router, build_router
from host.indexing.registry import FunctionInfo, Registry

if TYPE_CHECKING:
    from host.invocation import Invoker

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HOMEPAGE = (
    "<!DOCTYPE html><html><head><title>Azure Functions</title></head><body>"
    "<h1>Your Functions 4.0 app is up and running</h1>"
    "<p>funchost, a pure-Python local host for Azure Functions.</p></body></html>"
)
log = logging.getLogger("host.http")


@dataclass(frozen=True)
class _Target:
    fn: FunctionInfo
    http_output: str | None  # the binding name whose value is the response
    auth_level: str
    needs_metadata: bool  # other bindings may use {route}/{Query.x} expressions


def _target(fn: FunctionInfo) -> _Target:
    http_out = next((b.name for b in fn.bindings if b.type == "http" and b.direction != "in"), None)
    others = [b for b in fn.bindings if b is not fn.trigger and b.type != "http"]
    return _Target(fn, http_out, str(fn.trigger.get("authLevel") or "function").lower(), bool(others))


async def read_body(
    receive: Receive, limit: int = MAX_BODY, idle_timeout: float = BODY_IDLE_TIMEOUT
) -> bytes | None:
    """The whole request body, or None when it exceeds ``limit``.

    Raises ``TimeoutError`` when the client sends nothing for ``idle_timeout`` seconds mid-body.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        async with asyncio.timeout(idle_timeout):
            message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def binding_data(
    route_params: dict[str, str], params: dict[str, str], headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Trigger metadata for binding expressions: route values, ``Query``, ``Headers``, JSON body."""
    data: dict[str, Any] = {}
    if body and "json" in headers.get("content-type", ""):
        try:
            parsed = loads_bounded(body)
        except ValueError:  # not JSON, or nested too deep: no body values for binding expressions
            parsed = None
        if isinstance(parsed, dict):
            data.update(parsed)
    data.update(route_params)
    data["Query"] = params
    data["Headers"] = headers
    return data


class FunctionDispatcher:
    """ASGI app serving HTTP-triggered functions through the host's routing rules."""

    def __init__(
        self,
        registry: Registry,
        invoker: Invoker,
        *,
        route_prefix: str = "api",
        keys: KeyStore | None = None,
        homepage: bool = True,
        body_timeout: float = BODY_IDLE_TIMEOUT,
        storage_problem: Callable[[], str | None] | None = None,
    ) -> None:
        self.storage_problem = storage_problem
        """What is wrong with the host's storage right now (a failure then answers 503, not 500)."""
        self.router: Router = build_router(registry, route_prefix)
        self.body_timeout = body_timeout
        self.targets = {f.name: _target(f) for f in registry}
        self.invoker = invoker
        self.keys = keys
        self.homepage = homepage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        try:
            response = await self._handle(scope, receive)
        except Exception:
            log.exception("Unhandled error serving %s %s", scope.get("method"), scope.get("path"))
            response = Response(status_code=500)
        await response(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive) -> Response:
        method: str = scope["method"]
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        match = self.router.match(method, path)
        if match is None:
            if path in ("", "/") and method in ("GET", "HEAD"):
                return HTMLResponse(HOMEPAGE) if self.homepage else Response(status_code=204)
            return Response(status_code=404)
        target = self.targets[match.route.function_name]
        headers = join_headers(scope["headers"])
        query = scope.get("query_string", b"").decode("latin-1")
        params = parse_query(query) if query else {}
        if self.keys is not None and not self.keys.authorize(
            target.auth_level, target.fn.name, provided_key(headers, params)
        ):
            return Response(status_code=401)
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return Response(status_code=413)
        try:
            body = await read_body(receive, idle_timeout=self.body_timeout)
        except TimeoutError:
            return Response(status_code=408)
        if body is None:
            return Response(status_code=413)
        host = headers.get("host") or _server_host(scope)
        url = request_url(scope.get("scheme", "http"), host, path, query)
        request = build_request(method, url, headers, params, match.params, body)
        metadata = binding_data(match.params, params, headers, body) if target.needs_metadata else None
        try:
            result = await self.invoker.invoke(target.fn, request, trigger_metadata=metadata)
        except BindingInputError as e:  # e.g. a route value that leads a blob path out of its container
            return JSONResponse({"error": str(e)}, status_code=400)
        except Exception:
            problem = self.storage_problem() if self.storage_problem is not None else None
            if problem is not None:  # e.g. an HTTP starter whose start failed: try again later
                return JSONResponse(
                    {"error": "Storage unavailable", "detail": problem},
                    status_code=503,
                    headers={"Retry-After": "5"},
                )
            return Response(status_code=500)  # the invocation scope logged the failure
        response = result.outputs.get(target.http_output) if target.http_output else None
        if not isinstance(response, Response):
            log.error("Function '%s' produced no HTTP response", target.fn.name)
            return Response(status_code=500)
        return response


def _server_host(scope: Scope) -> str:
    server = scope.get("server")
    if not server:
        return "localhost"
    host, port = server[0], server[1]
    return f"{host}:{port}" if port else str(host)
