"""GET /admin/durable/instances/{id} on a real engine over Azurite: why an instance waits, and where."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from waiting import eventually

from host.durable.instance_report import instance_report
from host.durable.replay import history as h
from host.durable.replay.source import TracedOrchestrator
from host.testing.app_host import AppHost

APP = Path(__file__).parent / "apps" / "waiting"


class Counting(TracedOrchestrator):
    """A traced handle that counts its calls."""

    calls = 0

    def __call__(self, context: Any) -> str:
        self.calls += 1
        return super().__call__(context)


def approval_line() -> int:
    lines = (APP / "function_app.py").read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if "# @approval" in text)


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(APP, connection_string=azurite_connection_string, virtual_time=False) as h:
        yield h


async def report(host: AppHost, instance_id: str, **params: str) -> dict[str, Any]:
    assert host.client is not None
    r = await host.client.get(f"/admin/durable/instances/{instance_id}", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def waiting_for(host: AppHost, instance_id: str, text: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body = await report(host, instance_id)
        return body if text in body["waiting"]["sentence"] else None

    found: dict[str, Any] = await eventually(probe, 30, f"the sentence to say {text!r}")
    return found


async def test_the_report_follows_an_approval_from_activity_to_event(host: AppHost, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    worker = host.durable.engine.worker_id
    iid = await host.start("approval", str(gate))

    running = await waiting_for(host, iid, f"running on host {worker}")
    assert running["waiting"]["state"] == "waiting"
    assert running["waiting"]["items"][0]["kind"] == "activity"
    assert running["waiting"]["items"][0]["name"] == "gated"
    assert running["runtimeStatus"] == "Running" and running["sourceFrom"] == "episode"

    gate.touch()
    body = await waiting_for(host, iid, 'waiting for event "Approval"')
    assert body["waiting"]["sentence"].endswith(f" at function_app.py:{approval_line()}")
    assert body["waiting"]["source"] == {
        "file": "function_app.py",
        "line": approval_line(),
        "function": "approval",
    }
    assert body["sourceFrom"] == "episode"
    assert body["history"]["byType"]["TaskCompleted"] == 1

    # the host that ran the activity is on its completion row, not in what the SDK is shown
    history = await host.management.get_history(iid)
    completed = [e for e in history if h.etype(e) == h.EventType.TaskCompleted]
    assert completed[0][h.EXECUTED_BY] == worker
    with_events = await report(host, iid, showHistory="true")
    assert [
        e.get(h.EXECUTED_BY) for e in with_events["historyEvents"] if e["EventType"] == "TaskCompleted"
    ] == [worker]

    # an event nobody waits for is buffered, and named
    await host.raise_event(iid, "Other", 1)
    await waiting_for(host, iid, 'other events buffered: "Other"')

    # without the engine's record (another host, a restart) the line comes from replaying the code
    replayed = await instance_report(
        host.management, iid, handles=host.durable.engine.orchestrator_handle, app_root=APP
    )
    assert replayed.source_from == "replay"
    assert replayed.waiting.source is not None and replayed.waiting.source.line == approval_line()
    assert [i.name for i in replayed.waiting.items] == ["Approval"]
    # a page polling that instance replays its code once per history, not once per poll
    plain = host.registry.orchestrator("approval")
    assert plain is not None
    counting = Counting(plain.func, plain.func.__dict__["orchestrator_function"])
    for _ in range(3):
        again = await instance_report(host.management, iid, handles=lambda name: counting)
        assert again.source_from == "replay" and again.waiting.source is not None
    assert counting.calls == 1
    bare = await instance_report(host.management, iid)
    assert bare.source_from == "none" and "an external event" in bare.waiting.sentence

    await host.raise_event(iid, "Approval", True)
    status = await host.wait(iid)
    assert status.runtime_status == "Completed"
    done = await report(host, iid)
    assert done["waiting"] == {
        "state": "finished",
        "sentence": "not waiting: the instance is Completed",
        "items": [],
        "buffered": [],
        "since": None,
        "source": None,
    }


async def test_a_parent_names_its_child_and_the_child_status(host: AppHost, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    iid = await host.start("parent", str(gate))
    body = await waiting_for(host, iid, f'sub-orchestration "approval" ({iid}:child: Running)')
    assert body["waiting"]["items"][0]["instanceId"] == f"{iid}:child"
    await host.raise_event(f"{iid}:child", "Approval", "yes")
    assert (await host.wait(iid)).runtime_status == "Completed"


async def test_unknown_and_impossible_ids_are_named(host: AppHost) -> None:
    assert host.client is not None
    r = await host.client.get("/admin/durable/instances/no-such-instance")
    assert r.status_code == 404
    assert "no-such-instance" in r.json()["Message"]
    r = await host.client.get("/admin/durable/instances/" + "x" * 300)
    assert r.status_code == 400 and "must not be longer" in r.json()["Message"]
    r = await host.client.get("/admin/durable/instances/x", params={"showHistory": "maybe"})
    assert r.status_code == 400 and "showHistory" in json.dumps(r.json())
