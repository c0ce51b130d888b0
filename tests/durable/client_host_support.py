"""A host served in-process on a free port (real engine, real Azurite) for client tests.

The SDK's client calls back into the host over real HTTP (aiohttp against ``rpcBaseUrl``), so
the host must listen: the runtime is started and served by uvicorn on this test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from waiting import eventually

from host.config.settings import load_settings
from host.http.app import build_app
from host.http.server import server_config
from host.runtime import HostRuntime
from host.storage.azurite import free_port

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def unique_hub(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:10]


@asynccontextmanager
async def served_host(
    root: Path,
    code: str,
    connection: str,
    *,
    hub: str,
    durable: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[str, HostRuntime]]:
    """Write ``code`` as the app in ``root``, start and serve it; yields (base URL, runtime).

    ``settings`` go to ``load_settings`` (e.g. ``enable_auth=True``).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "function_app.py").write_text(code)
    (root / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"hubName": hub, **(durable or {})}}})
    )
    port = free_port()
    env = dict(os.environ, AzureWebJobsStorage=connection, FUNCTIONS_WORKER_RUNTIME="python")
    runtime = HostRuntime(load_settings(root, port=port, azurite=False, environ=env, **settings))
    await runtime.start()
    server = uvicorn.Server(
        server_config(build_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())

    def started() -> bool:
        assert not serving.done(), "the server stopped while starting"
        return bool(server.started)

    await eventually(started, 20, "the server to start", interval=0.01)
    runtime.mark_running()
    try:
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        # the SDK keeps one aiohttp session per process, bound to this test's event loop
        from azure.durable_functions.models.utils import http_utils

        await http_utils._close_session()
        server.should_exit = True
        await serving
        await runtime.stop()


FLAKY_APP = f"""
import asyncio, json, sys, time
from datetime import datetime, timedelta, timezone
sys.path.insert(0, {str(SAMPLES)!r})
import azure.durable_functions as df
import azure.functions as func
import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api.bp)
ATTEMPTS = {{}}


@app.orchestration_trigger(context_name="context")
def flaky(context):
    return (yield context.call_activity("flaky_step", context.instance_id))


@app.activity_trigger(input_name="key")
def flaky_step(key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] == 1:
        raise ValueError("first attempt fails")
    return f"ok after {{ATTEMPTS[key]}}"
"""
"""An app with the sample's HTTP starter and an orchestration whose activity fails once (for rewind)."""
