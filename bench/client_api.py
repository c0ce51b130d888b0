"""Benchmark: start-new and status-query requests/s through the HTTP API pattern.

Runs a host in-process on a free port (real engine, Azurite started on free ports unless
``--connection`` is given) with ``samples/http_api.py``, then:

1. start-new: ``--clients`` concurrent clients POST ``/api/orchestrators/hello_sequence``
   (the HTTP starter → SDK ``start_new`` → RPC ``orchestrators/…``) for ``--seconds``;
2. status-query: once the started orchestrations have finished, the same clients GET the
   ``statusQueryGetUri`` of the started instances.

Prints requests/s of each phase and the storage requests/s the host made in the same phase.
Usage: ``.venv/bin/python bench/client_api.py [--clients 32] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from host.config.settings import load_settings
from host.http.app import build_app
from host.runtime import HostRuntime
from host.storage.azurite import start_azurite_on_free_ports

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
APP = f"""
import sys
sys.path.insert(0, {str(SAMPLES)!r})
import azure.durable_functions as df
import azure.functions as func
import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api.bp)
"""


async def _phase(clients: int, seconds: float, call: Any) -> tuple[int, float]:
    count = 0
    stop = time.monotonic() + seconds

    async def worker(i: int) -> None:
        nonlocal count
        while time.monotonic() < stop:
            await call(i)
            count += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return count, time.monotonic() - t0


async def _drain(c: httpx.AsyncClient, base: str, timeout: float = 120.0) -> float:
    """Wait until no instance is Pending or Running; the seconds it took."""
    t0 = time.monotonic()
    url = f"{base}/runtime/webhooks/durabletask/instances/?runtimeStatus=Pending,Running&top=1"
    while time.monotonic() - t0 < timeout:
        if not (await c.get(url)).json():
            break
        await asyncio.sleep(0.2)
    return round(time.monotonic() - t0, 1)


async def run(connection: str, clients: int, seconds: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-client-"))
    (root / "function_app.py").write_text(APP)
    (root / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"hubName": f"bench{int(time.time())}"}}})
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, AzureWebJobsStorage=connection, FUNCTIONS_WORKER_RUNTIME="python")
    runtime = HostRuntime(load_settings(root, port=port, azurite=False, environ=env))
    await runtime.start()
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(runtime),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    runtime.mark_running()
    base = f"http://127.0.0.1:{port}"
    urls: list[str] = []
    results: dict[str, Any] = {"clients": clients, "seconds": seconds}
    limits = httpx.Limits(max_connections=clients * 2)
    try:
        async with httpx.AsyncClient(timeout=60, limits=limits) as c:

            async def start(_: int) -> None:
                r = await c.post(f"{base}/api/orchestrators/hello_sequence")
                r.raise_for_status()
                urls.append(r.json()["statusQueryGetUri"])

            async def status(i: int) -> None:
                r = await c.get(urls[(i * 7919 + len(urls)) % len(urls)])
                assert r.status_code in (200, 202), r.text

            for name, call in (("start_new", start), ("status_query", status)):
                if name == "status_query":  # let the started orchestrations finish: measure queries alone
                    results["drain_seconds"] = await _drain(c, base)
                before = runtime.storage.stats.total
                n, elapsed = await _phase(clients, seconds, call)
                storage = runtime.storage.stats.total - before
                results[name] = {
                    "requests": n,
                    "rps": round(n / elapsed, 1),
                    "storage_requests": storage,
                    "storage_rps": round(storage / elapsed, 1),
                }
    finally:
        from azure.durable_functions.models.utils import http_utils

        await http_utils._close_session()
        server.should_exit = True
        await serving
        await runtime.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connection", help="storage connection string (default: a fresh Azurite)")
    args = parser.parse_args()
    azurite = None
    connection = args.connection
    if connection is None:
        azurite = start_azurite_on_free_ports(Path(tempfile.mkdtemp(prefix="bench-azurite-")), in_memory=True)
        connection = azurite.connection_string
    try:
        results = asyncio.run(run(connection, args.clients, args.seconds))
    finally:
        if azurite is not None:
            azurite.stop()
    results["loadavg_1m"] = round(os.getloadavg()[0], 2)
    for phase in ("start_new", "status_query"):
        r = results[phase]
        print(
            f"{phase:13} {r['rps']:8.1f} req/s  ({r['requests']} requests, {args.clients} clients, "
            f"storage {r['storage_rps']:.1f} req/s)"
        )
    print(f"load average (1 min) at the end: {results['loadavg_1m']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
