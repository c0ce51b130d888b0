"""``python -m host doctor`` on a generated app: healthy, then each failure it checks."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import host, init_app, set_storage
from waiting import eventually

from host.storage.azurite import free_port
from host.testing.app_host import AppHost

pytestmark = pytest.mark.subprocess

INPUTS_APP = Path(__file__).parents[1] / "durable" / "apps" / "inputs"


@pytest.fixture
def app(tmp_path: Path, azurite_connection_string: str) -> Path:
    folder = init_app(tmp_path / "app")
    set_storage(folder, azurite_connection_string)
    return folder


def doctor(app: Path, *extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = host("doctor", "--json", "--no-azurite", "-p", str(free_port()), *extra, cwd=app)
    report = json.loads(result.stdout)
    assert report["ok"] is (result.returncode == 0)
    return result.returncode, {c["name"]: c for c in report["checks"]}


def test_a_healthy_app_passes_every_check(app: Path) -> None:
    code, checks = doctor(app)
    assert code == 0
    assert all(set(c) == {"name", "status", "detail", "fix"} for c in checks.values())
    assert {n: c["status"] for n, c in checks.items()} == {
        "Python": "ok",
        "SDK versions": "ok",
        "host.json": "ok",
        "local.settings.json": "ok",
        "app indexes": "ok",
        "storage": "ok",
        "foreign orchestrators": "skip",
        "port": "ok",
    }
    assert checks["app indexes"]["detail"].startswith("1 functions in ")
    text = host("doctor", "--no-azurite", "-p", str(free_port()), cwd=app)
    assert text.returncode == 0 and text.stdout.splitlines()[-1] == "All checks passed."


def test_node_and_azurite_are_checked(app: Path) -> None:
    result = host("doctor", "--json", "-p", str(free_port()), cwd=app)
    check = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["Node and Azurite"]
    assert check["status"] == "ok", check
    assert check["detail"].startswith("node v") and "azurite 3." in check["detail"]


def test_bad_host_json(app: Path) -> None:
    (app / "host.json").write_text('{"version": "1.0"}')
    code, checks = doctor(app)
    assert code == 1
    assert (
        checks["host.json"]["status"] == "fail"
        and "'1.0' is an invalid value" in checks["host.json"]["detail"]
    )
    assert checks["host.json"]["fix"]


def test_bad_local_settings_json(app: Path) -> None:
    (app / "local.settings.json").write_text('{"Values": {')
    code, checks = doctor(app)
    assert code == 1
    check = checks["local.settings.json"]
    assert check["status"] == "fail" and "Ensure it is a valid JSON file" in check["detail"]


def test_unreachable_storage(app: Path) -> None:
    port = free_port()
    set_storage(
        app,
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
    )
    code, checks = doctor(app)
    assert code == 1
    assert checks["storage"]["status"] == "fail" and checks["storage"]["fix"]
    assert checks["foreign orchestrators"]["status"] == "skip"


def test_an_app_that_does_not_import(app: Path) -> None:
    with (app / "function_app.py").open("a") as f:
        f.write("\nimport not_a_module_anywhere\n")
    code, checks = doctor(app)
    assert code == 1
    check = checks["app indexes"]
    assert check["status"] == "fail" and "not_a_module_anywhere" in check["detail"]


def test_port_in_use(app: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code, checks = doctor(app, "-p", str(port))
    assert code == 1
    assert checks["port"]["status"] == "fail" and f"port {port} is in use" in checks["port"]["detail"]


async def test_unfinished_instances_of_orchestrators_the_app_does_not_define(
    app: Path, azurite_connection_string: str
) -> None:
    assert host("new", "-t", "durable", "-n", "flow", cwd=app).returncode == 0
    async with AppHost(INPUTS_APP, connection_string=azurite_connection_string, virtual_time=False) as other:
        hub = other.hub_name
        for n in range(2):
            iid = await other.start("echo_event", instance_id=f"waits-{n}")

            async def running(iid: str = iid) -> bool:
                status = await other.management.get_status(iid)
                return status is not None and status.runtime_status == "Running"

            await eventually(running, what=f"{iid} running")
    set_storage(app, azurite_connection_string, hub=hub)
    code, checks = doctor(app)
    assert code == 1
    check = checks["foreign orchestrators"]
    assert check["status"] == "fail", check
    assert "echo_event (2)" in check["detail"] and hub in check["detail"]
    assert "hubName" in check["fix"]


def test_storage_that_refuses_the_credentials(app: Path, azurite_connection_string: str) -> None:
    parts = dict(p.split("=", 1) for p in azurite_connection_string.split(";") if p)
    parts["AccountKey"] = "d3Jvbmcta2V5LWZvci1kb2N0b3ItdGVzdA=="
    set_storage(app, ";".join(f"{k}={v}" for k, v in parts.items()))
    code, checks = doctor(app)
    assert code == 1
    check = checks["storage"]
    assert check["status"] == "fail" and "refuses an authenticated request" in check["detail"], check
    assert (
        "AccountKey" not in check["detail"].split("refuses")[0] and parts["AccountKey"] not in check["detail"]
    )
