"""Hot reload: save-to-serving latency and memory over many reloads.

A durable app (an HTTP route, an orchestrator, an activity: the engine restarts on every reload)
is served by ``python -m host start`` over an in-memory Azurite started here. Each save changes
the text the route answers; the latency is from the write to the first GET that answers the new
text (polled every 5 ms). Then the app is reloaded until ``--reloads`` in all and the host's RSS,
threads and sockets are compared with those after the warm-up reloads.

Usage: ``.venv/bin/python bench/reload.py [--saves 20] [--reloads 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from host.storage.azurite import free_port, start_azurite_on_free_ports  # noqa: E402

APP = """\
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="version", methods=["GET"])
def version(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("V0")


@app.orchestration_trigger(context_name="context")
def hello(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("say", "world"))


@app.activity_trigger(input_name="name")
def say(name: str) -> str:
    return "hello " + name
"""
WARM_UP = 3


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return str(resp.read().decode())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def save_and_wait(app: Path, url: str, n: int, timeout: float = 30.0) -> float:
    """Change the route's answer to ``V{n}``; seconds until it is served."""
    source = app / "function_app.py"
    text = source.read_text()
    start = time.perf_counter()
    source.write_text(text.replace(f'"V{n - 1}"', f'"V{n}"'))
    while time.perf_counter() - start < timeout:
        if get(url) == f"V{n}":
            return time.perf_counter() - start
        time.sleep(0.005)
    log = (app / "host.log").read_text()
    raise SystemExit(f"V{n} not served within {timeout:.0f} s:\n{log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=20, help="saves timed for the latency")
    parser.add_argument("--reloads", type=int, default=50, help="reloads in all for the memory figures")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="funchost-bench-") as tmp:
        base = Path(tmp)
        azurite = start_azurite_on_free_ports(base / "azurite", in_memory=True)
        app = base / "app"
        app.mkdir()
        (app / "function_app.py").write_text(APP)
        (app / "host.json").write_text(json.dumps({"version": "2.0"}))
        port = free_port()
        env = dict(
            os.environ,
            PYTHONPATH=str(REPO),
            AzureWebJobsStorage=azurite.connection_string,
            FUNCTIONS_WORKER_RUNTIME="python",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "host", "start", "--port", str(port), "--no-azurite"],
            cwd=app,
            env=env,
            stdout=(app / "host.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/api/version"
        try:
            deadline = time.monotonic() + 60
            while get(url) != "V0":
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the host did not start")
                time.sleep(0.05)
            host = psutil.Process(proc.pid)
            n = 0
            for _ in range(WARM_UP):
                n += 1
                save_and_wait(app, url, n)
            rss, threads, sockets = host.memory_info().rss, host.num_threads(), len(host.net_connections())
            latencies = []
            for _ in range(args.saves):
                n += 1
                latencies.append(save_and_wait(app, url, n))
            while n < args.reloads + WARM_UP:
                n += 1
                save_and_wait(app, url, n)
            latencies.sort()
            ms = [round(s * 1000) for s in latencies]
            print(
                f"save-to-serving over {len(ms)} saves: p50={statistics.median(ms):.0f} ms  "
                f"p90={ms[int(len(ms) * 0.9) - 1]} ms  max={ms[-1]} ms"
            )
            after = host.memory_info().rss
            grown = (after - rss) / 2**20
            print(
                f"after {n - WARM_UP} reloads: RSS {after / 2**20:.1f} MiB ({grown:+.1f} MiB), "
                f"threads {host.num_threads()} (was {threads}), sockets {len(host.net_connections())} "
                f"(was {sockets})"
            )
        finally:
            proc.terminate()
            proc.wait(30)
            azurite.stop()
    print(f"load average at end:   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
