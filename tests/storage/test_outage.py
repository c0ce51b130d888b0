"""A storage outage while a host runs: the host stays up, says what is wrong, answers 503, keeps
its logs short, and carries on when storage is back.

The host is a real ``python -m host start`` subprocess over its own Azurite (on disk, so the task
hub survives a restart of it), stopped and started again by the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from host_process_support import start_host, stop_host
from waiting import eventually

from host.storage.azurite import AzuriteProcess, free_port, start_azurite_on_free_ports

REPO = Path(__file__).resolve().parents[2]

APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{name}")
@app.durable_client_input(client_name="client")
async def starter(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, None)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def hello(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("say", "outage"))


@app.activity_trigger(input_name="who")
def say(who: str) -> str:
    return f"hello {who}"
"""


@pytest.fixture
def own_azurite(tmp_path: Path) -> Iterator[AzuriteProcess]:
    """An Azurite of this test only (the session's is shared and must not be stopped)."""
    proc = start_azurite_on_free_ports(tmp_path / "azurite")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def app_dir(tmp_path: Path, own_azurite: AzuriteProcess) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "function_app.py").write_text(APP)
    (root / "host.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "durableTask": {"hubName": "OutageHub", "storageProvider": {"partitionCount": 1}}
                },
            }
        )
    )
    (root / "local.settings.json").write_text(
        json.dumps(
            {
                "IsEncrypted": False,
                "Values": {
                    "FUNCTIONS_WORKER_RUNTIME": "python",
                    "AzureWebJobsStorage": own_azurite.connection_string,
                },
            }
        )
    )
    return root


async def _completes(client: httpx.AsyncClient, started: httpx.Response) -> bool:
    assert started.status_code == 202, started.text
    status = await client.get(started.json()["statusQueryGetUri"])
    return (
        status.status_code == 200
        and status.json()["runtimeStatus"] == "Completed"
        and status.json()["output"] == "hello outage"
    )


@pytest.mark.subprocess
async def test_host_rides_out_a_storage_outage(app_dir: Path, own_azurite: AzuriteProcess) -> None:
    port = free_port()
    log_path = app_dir / "host.log"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    with log_path.open("w") as out:
        proc = start_host(app_dir, port, env, out, cwd=app_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:

            async def status() -> dict | None:
                assert proc.poll() is None, log_path.read_text()
                try:
                    r = await client.get("/admin/host/status")
                except httpx.TransportError:
                    return None
                return r.json() if r.status_code == 200 else None

            await eventually(lambda: _state_is(status, "Running"), timeout=60, what="the host to start")
            first = await client.post("/api/start/hello")
            await eventually(lambda: _completes(client, first), timeout=30, what="an orchestration before")

            own_azurite.stop()  # the outage
            down = await eventually(
                lambda: _storage_failures(status, 20),
                timeout=90,
                what="/admin/host/status to report 20 failed storage requests",
            )
            assert "unreachable" in down["storage"]["error"] and down["state"] == "Running"
            assert down["storage"]["error"] in down["errors"]
            assert (await client.get("/admin/host/ping")).status_code == 200  # the host is up
            refused = await client.post("/api/start/hello")
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] == "Storage unavailable"
            assert "unreachable" in refused.json()["detail"]
            assert "AccountKey" not in refused.text and own_azurite.connection_string not in refused.text

            own_azurite.start()  # storage is back, same ports, same data
            await eventually(lambda: _storage_ok(status), timeout=60, what="the storage problem to clear")
            after = await client.post("/api/start/hello")
            await eventually(lambda: _completes(client, after), timeout=60, what="an orchestration after")
    finally:
        stop_host(proc)
    output = log_path.read_text()
    # one line per kind of failure per interval (30 s): not a line (or traceback) per failed poll
    failure_lines = [
        line for line in output.splitlines() if re.search(r"did not answer|StorageUnreachable", line)
    ]
    assert 1 <= len(failure_lines) <= 4, "\n".join(failure_lines)
    # no traceback per failed poll or episode: only the one starter invocation that failed shows its own
    assert (
        output.count("Traceback")
        == output.count("Exception while executing function: Functions.starter")
        == 1
    ), output
    assert len(re.findall(r"Storage account devstoreaccount1 is unreachable", output)) == 1, output
    assert "answers again" in output


async def _state_is(status, state: str) -> bool:
    body = await status()
    return body is not None and body["state"] == state


async def _storage_failures(status, count: int) -> dict | None:
    body = await status()
    if body is None or "storage" not in body:
        return None
    m = re.search(r"\((\d+) failed requests\)", body["storage"]["error"])
    return body if m and int(m.group(1)) >= count else None


async def _storage_ok(status) -> bool:
    body = await status()
    return body is not None and "storage" not in body
