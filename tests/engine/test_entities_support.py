"""Helpers shared by the entity engine tests (no tests here)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from host.durable.entities import EntityId
from host.durable.entities_query import read_entity_state
from host.durable.history_rows import InstanceStatus
from host.testing.app_host import AppHost

ENTITIES_APP = Path(__file__).parent / "apps" / "entities"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def served_host(app_dir: Path, connection_string: str) -> AsyncIterator[AppHost]:
    """An :class:`AppHost` also served on a free loopback port (the SDK's client binding calls
    back into the host over real HTTP); ``host.client`` talks to that port."""
    from host.http.app import build_app

    port = free_port()
    async with AppHost(app_dir, connection_string=connection_string, port=port) as host:
        assert host.runtime is not None
        server = uvicorn.Server(uvicorn.Config(build_app(host.runtime), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and not serving.done(), "server did not start"
            await asyncio.sleep(0.01)
        if host.client is not None:
            await host.client.aclose()
        host.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
        try:
            yield host
        finally:
            # the SDK keeps one aiohttp session per process, bound to this test's event loop
            from azure.durable_functions.models.utils import http_utils

            await http_utils._close_session()
            server.should_exit = True
            await serving


async def entity_row(host: AppHost, entity: EntityId) -> InstanceStatus | None:
    """The entity's Instances row (``None`` before its first checkpoint)."""
    row: InstanceStatus | None = await host.durable.hub.get_instance(entity.instance_id)
    return row


async def entity_state(host: AppHost, entity: EntityId) -> tuple[bool, Any]:
    """``(exists, state)`` as the HTTP API reads it."""
    row = await entity_row(host, entity)
    return read_entity_state(row.input) if row is not None else (False, None)


async def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    """Await ``check()`` until it returns something truthy; TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout:g} s (last: {last!r})")


async def wait_state(host: AppHost, entity: EntityId, expected: Any, timeout: float = 20.0) -> None:
    """Wait until the entity exists with state ``expected``."""
    async def check() -> bool:
        return await entity_state(host, entity) == (True, expected)
    try:
        await wait_for(check, timeout)
    except TimeoutError:
        raise AssertionError(f"{entity} never reached {expected!r}: now {await entity_state(host, entity)!r}"
                             ) from None
