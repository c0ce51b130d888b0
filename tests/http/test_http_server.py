"""The server's limits on a real socket: request-head deadline, head size, concurrency; body stalls."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import azure.functions as func
import pytest
import uvicorn
from asgi_call import asgi_post
from httphost_helpers import registry_from
from waiting import eventually

from host.durable.api.routes import DurableApi
from host.http.dispatch import FunctionDispatcher
from host.http.server import ServerLimits, server_config
from host.invocation import Invoker
from host.storage.azurite import free_port

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> str:
    return str(len(req.get_body()))


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_defaults_reach_uvicorn() -> None:
    config = server_config(_hello)
    limits = ServerLimits()
    assert config.timeout_keep_alive == limits.keep_alive == 5
    assert config.h11_max_incomplete_event_size == limits.max_head_bytes == 32 * 1024
    assert config.limit_concurrency == limits.max_connections == 1000
    config.load()
    protocol: Any = config.http_protocol_class
    assert protocol.head_timeout == limits.head_timeout == 10.0


@asynccontextmanager
async def _serving(limits: ServerLimits) -> AsyncIterator[int]:
    chosen = free_port()
    config = server_config(
        _hello, limits, host="127.0.0.1", port=chosen, lifespan="off", log_level="critical"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or serving.done(), what="the server to listen")
    try:
        yield chosen
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with _serving(ServerLimits(keep_alive=1, head_timeout=0.3, max_head_bytes=4096)) as chosen:
        yield chosen


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, family=socket.AF_INET)


async def _closed(reader: asyncio.StreamReader) -> bool:
    return await reader.read() == b""


async def test_a_connection_without_a_request_head_is_closed(port: int) -> None:
    silent = await _connect(port)
    slow = await _connect(port)
    slow[1].write(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # never finishes its head
    await slow[1].drain()
    assert await asyncio.wait_for(_closed(silent[0]), 30)
    assert await asyncio.wait_for(_closed(slow[0]), 30)
    reader, writer = await _connect(port)  # a prompt client is served, also on its next request
    for _ in range(2):
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and await reader.readexactly(2) == b"ok"
    assert await asyncio.wait_for(_closed(reader), 30)  # then idle past keep-alive/head deadline
    writer.close()


async def test_oversize_heads_are_refused(port: int) -> None:
    big = b"X-Big: " + b"a" * 8192 + b"\r\n"
    pieces = [b"GET / HTTP/1.1\r\n", *[b"X-Part: " + b"b" * 1000 + b"\r\n"] * 5, b"\r\n"]
    for chunks in ([b"GET / HTTP/1.1\r\nHost: localhost\r\n" + big + b"\r\n"], pieces):
        reader, writer = await _connect(port)
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)  # until the server closes
        assert answer.startswith(b"HTTP/1.1 431") and answer.endswith(b"larger than 4096 bytes."), answer
        writer.close()
    reader, writer = await _connect(port)  # a big body after a small head is not a big head
    writer.write(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9000\r\n\r\n" + b"c" * 9000)
    await writer.drain()
    assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
    writer.close()


async def test_connections_past_the_limit_get_503() -> None:
    async with _serving(ServerLimits(max_connections=3)) as port:
        idle = [await _connect(port) for _ in range(3)]
        reader, writer = await _connect(port)
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 503")
        for _, w in [*idle, (reader, writer)]:
            w.close()


# --------------------------------------------------------------------------- stalled bodies


async def _stalled() -> MutableMapping[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def _status(asgi: Any, path: str) -> int:
    status, _ = await asgi_post(asgi, path, _stalled, [(b"content-type", b"application/json")])
    return status


async def _unused(task_hub: str | None, connection: str | None, *, create: bool = False) -> Any:
    raise AssertionError("a stalled request must not reach the task hub")


async def test_a_stalled_body_is_408() -> None:
    registry = registry_from(app)
    dispatcher = FunctionDispatcher(registry, Invoker(registry), body_timeout=0.05)  # never invoked
    assert await _status(dispatcher, "/api/echo") == 408
    api = DurableApi(lambda: None, _unused, body_timeout=0.05)
    assert await _status(api, "/runtime/webhooks/durabletask/orchestrators/Orch") == 408
