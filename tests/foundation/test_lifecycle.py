"""The host as a process: Azurite auto-start/stop, graceful shutdown with in-flight work."""

from __future__ import annotations

import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from waiting import eventually_sync

from host.storage.azurite import DEV_ACCOUNT, DEV_KEY, free_port, is_listening

pytestmark = pytest.mark.slow

APP = """\
import asyncio
import logging
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> str:
    return "hi"


@app.route(route="slow", methods=["GET"])
async def slow(req: func.HttpRequest) -> str:
    logging.info("slow started")
    await asyncio.sleep(float(req.params.get("s", "3")))
    return "slow done"
"""


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    eventually_sync(cond, timeout, what, interval=0.02)


def test_azurite_auto_start_and_stop(
    tmp_path: Path, make_app: Callable[..., Path], start_host: Callable[..., Any]
) -> None:
    blob, queue, table = ports = [free_port(), free_port(), free_port()]
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://localhost:{queue}/{DEV_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{table}/{DEV_ACCOUNT};"
    )
    app = make_app(tmp_path / "app", APP, values={"AzureWebJobsStorage": conn})
    port = free_port()
    host = start_host(["--port", str(port)], app)
    host.wait_for("For detailed output", timeout=60)
    assert "Started Azurite" in host.output
    assert all(is_listening("127.0.0.1", p) for p in ports)
    assert (Path(os.environ["FUNCHOST_AZURITE_HOME"]) / str(blob) / "azurite.log").exists()
    assert get(f"http://127.0.0.1:{port}/api/hello") == (200, "hi")
    assert host.terminate(signal.SIGTERM) == 0
    assert not any(is_listening("127.0.0.1", p) for p in ports)


def test_graceful_shutdown_lets_in_flight_requests_finish(
    tmp_path: Path,
    make_app: Callable[..., Path],
    start_host: Callable[..., Any],
    azurite_connection_string: str,
) -> None:
    app = make_app(tmp_path / "app", APP, values={"AzureWebJobsStorage": azurite_connection_string})
    port = free_port()
    host = start_host(["--port", str(port), "--no-azurite"], app)
    host.wait_for("For detailed output", timeout=60)
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["response"] = get(f"http://127.0.0.1:{port}/api/slow?s=3")
        except Exception as e:
            result["error"] = e

    caller = threading.Thread(target=call)
    caller.start()
    host.wait_for("slow started", timeout=10)
    host.proc.send_signal(signal.SIGTERM)
    # It stops taking work at once, while the in-flight request still runs.
    wait_until(lambda: not accepts(port), 2.0, "the listener to close")
    assert caller.is_alive()
    caller.join(15)
    assert result.get("response") == (200, "slow done"), result
    assert host.proc.wait(15) == 0
    assert "Executed 'Functions.slow' (Succeeded" in host.output


DURABLE_APP = """\
import azure.functions as func
import azure.durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"Hello {name}"


@app.orchestration_trigger(context_name="context")
def hello(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("greet", "Tokyo"))


@app.route(route="start")
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    iid = await client.start_new("hello")
    return client.create_check_status_response(req, iid)
"""


def test_ctrl_c_after_a_durable_client_call_exits_0_without_noise(
    tmp_path: Path,
    make_app: Callable[..., Path],
    start_host: Callable[..., Any],
    azurite_connection_string: str,
) -> None:
    app = make_app(
        tmp_path / "app",
        DURABLE_APP,
        values={"AzureWebJobsStorage": azurite_connection_string},
        host={"version": "2.0", "extensions": {"durableTask": {"hubName": f"CtrlC{free_port()}"}}},
    )
    port = free_port()
    host = start_host(["--port", str(port), "--no-azurite"], app)
    host.wait_for("For detailed output", timeout=60)
    status, _ = get(f"http://127.0.0.1:{port}/api/start")
    assert status == 202
    host.wait_for("Executed 'Functions.hello' (Succeeded")
    assert host.terminate(signal.SIGINT, timeout=15) == 0
    host.proc.wait(15)
    for noise in ("Unclosed client session", "Unclosed connector", "Logging error", "Traceback"):
        assert noise not in host.output, host.output
