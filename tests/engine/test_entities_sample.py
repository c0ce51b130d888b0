"""The root sample app's aggregator (samples/aggregator.py) end to end on Azurite: the Counter
entity fed over HTTP (standing in for an event stream) and read back over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from waiting import eventually

from host.testing.app_host import AppHost

ROOT_APP = Path(__file__).resolve().parents[2]


async def test_aggregator_feeds_resets_and_reads_the_counter(azurite_connection_string: str) -> None:
    key = uuid.uuid4().hex[:8]
    async with AppHost(ROOT_APP, connection_string=azurite_connection_string, virtual_time=False) as host:
        c = host.client
        assert c is not None
        assert (await c.get(f"/api/aggregator/{key}")).status_code == 404
        posted = await asyncio.gather(
            *(c.post(f"/api/aggregator/{key}", content=json.dumps(n)) for n in range(1, 11)),
            c.post(f"/api/aggregator/{key}", json={"value": 100}),
        )
        assert [r.status_code for r in posted] == [202] * 11
        assert (await c.post(f"/api/aggregator/{key}", content="not json")).status_code == 400

        async def value() -> object:
            r = await c.get(f"/api/aggregator/{key}")
            return r.json()["value"] if r.status_code == 200 else None

        async def until(expected: int) -> None:
            async def reached() -> bool:
                return await value() == expected

            await eventually(reached, 20, f"the counter to be {expected}", interval=0.02)

        await until(155)
        assert (await c.post(f"/api/aggregator/{key}/reset")).status_code == 202
        await until(0)
        assert (await c.get(f"/api/aggregator/{key}")).json() == {"key": key, "value": 0}
