"""Requests/s of a trivial HTTP trigger served by ``python -m host start``.

Writes a temporary app (one async and one sync trigger, no storage needed), starts the host on a
free loopback port in a subprocess, waits for ``/admin/host/status`` to say ``Running``, then
measures each trigger with 1 and with 32 concurrent keep-alive clients for ``--seconds`` each.
Target: ≥ 1,000 requests/s for the async trigger with 32 clients on a 2-core machine.

Clients share the 2 cores with the host, so the client must be cheap: ``--client raw`` (default)
is a minimal HTTP/1.1 keep-alive client on asyncio streams; ``--client httpx`` uses one
``httpx.AsyncClient`` per simulated client (httpx costs several times more CPU per request than
the host itself, so it measures mostly httpx).

    .venv/bin/python bench/http_throughput.py [--seconds 5] [--clients 1 32] [--client raw|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from host.storage.azurite import free_port

REPO = Path(__file__).resolve().parents[1]
APP = """
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ping", methods=["GET"])
async def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.route(route="syncping", methods=["GET"])
def sync_ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")
"""


def write_app(root: Path) -> None:
    (root / "host.json").write_text(json.dumps({"version": "2.0"}))
    (root / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python"}})
    )
    (root / "function_app.py").write_text(APP)


async def wait_running(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"host exited with code {proc.returncode}")
            try:
                r = await client.get("/admin/host/status")
                if r.status_code == 200 and r.json().get("state") == "Running":
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("host did not report Running in time")


class RawClient:
    """One keep-alive HTTP/1.1 connection; GET only, responses must carry Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(v)
            for k, _, v in (ln.partition(":") for ln in lines[1:])
            if k.strip().lower() == "content-length"
        )
        await self.reader.readexactly(length)
        return int(lines[0].split()[1])

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()


class HttpxClient:
    def __init__(self, port: int) -> None:
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)

    async def get(self, path: str) -> int:
        return (await self.client.get(path)).status_code

    async def aclose(self) -> None:
        await self.client.aclose()


async def measure(port: int, path: str, clients: int, seconds: float, kind: str) -> tuple[float, int, float]:
    """(requests/s, errors, p50 latency ms) with ``clients`` concurrent keep-alive connections."""
    pool = [RawClient(port) if kind == "raw" else HttpxClient(port) for _ in range(clients)]
    latencies: list[float] = []
    errors = 0
    for client in pool:  # connect and warm up
        await client.get(path)
    stop = time.perf_counter() + seconds

    async def worker(client: RawClient | HttpxClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            status = await client.get(path)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in pool))
    elapsed = time.perf_counter() - started
    for client in pool:
        await client.aclose()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
    return len(latencies) / elapsed, errors, p50


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="funchost-bench-") as tmp:
        root = Path(tmp)
        write_app(root)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
        env["PYTHONPATH"] = str(REPO)
        proc = subprocess.Popen(
            [sys.executable, "-m", "host", "start", "--script-root", str(root), "--port", str(port)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_running(base, proc)
            print(
                f"host on {base} (cpus: {os.cpu_count()}), {args.client} client, {args.seconds:.0f} s per run"
            )
            print(f"{'trigger':<10} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'errors':>7}")
            for path, label in (("/api/ping", "async"), ("/api/syncping", "sync")):
                for clients in args.clients:
                    rps, errors, p50 = await measure(port, path, clients, args.seconds, args.client)
                    print(f"{label:<10} {clients:>7} {rps:>9.0f} {p50:>8.2f} {errors:>7}", flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            if proc.returncode not in (0, -15) and proc.stderr is not None:
                sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
