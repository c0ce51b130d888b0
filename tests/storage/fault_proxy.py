"""A tiny HTTP proxy in front of one Azurite service that can answer with failures first.

``proxy.fail_next = [503, 503]`` answers the next two requests itself (503 ServerBusy, never
forwarded); everything else is forwarded to Azurite unchanged (Shared Key signatures do not
cover the port, so they stay valid). ``proxy.seen`` lists every request's method and path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


class FaultProxy:
    """Forwards to ``target`` (``http://127.0.0.1:<port>``), failing ``fail_next`` first."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = f"{parts.scheme}://{parts.netloc}"
        self.fail_next: list[int] = []
        self.seen: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    async def start(self) -> FaultProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]  # an asyncio.Server
        self._session = aiohttp.ClientSession(auto_decompress=False)
        return self

    def endpoint(self, account: str) -> str:
        return f"http://127.0.0.1:{self.port}/{account}"

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path))
        if self.fail_next:
            status = self.fail_next.pop(0)
            return web.Response(
                status=status,
                headers={"x-ms-error-code": "ServerBusy"},
                text='<?xml version="1.0"?><Error><Code>ServerBusy</Code></Error>',
            )
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session.request(
            request.method,
            self.target + request.raw_path,
            headers=headers,
            data=await request.read(),
            skip_auto_headers=("Content-Type",),
        ) as r:
            body = await r.read()
            out = {k: v for k, v in r.headers.items() if k.lower() not in _HOP}
            return web.Response(status=r.status, headers=out, body=body)
