"""Two hosts share one auto-started Azurite: the last one out stops it; ``azurite status|stop``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from host.storage.azurite import DEV_ACCOUNT, DEV_KEY, free_port, is_listening

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

# Every call writes a queue message: a 200 proves the storage answers.
APP = """\
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="put", methods=["GET"])
@app.queue_output(arg_name="msg", queue_name="shared-azurite", connection="AzureWebJobsStorage")
def put(req: func.HttpRequest, msg: func.Out[str]) -> str:
    msg.set("hello")
    return "queued"
"""


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def azurite_cli(action: str, home: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "FUNCHOST_AZURITE_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "host", "azurite", action],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def shared(
    tmp_path: Path, make_app: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Path], list[int], Path]:
    """Two app folders on one Azurite connection (free ports), Azurite data under a temp home."""
    ports = [free_port(), free_port(), free_port()]
    blob, queue, table = ports
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue}/{DEV_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{table}/{DEV_ACCOUNT};"
    )
    home = tmp_path / "azurite-home"
    monkeypatch.setenv("FUNCHOST_AZURITE_HOME", str(home))
    apps = [make_app(tmp_path / name, APP, values={"AzureWebJobsStorage": conn}) for name in ("a", "b")]
    return apps, ports, home


def test_the_last_host_out_stops_the_azurite_the_first_one_started(
    shared: tuple[list[Path], list[int], Path], start_host: Callable[..., Any]
) -> None:
    (app_a, app_b), ports, home = shared
    port_a, port_b = free_port(), free_port()
    host_a = start_host(["--port", str(port_a)], app_a)
    host_a.wait_for("For detailed output", timeout=60)
    assert "Started Azurite" in host_a.output
    host_b = start_host(["--port", str(port_b)], app_b)
    host_b.wait_for("For detailed output", timeout=60)
    assert "Started Azurite" not in host_b.output

    status = azurite_cli("status", home)
    assert f"blob {ports[0]}" in status and str(host_a.proc.pid) in status and str(host_b.proc.pid) in status
    data = home / str(ports[0])
    assert f"data in {data}" in status
    assert (data / "azurite.log").is_file() and not (app_a / ".azurite").exists()

    assert host_a.terminate(signal.SIGTERM) == 0
    assert all(is_listening("127.0.0.1", p) for p in ports)
    assert get(f"http://127.0.0.1:{port_b}/api/put") == (200, "queued")
    assert str(host_a.proc.pid) not in azurite_cli("status", home)

    assert host_b.terminate(signal.SIGTERM) == 0
    assert not any(is_listening("127.0.0.1", p) for p in ports)
    assert "No Azurite started by funchost is running" in azurite_cli("status", home)
    assert "storage did not answer" not in host_b.output


def test_azurite_stop_ends_an_azurite_whose_host_was_killed(
    shared: tuple[list[Path], list[int], Path], start_host: Callable[..., Any]
) -> None:
    (app_a, _), ports, home = shared
    host = start_host(["--port", str(free_port())], app_a)
    host.wait_for("For detailed output", timeout=60)
    host.kill()  # no chance to clean up: Azurite stays, its lease is stale
    assert all(is_listening("127.0.0.1", p) for p in ports)
    status = azurite_cli("status", home)
    assert f"blob {ports[0]}" in status and "hosts using it (pids): none" in status

    assert "Stopped Azurite" in azurite_cli("stop", home)
    assert not any(is_listening("127.0.0.1", p) for p in ports)  # stop waits until it is gone
    assert "No Azurite started by funchost is running" in azurite_cli("status", home)
