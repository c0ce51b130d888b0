"""Start-up laziness: the storage SDKs and unused components are not imported before they are needed.

The import checks run in a fresh interpreter (this one has imported everything already).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from host.config.settings import load_settings
from host.errors import StorageError, StorageUnreachableError
from host.runtime import binding_types
from host.runtime_storage import AzuritePlan, connect_storage, http_ping, start_azurite
from host.storage.azure.lazy import LazyAzureStorage
from host.storage.azurite import AzuriteProcess, free_port
from host.storage.connection import parse_connection_string

REPO = Path(__file__).resolve().parents[2]

HTTP_APP = """\
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return "hi"
"""

PROBE = """\
import asyncio, json, sys
from pathlib import Path
from host.config.settings import load_settings
from host.runtime import HostRuntime

HEAVY = ("azure.storage.queue", "azure.data.tables", "azure.storage.blob", "aiohttp",
         "host.durable.service", "host.durable.engine.dispatcher", "host.triggers.queue", "httpx")

async def main():
    runtime = HostRuntime(load_settings(Path(sys.argv[1]), azurite=False))
    await runtime.start()
    before = [m for m in HEAVY if m in sys.modules]
    storage = runtime.storage
    queue = "lazyprobe" + sys.argv[2]
    await storage.create_queue(queue)
    await storage.put_message(queue, "x")
    got = [m.content for m in await storage.peek_messages(queue)]
    await storage.delete_queue(queue)
    after = "azure.storage.queue" in sys.modules
    await runtime.stop()
    print(json.dumps({"before": before, "after": after, "got": got, "sent": storage.stats.snapshot()}))

asyncio.run(main())
"""


def test_http_only_app_starts_without_storage_sdks_or_components(
    tmp_path: Path, azurite: AzuriteProcess
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "host.json").write_text('{"version": "2.0"}')
    (app / "function_app.py").write_text(HTTP_APP)
    (app / "local.settings.json").write_text(
        json.dumps({"Values": {"AzureWebJobsStorage": azurite.connection_string}})
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(app), str(free_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before"] == []  # started (storage pinged) without any of them
    assert result["after"] is True and result["got"] == ["x"]  # first use loads the SDK and works
    assert sum(result["sent"].values()) >= 4  # the lazy storage shares the real one's counters


@pytest.mark.subprocess
def test_cli_start_does_not_import_plugin_commands() -> None:
    code = textwrap.dedent("""\
        import sys
        from host.cli import build_parser
        build_parser(plugins=False).parse_args(["start"])
        print("host.durable.cli.commands" in sys.modules, "httpx" in sys.modules)
        """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO)},
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_binding_types_of_an_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from host.indexing.loader import index_app

    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(
        HTTP_APP
        + textwrap.dedent("""
        @app.route(route="q")
        @app.queue_output(arg_name="out", queue_name="q1", connection="AzureWebJobsStorage")
        def q(req: func.HttpRequest, out: func.Out[str]) -> str:
            return "x"
        """)
    )
    try:
        registry = index_app(load_settings(tmp_path, environ={}), chdir=False)
    finally:
        sys.modules.pop("function_app", None)
    assert binding_types(registry) == {"httpTrigger", "http", "queue"}


async def test_raw_ping_accepts_each_azurite_service_and_rejects_the_wrong_one(
    azurite: AzuriteProcess,
) -> None:
    account = parse_connection_string(azurite.connection_string)
    for service in ("queue", "table", "blob"):
        await http_ping(account.endpoint(service), service)
    with pytest.raises(StorageError, match=r"Azurite-Queue/\S+ answers there, not the blob service"):
        await http_ping(account.endpoint("queue"), "blob")


async def test_raw_ping_rejects_a_server_that_is_not_storage() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(StorageError, match="not from a storage service"):
            await http_ping(f"http://127.0.0.1:{port}/devstoreaccount1", "queue")
    finally:
        server.close()
        await server.wait_closed()


async def test_connect_storage_reports_a_missing_service_clearly(
    tmp_path: Path, azurite: AzuriteProcess
) -> None:
    conn = azurite.connection_string.replace(f":{azurite.table_port}/", f":{free_port()}/")
    settings = load_settings(tmp_path, environ={}, azurite=False)
    with pytest.raises(StorageUnreachableError, match="nothing listens at"):
        await connect_storage(settings, parse_connection_string(conn), 2.0, started_azurite=False)
    account = parse_connection_string(azurite.connection_string)
    storage = await connect_storage(settings, account, 2.0, started_azurite=False)
    assert isinstance(storage, LazyAzureStorage) and not storage.materialized
    await storage.close()


@pytest.mark.subprocess
async def test_auto_started_azurite_runs_through_the_launcher_without_telemetry(tmp_path: Path) -> None:
    plan = AzuritePlan("127.0.0.1", free_port(), free_port(), free_port(), tmp_path / ".azurite")
    proc = await asyncio.to_thread(start_azurite, plan)
    try:
        launcher = plan.location / "funchost-azurite.js"
        assert proc.process is not None
        args: Any = proc.process.args
        assert args[0] == str(launcher)
        assert "applicationinsights" in launcher.read_text()
        ports = {"blob": plan.blob_port, "queue": plan.queue_port, "table": plan.table_port}
        for service, port in ports.items():
            await http_ping(f"http://127.0.0.1:{port}/devstoreaccount1", service)
    finally:
        await asyncio.to_thread(proc.stop)
