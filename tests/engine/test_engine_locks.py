"""Work runs once on a live host: messages that wait in memory stay locked until they are settled.

One ``python -m host start`` with a single orchestrator slot and a 3-second message lock: the
backlog makes activity completions and control messages wait many lock periods for their
orchestration's session. Without a crash nothing may run, or be applied, twice.

The module runs on an Azurite of its own: the in-memory Azurite scans every message of every
queue on each queue operation, so on the session's Azurite (which keeps what every earlier test
left) a renewal can take longer than the lock's slack and the test would measure that instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_support import HUB_PARTITIONS, HostProcess, HubView
from engine_support import APPS
from waiting import eventually

from host.durable.replay.history import EventType
from host.durable.replay.ledger import pending_payload
from host.storage.azurite import start_azurite_on_free_ports

pytestmark = pytest.mark.slow

APP = APPS / "crashy"
PARTITIONS = HUB_PARTITIONS
DURABLE = "AzureFunctionsJobHost__extensions__durableTask__"
ONE_SLOT_SHORT_LOCK = {
    f"{DURABLE}maxConcurrentOrchestratorFunctions": "1",
    f"{DURABLE}storageProvider__controlQueueVisibilityTimeout": "00:00:03",
    f"{DURABLE}storageProvider__controlQueueBufferThreshold": "64",
}
# The control-message test checks that no held message ever becomes visible again, so its lock
# leaves a renewal more slack (2.5 s) on a loaded machine; its backlog still outlasts the lock.
ONE_SLOT_LONGER_LOCK = {
    **ONE_SLOT_SHORT_LOCK,
    f"{DURABLE}storageProvider__controlQueueVisibilityTimeout": "00:00:05",
}


@pytest.fixture(scope="module")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own Azurite (see the module docstring), in place of the session's."""
    proc = start_azurite_on_free_ports(tmp_path_factory.mktemp("locks-azurite"), in_memory=True)
    try:
        yield proc.connection_string
    finally:
        proc.stop()


def _one_slot_host(
    tmp_path: Path, connection: str, hub_name: str, env: dict[str, str]
) -> Iterator[HostProcess]:
    host = HostProcess(APP, hub_name, connection, tmp_path, "one-slot", extra_env=env)
    yield host
    host.stop()


@pytest.fixture
def one_slot_host(tmp_path: Path, azurite_connection_string: str, hub_name: str) -> Iterator[HostProcess]:
    yield from _one_slot_host(tmp_path, azurite_connection_string, hub_name, ONE_SLOT_SHORT_LOCK)


@pytest.fixture
def one_slot_host_longer_lock(
    tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> Iterator[HostProcess]:
    yield from _one_slot_host(tmp_path, azurite_connection_string, hub_name, ONE_SLOT_LONGER_LOCK)


def executions(log_dir: Path) -> Counter[str]:
    """How often each ``"<n> <step>"`` activity ran (every host process of the test)."""
    return Counter(line for p in log_dir.glob("*.log") for line in p.read_text().splitlines())


async def test_activities_waiting_for_a_busy_session_run_once(
    view: HubView, one_slot_host: HostProcess, tmp_path: Path
) -> None:
    count = 150
    await one_slot_host.ready()
    await view.start_many("slow_chain", {f"i{n:03d}": {"n": n, "seconds": 0} for n in range(count)})

    async def all_done() -> dict[str, int] | None:
        done = await view.completed()
        return done if len(done) == count else None

    try:
        await eventually(all_done, 120, f"{count} instances to complete", interval=0.5)
    except AssertionError:
        print(one_slot_host.tail())
        raise
    ran = executions(tmp_path)
    twice = {k: v for k, v in ran.items() if v != 1}
    assert not twice, f"{len(twice)} activities ran more than once (lock lapsed while waiting): {twice}"
    assert len(ran) == 3 * count


def go_events(history: list[dict[str, object]]) -> int:
    """How many ``go`` events the history holds (delivered, or stored as pending)."""
    found = 0
    for e in history:
        held = pending_payload(e)
        event = held if held is not None else e
        if event.get("EventType") == int(EventType.EventRaised) and event.get("Name") == "go":
            found += 1
    return found


async def watch_for_lapsed(view: HubView, lapsed: list[str]) -> None:
    """Peek the control queues until cancelled; note every visible message that was received before."""
    while True:
        for queue in view.hub.names.control_queues:
            for m in await view.storage.peek_messages(queue):
                if m.dequeue_count > 0:
                    lapsed.append(f"{queue}/{m.id} (dequeued {m.dequeue_count}x)")
        await asyncio.sleep(0.1)


async def test_control_messages_waiting_in_memory_are_applied_once(
    view: HubView, one_slot_host_longer_lock: HostProcess
) -> None:
    count = 300
    ids = [f"g{n:03d}" for n in range(count)]
    await one_slot_host_longer_lock.ready()
    # Each "go" episode thinks for 100 ms: 64 buffered messages wait longer than the 5 s lock.
    await view.start_many("await_go", {i: {"think": 0.1} for i in ids})

    async def all_running() -> bool:
        rows, _ = await view.management.query_instances(["Running"])
        return len(rows) == count

    try:
        await eventually(all_running, 120, f"{count} instances to run", interval=0.3)
    except AssertionError:
        print(one_slot_host_longer_lock.tail())
        raise

    async def raise_go(instance_id: str) -> None:
        await view.management.raise_event(instance_id, "go", json.dumps(instance_id))

    lapsed: list[str] = []
    watcher = asyncio.create_task(watch_for_lapsed(view, lapsed))
    try:
        await asyncio.gather(*(raise_go(i) for i in ids))

        async def all_got_go() -> bool:
            rows, _ = await view.management.query_instances(["Running"])
            return sum(1 for r in rows if r.custom_status == json.dumps("got go")) == count

        await eventually(all_got_go, 240, "every instance to receive go", interval=0.5)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    # A message this host received and still holds is invisible; one seen again lost its lock.
    assert lapsed == [], (
        f"{len(lapsed)} received control messages became visible again: {lapsed[:5]}\n"
        f"{one_slot_host_longer_lock.tail()}"
    )

    # Every control message settled: a copy whose delete failed (stale lock) would still be queued.
    async def queues_empty() -> bool:
        lengths = [await view.storage.queue_length(q) for q in view.hub.names.control_queues]
        return sum(lengths) == 0

    await eventually(queues_empty, 60, "the control queues to drain", interval=0.5)
    counts = {i: go_events(await view.management.get_history(i)) for i in ids}
    assert {i: c for i, c in counts.items() if c != 1} == {}
