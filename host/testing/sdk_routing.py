"""In-process routing of the SDK durable client's HTTP calls.

A function with a durable client binding gets the SDK's own ``DurableOrchestrationClient``,
which calls the host's HTTP API at ``rpcBaseUrl`` with aiohttp. An in-process app has no
socket, so while one runs, the client module's three request functions are replaced by ones
that send requests for a registered base URL straight to that app's ASGI application (other
URLs go to the SDK's own functions). The SDK reads these module names when a client is
created; if a future SDK moves them, :func:`install` says so clearly.
"""

from __future__ import annotations

import importlib
from typing import Any

import httpx

from host.errors import HostError

_MODULE = "azure.durable_functions.models.DurableOrchestrationClient"
_NAMES = ("post_async_request", "get_async_request", "delete_async_request")

_apps: list[tuple[str, httpx.AsyncClient]] = []
_originals: dict[str, Any] = {}


def _client_for(url: str) -> httpx.AsyncClient | None:
    for base, client in reversed(_apps):
        if url.startswith(base):
            return client
    return None


def _headers(
    invocation_id: str | None, trace_parent: str | None = None, trace_state: str | None = None
) -> dict[str, str]:
    headers = {}
    if trace_parent:
        headers["traceparent"] = trace_parent
    if trace_state:
        headers["tracestate"] = trace_state
    if invocation_id:
        headers["X-Azure-Functions-InvocationId"] = invocation_id
    return headers


def _answer(resp: httpx.Response) -> list[Any]:
    try:
        data = resp.json() if resp.content else None
    except ValueError:
        data = resp.text
    return [resp.status_code, data]


async def post_async_request(
    url: str,
    data: Any = None,
    trace_parent: str | None = None,
    trace_state: str | None = None,
    function_invocation_id: str | None = None,
) -> list[Any]:
    client = _client_for(url)
    if client is None:
        return await _originals["post_async_request"](  # type: ignore[no-any-return]
            url, data, trace_parent, trace_state, function_invocation_id
        )
    resp = await client.post(
        url, json=data, headers=_headers(function_invocation_id, trace_parent, trace_state)
    )
    return _answer(resp)


async def get_async_request(url: str, function_invocation_id: str | None = None) -> list[Any]:
    client = _client_for(url)
    if client is None:
        return await _originals["get_async_request"](url, function_invocation_id)  # type: ignore[no-any-return]
    status, data = _answer(await client.get(url, headers=_headers(function_invocation_id)))
    return [status, "" if data is None else data]


async def delete_async_request(url: str, function_invocation_id: str | None = None) -> list[Any]:
    client = _client_for(url)
    if client is None:
        return await _originals["delete_async_request"](url, function_invocation_id)  # type: ignore[no-any-return]
    return _answer(await client.delete(url, headers=_headers(function_invocation_id)))


_REPLACEMENTS = {
    "post_async_request": post_async_request,
    "get_async_request": get_async_request,
    "delete_async_request": delete_async_request,
}


def install() -> None:
    """Route the SDK client's requests through this module (idempotent)."""
    if _originals:
        return
    module = importlib.import_module(_MODULE)
    missing = [n for n in _NAMES if not callable(getattr(module, n, None))]
    if missing:
        raise HostError(
            f"this azure-functions-durable version has no {', '.join(missing)} in {_MODULE}: the "
            f"in-process host cannot route its durable client; run the app with 'python -m host start'"
        )
    for name in _NAMES:
        _originals[name] = getattr(module, name)
        setattr(module, name, _REPLACEMENTS[name])


def register(base_url: str, client: httpx.AsyncClient) -> None:
    """Send the SDK client's requests under ``base_url`` to ``client`` (an ASGI-bound client)."""
    install()
    _apps.append((base_url.rstrip("/") + "/", client))


def unregister(client: httpx.AsyncClient) -> None:
    _apps[:] = [(b, c) for b, c in _apps if c is not client]
