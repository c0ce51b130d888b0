"""Work items whose completions are checkpointed are deleted later, off the critical path, and still
deleted: the queue ends empty and no activity runs twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from engine_support import APPS
from waiting import eventually

from host.durable.engine.later_deletes import LaterDeletes
from host.durable.replay import history as h
from host.durable.taskhub.messages import TaskMessage, new_message
from host.testing.app_host import AppHost

CRASHY = APPS / "crashy"


def message(instance_id: str, n: int) -> TaskMessage:
    return new_message(h.event_raised(datetime.now(UTC), "e", str(n)), instance_id=instance_id)


async def test_later_deletes_wait_for_a_flush_or_their_delay() -> None:
    deleted: list[TaskMessage] = []

    async def delete(msg: TaskMessage) -> None:
        deleted.append(msg)

    spawned: list[asyncio.Future[None]] = []

    def spawn(job: Awaitable[None], name: str) -> None:
        spawned.append(asyncio.ensure_future(job))

    later = LaterDeletes(delete, spawn, delay=0.05)
    a = [message("a", n) for n in range(3)]
    b = [message("b", n) for n in range(2)]
    later.add("a", a)
    later.add("b", b)
    later.add("c", [])
    assert deleted == [] and later.pending() == 5

    await later.flush(["a"])
    assert deleted == a and later.pending() == 2

    async def b_deleted() -> bool:
        return len(deleted) == 5 and later.pending() == 0

    await eventually(b_deleted, 10, "b's work items to be deleted after the delay", interval=0.02)
    assert deleted[3:] == b


async def test_a_fan_out_beyond_the_slots_deletes_every_work_item_and_runs_each_once(
    azurite_connection_string: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two slots: 28 of the 30 activities go through the shared work-item queue and come back to
    # this host, which owns the instance; their deletes are sent after the checkpoints.
    monkeypatch.setenv("CRASH_LOG_DIR", str(tmp_path))
    host_json = {"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 2}}}
    async with AppHost(
        CRASHY, connection_string=azurite_connection_string, host_json=host_json, virtual_time=False
    ) as host:
        status = await host.run("tagged_fan_out", {"count": 30, "seconds": 0}, timeout=120)
        assert sorted(r["i"] for r in host.output(status)) == list(range(30)), status
        hub = host.durable.hub
        engine = host.durable.engine

        async def all_deleted() -> bool:
            return engine.later_deletes.pending() == 0 and (
                await hub.storage.queue_length(hub.names.workitem_queue) == 0
            )

        await eventually(all_deleted, 30, "every work item to be deleted", interval=0.1)
    started = Counter(
        int(line) for path in tmp_path.glob("started-*.txt") for line in path.read_text().split()
    )
    assert started == Counter(range(30)), started
