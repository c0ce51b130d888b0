"""Entity state survives a SIGKILL of the host process and a restart (real subprocess, Azurite)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from entities_support import ENTITIES_APP
from host_process_support import start_host, stop_host
from waiting import eventually

from host.storage.azurite import free_port


class HostProcess:
    """``python -m host start`` for the entities app on a free port."""

    def __init__(self, connection_string: str, hub: str, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(
            os.environ,
            AzureWebJobsStorage=connection_string,
            AzureFunctionsJobHost__extensions__durableTask__hubName=hub,
        )
        self._log = log.open("ab")
        self.proc = start_host(ENTITIES_APP, self.port, env, self._log)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        async with httpx.AsyncClient() as c:

            async def up() -> bool:
                assert self.proc.poll() is None, "the host exited"
                try:
                    return (await c.get(f"{self.url}/admin/host/status")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout, "the host to start", interval=0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        stop_host(self.proc, 15)
        self._log.close()


@pytest.fixture
def hub() -> str:
    return "ent" + uuid.uuid4().hex[:12]


@pytest.fixture
def processes() -> Iterator[list[HostProcess]]:
    started: list[HostProcess] = []
    yield started
    for p in started:
        p.close()


async def read_value(url: str, key: str) -> object:
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.get(f"{url}/runtime/webhooks/durabletask/entities/Counter/{key}")
        return r.json() if r.status_code == 200 else None


async def wait_value(url: str, key: str, expected: int, timeout: float) -> None:
    async def reached() -> bool:
        return await read_value(url, key) == expected

    await eventually(reached, timeout, f"Counter/{key} to be {expected!r}")


async def feed(url: str, key: str, amounts: list[int]) -> None:
    async with httpx.AsyncClient(timeout=10) as c:
        rs = await asyncio.gather(
            *(c.post(f"{url}/api/counter/{key}", content=json.dumps(a)) for a in amounts)
        )
    assert all(r.status_code == 202 for r in rs)


async def test_entity_state_survives_sigkill_and_restart(
    azurite_connection_string: str, hub: str, processes: list[HostProcess], tmp_path: Path
) -> None:
    key = uuid.uuid4().hex[:8]
    first = HostProcess(azurite_connection_string, hub, tmp_path / "host.log")
    processes.append(first)
    await first.wait_ready()
    await feed(first.url, key, list(range(1, 21)))
    await wait_value(first.url, key, 210, timeout=30)
    # more signals, then a kill while they are (maybe) still being applied: none may be lost
    await feed(first.url, key, list(range(21, 41)))
    first.kill()

    # same port: the same worker id, so the new host takes its partitions back at once
    second = HostProcess(azurite_connection_string, hub, tmp_path / "host.log", first.port)
    processes.append(second)
    await second.wait_ready()
    value = await read_value(second.url, key)
    assert isinstance(value, int) and 210 <= value <= 820
    # everything applies once the new host owns the partitions (the dead host's lease expires first)
    await feed(second.url, key, [5, 6])
    await wait_value(second.url, key, 831, timeout=90)
