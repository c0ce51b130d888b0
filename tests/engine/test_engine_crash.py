"""Crash safety with real host processes on one hub: SIGKILL mid-flight, restart, two hosts sharing.

Each host is ``python -m host start`` on a free port; the app's host.json shortens the message lock
(5 s) and the partition lease (3 s) so that recovery takes seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from crash_support import (
    HUB_PARTITIONS,
    HostProcess,
    HubView,
    executions_by_pid,
)
from engine_support import APPS
from waiting import eventually

pytestmark = pytest.mark.slow

APP = APPS / "crashy"
PARTITIONS = HUB_PARTITIONS


def expected(n: int) -> int:
    return sum(n * 10 + step for step in range(3))


def spawn(started: list[HostProcess], tmp_path: Path, connection: str, hub: str, name: str) -> HostProcess:
    proc = HostProcess(APP, hub, connection, tmp_path, name)
    started.append(proc)
    return proc


async def check_all(view: HubView, count: int, timeout: float, hosts: list[HostProcess]) -> None:
    """Every instance Completed with the right output, each activity completion once in history."""

    async def all_done() -> dict[str, int] | None:
        done = await view.completed()
        return done if len(done) == count else None

    try:
        done = await eventually(all_done, timeout, f"{count} instances to complete", interval=0.3)
    except AssertionError:
        for h in hosts:
            print(f"--- {h.name} ---\n{h.tail()}")
        raise
    assert done == {f"i{n:03d}": expected(n) for n in range(count)}
    for n in range(count):
        scheduled, completions = await view.completions_per_task(f"i{n:03d}")
        assert scheduled == 3, f"i{n:03d} scheduled {scheduled} activities"
        assert completions == {0: 1, 1: 1, 2: 1}, f"i{n:03d} completions {dict(completions)}"


async def test_sigkill_mid_flight_then_restart_completes_everything(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    count = 20
    first = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "first")
    await first.ready()
    await view.start_many("slow_chain", {f"i{n:03d}": {"n": n, "seconds": 0.4} for n in range(count)})
    # Kill once about a third of the 60 activities ran: every instance is mid-flight then.
    await eventually(
        lambda: sum(executions_by_pid(tmp_path).values()) >= 20, 30, "20 activities", interval=0.2
    )
    first.kill()
    assert len(await view.completed()) < count
    second = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "second")
    await second.ready()
    await check_all(view, count, 60, hosts)
    assert second.proc.pid in executions_by_pid(tmp_path)


async def test_two_hosts_share_one_hub(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    a, b = await two_balanced_hosts(view, hosts, tmp_path, azurite_connection_string, hub_name)
    await view.start_many("slow_chain", {f"i{n:03d}": {"n": n, "seconds": 0.05} for n in range(100)})
    await check_all(view, 100, 60, hosts)
    by_pid = executions_by_pid(tmp_path)
    assert by_pid.get(a.proc.pid, 0) > 0 and by_pid.get(b.proc.pid, 0) > 0, by_pid


async def test_two_hosts_one_killed_midway(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    a, b = await two_balanced_hosts(view, hosts, tmp_path, azurite_connection_string, hub_name)
    await view.start_many("slow_chain", {f"i{n:03d}": {"n": n, "seconds": 0.2} for n in range(100)})

    async def b_busy() -> bool:
        return executions_by_pid(tmp_path).get(b.proc.pid, 0) >= 30

    await eventually(b_busy, 30, "host b to run 30 activities", interval=0.2)
    b.kill()
    assert len(await view.completed()) < 100
    await check_all(view, 100, 90, hosts)
    assert executions_by_pid(tmp_path).get(a.proc.pid, 0) > 0


async def two_balanced_hosts(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, connection: str, hub_name: str
) -> tuple[HostProcess, HostProcess]:
    """Hosts "a" and "b" on one hub, started, each owning partitions."""
    a = spawn(hosts, tmp_path, connection, hub_name, "a")
    b = spawn(hosts, tmp_path, connection, hub_name, "b")
    await a.ready()
    await b.ready()

    async def balanced() -> bool:
        return len(await view.owners()) == 2

    await eventually(balanced, 30, "both hosts to own partitions", interval=0.2)
    return a, b


async def test_sigkill_while_an_anchor_stands_for_an_activity_run_from_memory(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    # The window the anchor opens: the checkpoint holds TaskScheduled, the activity runs from memory
    # with no work-item message, and the start message it consumed is kept locked instead of deleted.
    first = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "first")
    await first.ready()
    iid = "k000"
    await view.start("slow_chain", iid, {"n": 0, "seconds": 3})

    async def running_step_0() -> bool:
        history = await view.management.get_history(iid)
        return any(e["EventType"] == 4 for e in history) and not any(e["EventType"] == 5 for e in history)

    await eventually(running_step_0, 30, "the first activity to be scheduled", interval=0.2)
    first.kill()
    names = view.hub.names
    assert await view.storage.queue_length(names.workitem_queue) == 0  # no record of its own
    assert await view.storage.queue_length(names.control_queue_for(iid)) == 1  # the anchor
    second = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "second")
    await second.ready()

    async def done() -> dict[str, int] | None:
        completed = await view.completed()
        return completed if iid in completed else None

    assert await eventually(done, 60, f"{iid} to complete", interval=0.2) == {iid: expected(0)}
    scheduled, completions = await view.completions_per_task(iid)
    assert (scheduled, dict(completions)) == (3, {0: 1, 1: 1, 2: 1})
    history = await view.management.get_history(iid)
    assert sum(1 for e in history if e["EventType"] == 0) == 1  # the redelivered start was dropped

    async def queues_empty() -> bool:
        queues = [names.workitem_queue, names.control_queue_for(iid)]
        return sum([await view.storage.queue_length(q) for q in queues]) == 0

    await eventually(queues_empty, 30, "the anchor and the re-sent work item to be deleted", interval=0.2)
    assert second.proc.pid in executions_by_pid(tmp_path)


async def test_a_new_owner_keeps_the_record_of_an_activity_a_killed_host_ran_from_memory(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    # The first host runs one activity of a fan-out from memory (one activity slot) and hangs in it;
    # the other two wait, visible, on the work-item queue. It is killed; the second host runs those
    # two and checkpoints their completions before the first host's anchor becomes visible again.
    # Those checkpoints must keep the sentinel's record of the activity nothing runs any more, or
    # the anchor comes back to a sentinel that no longer names it and the activity is lost.
    durable = "AzureFunctionsJobHost__extensions__durableTask__"
    stall = {
        "CRASH_STALL": "1",
        f"{durable}maxConcurrentActivityFunctions": "1",
        f"{durable}storageProvider__controlQueueVisibilityTimeout": "00:00:15",
    }
    first = HostProcess(APP, hub_name, azurite_connection_string, tmp_path, "first", extra_env=stall)
    hosts.append(first)
    await first.ready()
    iid = "f000"
    await view.start("tagged_fan_out", iid, {"count": 3, "seconds": 0.1})
    names = view.hub.names

    async def one_in_memory_two_queued() -> bool:
        started = tmp_path / f"started-{first.proc.pid}.txt"
        queued = await view.storage.queue_length(names.workitem_queue)
        return started.exists() and queued == 2

    await eventually(one_in_memory_two_queued, 30, "one activity from memory, two queued", interval=0.2)
    record = await view.recovery_record(iid)
    assert record is not None and len(record.tasks) == 1, record  # the activity its anchor stands for
    first.kill()
    second = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "second")
    await second.ready()

    async def two_completed() -> bool:
        _, completions = await view.completions_per_task(iid)
        return sum(completions.values()) == 2

    await eventually(two_completed, 30, "the two queued activities' completions", interval=0.2)
    assert await view.recovery_record(iid) == record

    async def done() -> dict[str, Any] | None:
        completed = await view.completed()
        return completed if iid in completed else None

    outputs = (await eventually(done, 60, f"{iid} to complete", interval=0.2))[iid]
    assert sorted(o["i"] for o in outputs) == [0, 1, 2]
    assert {o["pid"] for o in outputs} == {second.proc.pid}
    scheduled, completions = await view.completions_per_task(iid)
    assert (scheduled, sorted(completions.values())) == (3, [1, 1, 1])
