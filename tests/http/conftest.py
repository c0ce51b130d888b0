"""In-process HTTP fixtures: a registry built from a ``func.FunctionApp`` and an app over it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import azure.functions as func
import httpx
import pytest
from starlette.routing import BaseRoute

from host.config.settings import HostSettings
from host.http.app import build_app
from host.indexing.registry import Binding, FunctionInfo, Registry
from host.invocation import Invoker

_INDEXED: dict[int, tuple[func.FunctionApp, Registry]] = {}


def registry_from(app: func.FunctionApp) -> Registry:
    """The registry the loader would build (``get_functions()`` is not idempotent: once per app)."""
    cached = _INDEXED.get(id(app))
    if cached is not None and cached[0] is app:
        return cached[1]
    infos = []
    for fn in app.get_functions():
        bindings = []
        for raw in fn.get_raw_bindings():
            data = json.loads(raw)
            btype, name = str(data.pop("type")), str(data.pop("name"))
            bindings.append(Binding(name, btype, str(data.pop("direction", "IN")).lower(), data))
        trigger = next(b for b in bindings if b.type.endswith("Trigger"))
        infos.append(FunctionInfo(fn.get_function_name(), trigger, bindings, fn.get_user_function(),
                                  sdk_function=fn))
    registry = Registry(infos)
    _INDEXED[id(app)] = (app, registry)
    return registry


class Runtime:
    """The part of ``HostRuntime`` the HTTP layer reads."""

    def __init__(self, app: func.FunctionApp, root: Path, *, environ: dict[str, str] | None = None,
                 **settings: Any) -> None:
        self.settings = HostSettings(script_root=root, host_json={}, environ=environ or {}, **settings)
        self.registry = registry_from(app)
        self.invoker = Invoker(self.registry, settings=self.settings)
        self.base_url = "http://127.0.0.1:7071"
        self.routes: list[BaseRoute] = []
        self.state = "Running"
        self.host_id = "testhost-1"
        self.errors: list[str] = []
        self.uptime_ms = 5


ClientFactory = Callable[..., "httpx.AsyncClient"]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``make_client(app, **settings)`` → (httpx client over the ASGI app, runtime)."""
    clients: list[httpx.AsyncClient] = []
    runtimes: list[Runtime] = []

    def factory(app: func.FunctionApp, **settings: Any) -> tuple[httpx.AsyncClient, Runtime]:
        runtime = Runtime(app, tmp_path, **settings)
        transport = httpx.ASGITransport(app=build_app(runtime))
        client = httpx.AsyncClient(transport=transport, base_url="http://localhost:7071")
        clients.append(client)
        runtimes.append(runtime)
        return client, runtime

    yield factory
    for client in clients:
        await client.aclose()
    for runtime in runtimes:
        await runtime.invoker.aclose()
