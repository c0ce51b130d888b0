"""Time from ``python -m host start`` to the first 200 of an HTTP trigger.

Two scenarios, each run ``--runs`` times in a temporary copy of a trivial app:

* ``azurite-running``: Azurite already listens (started here on free ports, in memory);
* ``auto-start``: the connection string points at free loopback ports, so the host starts
  Azurite itself (data under a temporary ``FUNCHOST_AZURITE_HOME``) and stops it on exit.

With ``--durable``, also ``durable-running``: the durable benchmark app (bench/apps/durable_bench,
engine started, task hub created) until ``/admin/host/status`` says ``Running``.

Usage: ``.venv/bin/python bench/startup.py [--runs 5] [--durable]``. Target: under 1.5 s with
Azurite running. Run with ``--verbose`` on the host itself for the phase timings.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from host.storage.azurite import DEV_ACCOUNT, DEV_KEY, free_port, is_listening, start_azurite_on_free_ports  # noqa: E402

APP = """\
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hello")
"""


def connection_string(blob: int, queue: int, table: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue}/{DEV_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{table}/{DEV_ACCOUNT};"
    )


DURABLE_APP = REPO / "bench" / "apps" / "durable_bench"


def write_app(root: Path, storage: str, *, durable: bool = False) -> None:
    root.mkdir(parents=True, exist_ok=True)
    host = (DURABLE_APP / "host.json").read_text() if durable else json.dumps({"version": "2.0"})
    (root / "host.json").write_text(host)
    (root / "local.settings.json").write_text(
        json.dumps(
            {
                "IsEncrypted": False,
                "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsStorage": storage},
            }
        )
    )
    source = (DURABLE_APP / "function_app.py").read_text() if durable else APP
    (root / "function_app.py").write_text(source)


def _ready(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        if url.endswith("/admin/host/status"):
            return resp.status == 200 and json.loads(resp.read()).get("state") == "Running"
        return bool(resp.status == 200)


def first_200(
    app: Path, extra: list[str], timeout: float = 60.0, path: str = "/api/hello"
) -> tuple[float, subprocess.Popen[bytes]]:
    """Start the host in ``app`` and return (seconds until GET ``path`` is 200, process)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
    env["PYTHONPATH"] = str(REPO)
    env["FUNCHOST_AZURITE_HOME"] = str(app / ".azurite-home")
    url = f"http://127.0.0.1:{port}{path}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "host", "start", "--port", str(port), *extra],
        cwd=app,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"host exited with {proc.returncode}: {err.strip()}")
        try:
            if _ready(url):
                return time.perf_counter() - started, proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.005)
    proc.kill()
    raise SystemExit(f"no 200 from {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    return time.perf_counter() - started


def report(name: str, figures: list[float], stops: list[float]) -> None:
    print(
        f"{name:16s} runs={len(figures)}  min={min(figures):.3f}s  "
        f"median={statistics.median(figures):.3f}s  max={max(figures):.3f}s  "
        f"(stop median {statistics.median(stops):.3f}s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--durable", action="store_true", help="also time the durable benchmark app")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="funchost-bench-") as tmp:
        base = Path(tmp)
        azurite = start_azurite_on_free_ports(base / "azurite", in_memory=True)
        try:
            app = base / "running"
            write_app(app, azurite.connection_string)
            figures, stops = [], []
            for _ in range(args.runs):
                seconds, proc = first_200(app, ["--no-azurite"])
                figures.append(seconds)
                stops.append(stop(proc))
            report("azurite-running", figures, stops)
            if args.durable:
                app = base / "durable"
                write_app(app, azurite.connection_string, durable=True)
                figures, stops = [], []
                for _ in range(args.runs):
                    seconds, proc = first_200(app, ["--no-azurite"], path="/admin/host/status")
                    figures.append(seconds)
                    stops.append(stop(proc))
                report("durable-running", figures, stops)
        finally:
            azurite.stop()

        figures, stops = [], []
        for i in range(args.runs):
            ports = [free_port() for _ in range(3)]
            app = base / f"auto{i}"
            write_app(app, connection_string(*ports))
            seconds, proc = first_200(app, [])
            figures.append(seconds)
            stops.append(stop(proc))
            if any(is_listening("127.0.0.1", p) for p in ports):
                raise SystemExit("the host did not stop the Azurite it started")
        report("auto-start", figures, stops)
    print(f"load average at end:   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
