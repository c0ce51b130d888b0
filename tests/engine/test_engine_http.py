"""Durable HTTP (``context.call_http``) against a local Starlette server, incl. 202 polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import uvicorn
from engine_support import FEATURES, output
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from waiting import eventually

from host.storage.azurite import free_port
from host.testing.app_host import AppHost


class JobServer:
    """``/hello``, ``/echo`` and a long-running ``/jobs`` that answers 202 twice before 200."""

    def __init__(self) -> None:
        self.polls = 0
        self.seen_methods: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/hello", self.hello),
                Route("/echo", self.echo, methods=["POST"]),
                Route("/jobs", self.start_job, methods=["POST"]),
                Route("/jobs/1", self.job_status),
            ]
        )

    async def hello(self, request: Request) -> Response:
        return JSONResponse({"greeting": "hi"})

    async def echo(self, request: Request) -> Response:
        return Response(await request.body(), media_type="application/json")

    async def start_job(self, request: Request) -> Response:
        return Response(
            status_code=202, headers={"Location": str(request.url_for("job_status")), "Retry-After": "0"}
        )

    async def job_status(self, request: Request) -> Response:
        self.seen_methods.append(request.method)
        self.polls += 1
        if self.polls < 3:
            return Response(
                status_code=202,
                headers={"Location": str(request.url), "Retry-After": "0" if self.polls == 1 else "1"},
            )
        return JSONResponse({"done": True, "polls": self.polls})


@pytest.fixture
async def job_server() -> AsyncIterator[tuple[JobServer, str]]:
    jobs = JobServer()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(jobs.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, 10, "the test server to start", interval=0.02)
    yield jobs, f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 5)


async def test_call_http_plain_post_and_202_polling(
    azurite_connection_string: str, job_server: tuple[JobServer, str]
) -> None:
    jobs, base = job_server
    async with AppHost(FEATURES, connection_string=azurite_connection_string, virtual_time=False) as host:
        status = await host.run("http_calls", base, timeout=30)
    assert status.runtime_status == "Completed", status.output
    result = output(status)
    assert result["plain"][0] == 200 and '"greeting"' in result["plain"][1]
    assert result["posted"][0] == 200 and '"x"' in result["posted"][1]
    assert result["polled"][0] == 200
    assert '"done"' in result["polled"][1] and '"polls":3' in result["polled"][1].replace(" ", "")
    assert jobs.seen_methods == ["GET", "GET", "GET"]
