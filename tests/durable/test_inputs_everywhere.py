"""The same input means the same thing everywhere: every way an input enters the app × every JSON type.

Each path hands the app a JSON value; the orchestrator's ``get_input()``, the event it waits for or
the entity operation's ``get_input()`` must see exactly that value. Real engine on Azurite; the
HTTP API is called in-process (as curl would, on the public webhook path), the CLI through its
``main`` with ``--connection`` (straight against the task hub, as a user runs it).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from waiting import eventually

from host.cli import main as cli_main
from host.testing.app_host import AppHost

APP = Path(__file__).parent / "apps" / "inputs"
WH = "/runtime/webhooks/durabletask"

VALUES: dict[str, Any] = {
    "number": 42,
    "float": 1.5,
    "array": [1, 2],
    "string": "Tokyo",
    "numeric-string": "42",
    "object": {"a": 1},
    "true": True,
    "false": False,
    "null": None,
    "nested": {"a": [1, {"b": None}], "c": "x", "d": [[True]]},
}


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(APP, connection_string=azurite_connection_string, virtual_time=False) as h:
        yield h


async def _cli(host: AppHost, *args: str) -> None:
    conn = host.settings.storage_connection or ""
    code = await asyncio.to_thread(cli_main, ["durable", *args, "--connection", conn, "--hub", host.hub_name])
    assert code == 0, f"durable {' '.join(args)} exited with {code}"


async def _output(host: AppHost, instance_id: str) -> Any:
    status = await host.wait(instance_id, timeout=30)
    assert status.runtime_status == "Completed", (status.runtime_status, status.output)
    return json.loads(status.output or "null")["seen"]


async def _entity(host: AppHost, key: str) -> Any:
    async def state() -> Any:
        exists, value = await host.durable_client.read_entity_state("Box", key)
        return value if exists else None

    return (await eventually(state, 30, f"entity Box/{key} to run 'put'"))["seen"]


async def _waiting(host: AppHost) -> str:
    instance_id = await host.start("echo_event")
    await host.settle()
    return instance_id


# ---------------------------------------------------------------------------- the paths


async def _post(host: AppHost, path: str, value: Any, content_type: str = "application/json") -> Any:
    """POST ``value`` as JSON text; the 202 answer's JSON body (or None)."""
    assert host.client is not None
    r = await host.client.post(path, content=json.dumps(value), headers={"Content-Type": content_type})
    assert r.status_code == 202, r.text
    return r.json() if r.content else None


async def api_start(host: AppHost, key: str, value: Any) -> Any:
    await _post(host, f"{WH}/orchestrators/echo_input/{key}", value)
    return await _output(host, key)


async def api_entity(host: AppHost, key: str, value: Any) -> Any:
    await _post(host, f"{WH}/entities/Box/{key}?op=put", value)
    return await _entity(host, key)


async def api_entity_text(host: AppHost, key: str, value: Any) -> Any:
    """text/plain: the body is the input's JSON text, as the extension takes it."""
    await _post(host, f"{WH}/entities/Box/{key}?op=put", value, "text/plain")
    return await _entity(host, key)


async def api_raise(host: AppHost, key: str, value: Any) -> Any:
    instance_id = await _waiting(host)
    await _post(host, f"{WH}/instances/{instance_id}/raiseEvent/E", value)
    return await _output(host, instance_id)


async def sdk_start(host: AppHost, key: str, value: Any) -> Any:
    """An HTTP starter calling the SDK's ``client.start_new(name, None, req.get_json())``."""
    return await _output(host, (await _post(host, "/api/start/echo_input", value))["id"])


async def toolkit_start(host: AppHost, key: str, value: Any) -> Any:
    return await _output(host, await host.start("echo_input", value))


async def toolkit_signal(host: AppHost, key: str, value: Any) -> Any:
    await host.durable_client.signal_entity("Box", key, "put", value)
    return await _entity(host, key)


async def cli_start(host: AppHost, key: str, value: Any) -> Any:
    await _cli(host, "start", "echo_input", "--id", key, "--input", json.dumps(value))
    return await _output(host, key)


async def cli_raise(host: AppHost, key: str, value: Any) -> Any:
    instance_id = await _waiting(host)
    await _cli(host, "raise", instance_id, "E", "--data", json.dumps(value))
    return await _output(host, instance_id)


async def cli_signal(host: AppHost, key: str, value: Any) -> Any:
    await _cli(host, "signal", "Box", key, "put", "--input", json.dumps(value))
    return await _entity(host, key)


PATHS: dict[str, Callable[[AppHost, str, Any], Awaitable[Any]]] = {
    f.__name__: f
    for f in (
        api_start,
        api_entity,
        api_entity_text,
        api_raise,
        sdk_start,
        toolkit_start,
        toolkit_signal,
        cli_start,
        cli_raise,
        cli_signal,
    )
}


@pytest.mark.parametrize("path", PATHS)
async def test_every_json_type_arrives_as_sent(host: AppHost, path: str) -> None:
    send = PATHS[path]
    names = list(VALUES)
    seen = await asyncio.gather(
        *(send(host, f"{path}-{name}", VALUES[name]) for name in names), return_exceptions=True
    )
    got = {
        name: s if not isinstance(s, BaseException) else f"raised {s!r}"
        for name, s in zip(names, seen, strict=True)
    }
    assert got == VALUES


# ---------------------------------------------------------------------------- CLI: not JSON


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "args",
    [
        ("start", "echo_input", "--input", "Tokyo"),
        ("raise", "some-id", "E", "--data", "alice"),
        ("signal", "Box", "k", "put", "--input", "{a: 1}"),
    ],
)
def test_cli_value_that_is_not_json_shows_how_to_quote_it(args: tuple[str, ...]) -> None:
    # No host and no storage are needed: the value is refused before anything is sent.
    proc = subprocess.run(
        [sys.executable, "-m", "host", "durable", *args, "--host-url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc
    flag, value = args[-2], args[-1]
    assert f"{flag} is not JSON" in proc.stderr, proc.stderr
    assert f"""{flag} '"{value}"'""" in proc.stderr, proc.stderr  # the value quoted as a JSON string
    assert proc.stdout == ""
