"""``python -m host durable clean-entities`` removes deleted, empty entities straight from storage."""

from __future__ import annotations

import asyncio
import json
import sys

from entities_support import (
    ENTITIES_APP,
    deleted_and_alive,
    entity_row,
    entity_state,
)

from host.testing.app_host import AppHost

HOST_APP = ENTITIES_APP


async def test_clean_entities_command(host: AppHost, azurite_connection_string: str) -> None:
    deleted, alive = await deleted_and_alive(host)

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "host",
        "durable",
        "clean-entities",
        "--connection",
        azurite_connection_string,
        "--hub",
        host.hub_name,
        "--min-idle",
        "0",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    body = json.loads(out)
    assert deleted.instance_id in body["removed"] and alive.instance_id not in body["removed"]
    assert await entity_row(host, deleted) is None
    assert await entity_state(host, alive) == (True, 2)
