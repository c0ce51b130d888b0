"""In-process HTTP fixtures: an httpx client over the app of a ``func.FunctionApp``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import azure.functions as func
import httpx
import pytest
from httphost_helpers import Runtime

from host.http.app import build_app


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
