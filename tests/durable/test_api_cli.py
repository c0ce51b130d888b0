"""``python -m host durable …`` against a served durable HTTP API over a real task hub (Azurite)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from api_test_support import T0, registry, sent_events
from starlette.applications import Starlette
from starlette.routing import Route
from waiting import eventually_sync

from host.durable.api.routes import DurableApi
from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.rows import InstanceStatus
from host.storage.azurite import free_port
from host.storage.factory import open_storage

WH = "/runtime/webhooks/durabletask"


@pytest.fixture
def served(azurite_connection_string: str) -> Iterator[tuple[str, TaskHub]]:
    loop = asyncio.new_event_loop()
    storage = open_storage(azurite_connection_string)
    hub = TaskHub(storage, TaskHubNames("cli" + uuid.uuid4().hex[:12]))

    async def seed() -> None:
        await hub.create()
        for i, status in enumerate(("Running", "Completed", "Failed")):
            await hub.write_instance(
                InstanceStatus(
                    f"inst{i}",
                    name="Orch",
                    runtime_status=status,
                    created_time=T0,
                    last_updated_time=T0,
                    input='"in"',
                    output='{"r": 1}',
                ),
                merge=False,
            )

    backend = Management(hub)

    async def resolve(task_hub: str | None, connection: str | None, *, create: bool = False) -> Management:
        return backend

    api = DurableApi(registry, resolve)
    app = Starlette(routes=[Route(WH + "/{rest:path}", api)])
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop="asyncio")
    server = uvicorn.Server(config)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(seed())
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    eventually_sync(lambda: server.started, 20, "the server to start", interval=0.02)
    yield f"http://127.0.0.1:{port}", hub
    server.should_exit = True
    thread.join(10)
    loop.run_until_complete(hub.delete())
    loop.run_until_complete(storage.close())
    loop.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host", "durable", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_commands_against_a_running_host(
    served: tuple[str, TaskHub], azurite_connection_string: str
) -> None:
    url, hub = served
    out = _cli("list", "--host-url", url)
    assert out.returncode == 0, out.stderr
    assert "inst0" in out.stdout and "Running" in out.stdout and "Instance" in out.stdout.splitlines()[0]
    out = _cli("list", "--host-url", url, "--status", "Failed", "--json")
    assert [s["instanceId"] for s in json.loads(out.stdout)] == ["inst2"]
    out = _cli("show", "inst1", "--host-url", url)
    assert out.returncode == 0 and "Completed" in out.stdout and '{"r":1}' in out.stdout
    out = _cli("start", "Orch", "--id", "new1", "--input", '{"a": 1}', "--host-url", url)
    assert out.returncode == 0 and "new1" in out.stdout and "statusQueryGetUri" not in out.stdout
    out = _cli("raise", "inst0", "Go", "--data", "5", "--host-url", url)
    assert out.returncode == 0, out.stderr
    out = _cli("terminate", "inst0", "--reason", "stop it", "--host-url", url)
    assert out.returncode == 0 and "Terminated inst0" in out.stdout
    out = _cli("rewind", "inst2", "--host-url", url)
    assert out.returncode == 0
    out = _cli("raise", "inst1", "Go", "--host-url", url)
    assert out.returncode == 1 and "410" in out.stderr
    out = _cli("purge", "inst1", "--host-url", url, "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"instancesDeleted": 1}
    out = _cli("show", "inst1", "--host-url", url)
    assert out.returncode == 1 and "404" in out.stderr

    # what the commands sent (no engine runs here): the start, the event and the termination
    async def sent_to_hub() -> list[tuple[int, str, object]]:
        storage = open_storage(azurite_connection_string)  # the server's own client lives on its loop
        try:
            return await sent_events(TaskHub(storage, hub.names))
        finally:
            await storage.close()

    sent = asyncio.run(sent_to_hub())
    assert sent == sorted([(0, "new1", "Orch"), (15, "inst0", "Go"), (3, "inst0", "stop it")], key=repr)


@pytest.mark.subprocess
def test_cli_reports_an_unreachable_host() -> None:
    out = _cli("list", "--host-url", f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 1 and "no host answers" in out.stderr
