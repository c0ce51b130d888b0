"""The repository's sample app (root function_app.py): the four Durable Functions patterns over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_support import output, until

from host.durable.replay.history import parse_timestamp
from host.testing.app_host import AppHost

ROOT = Path(__file__).resolve().parents[2]
STARTED: dict[str, dict[str, str]] = {}
"""The 202 payload (management URLs) of every instance started through the sample's starter."""


@pytest.fixture
async def sample(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(ROOT, connection_string=azurite_connection_string, virtual_time=False) as h:
        yield h


async def start(host: AppHost, pattern: str, body: Any = None) -> str:
    assert host.client is not None
    response = await host.client.post(
        f"/api/patterns/{pattern}", content=None if body is None else json.dumps(body)
    )
    assert response.status_code == 202, response.text
    payload = response.json()
    STARTED[str(payload["id"])] = payload
    assert payload["statusQueryGetUri"] and response.headers["location"]
    return str(payload["id"])


async def test_chaining(sample: AppHost) -> None:
    status = await sample.wait(await start(sample, "chaining"), 20)
    assert output(status) == "Order order-1 confirmed (R-order-1-5)"


async def test_fan_out_fan_in(sample: AppHost) -> None:
    docs = ["one two", "three", "four five six"]
    status = await sample.wait(await start(sample, "fan-out", docs), 20)
    assert output(status) == {"documents": 3, "words": 6}


async def test_monitor_polls_until_done(sample: AppHost) -> None:
    ready = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    status = await sample.wait(
        await start(sample, "monitor", {"job_id": "j1", "ready_at": ready, "poll_seconds": 1}), 20
    )
    result = output(status)
    assert result["status"] == "done" and result["checks"] >= 2


async def test_monitor_expires(sample: AppHost) -> None:
    ready = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    status = await sample.wait(
        await start(
            sample, "monitor", {"job_id": "j2", "ready_at": ready, "poll_seconds": 0.5, "expiry_seconds": 1.5}
        ),
        20,
    )
    assert output(status)["status"] == "expired"


async def test_approval_event_beats_the_72_hour_timer(sample: AppHost) -> None:
    iid = await start(sample, "approval")
    history = await _until_timer(sample, iid)
    created = next(e for e in history if e["EventType"] == 10)
    started = parse_timestamp(history[0]["Timestamp"])
    assert abs(parse_timestamp(created["FireAt"]) - started - timedelta(hours=72)) < timedelta(minutes=1)
    assert sample.client is not None
    send_event = STARTED[iid]["sendEventPostUri"].replace("{eventName}", "Approval")
    response = await sample.client.post(
        send_event, content=json.dumps("alice"), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    status = await sample.wait(iid, 20)
    assert output(status) == {"approved": True, "by": "alice"}


async def test_approval_escalates_on_timeout(sample: AppHost) -> None:
    iid = await start(sample, "approval", {"subject": "laptop", "timeout_hours": 0.0003})
    status = await sample.wait(iid, 20)
    assert output(status) == {"approved": False, "escalated_to": "manager"}


async def _until_timer(host: AppHost, iid: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        history = await host.management.get_history(iid)
        return history if any(e["EventType"] == 10 for e in history) else None

    return await until(probe, 20, what="the approval timer")
