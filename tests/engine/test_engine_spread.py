"""Activities spread over every host of a hub: what the owner cannot run now waits on the shared
work-item queue for any host, and each completion reaches the orchestration exactly once.

Real ``python -m host start`` processes on one hub (the ``crashy`` app: ``tagged_step`` notes its
start and end per process and returns the pid of the process that ran it).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from crash_support import HUB_PARTITIONS, HostProcess, HubView, owned_by, partition_rows
from engine_support import APPS
from waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

APP = APPS / "crashy"
SLOTS = "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions"
EXECUTION_COMPLETED = 1


def spawn(
    hosts: list[HostProcess], tmp_path: Path, connection: str, hub: str, name: str, slots: int
) -> HostProcess:
    proc = HostProcess(APP, hub, connection, tmp_path, name, extra_env={SLOTS: str(slots)})
    hosts.append(proc)
    return proc


async def fan_out_on_two_hosts(
    view: HubView,
    hosts: list[HostProcess],
    tmp_path: Path,
    connection: str,
    hub: str,
    *,
    slots: tuple[int, int],
    count: int,
    seconds: float,
) -> tuple[HostProcess, HostProcess, str]:
    """Two hosts on ``hub`` with these activity slots; once each owns half of the partitions, a
    fan-out of ``count`` ``tagged_step`` activities on an instance the first one owns: (first, second, id)."""
    first = spawn(hosts, tmp_path, connection, hub, "first", slots[0])
    second = spawn(hosts, tmp_path, connection, hub, "second", slots[1])
    await first.ready()
    await second.ready()

    async def balanced() -> list[dict[str, Any]] | None:
        rows = await partition_rows(view)
        return rows if owned_by(rows, first) == owned_by(rows, second) == HUB_PARTITIONS // 2 else None

    rows = await eventually(balanced, 30, "the two hosts to own half of the partitions each", interval=0.2)
    owned = {str(r["RowKey"]) for r in rows if str(r.get("CurrentOwner", "")).endswith(f"-{first.port}")}
    instance = next(iid for n in range(1000) if view.hub.names.control_queue_for(iid := f"fan{n}") in owned)
    await view.start("tagged_fan_out", instance, {"count": count, "seconds": seconds})
    return first, second, instance


async def finished(view: HubView, instance_id: str, timeout: float) -> Any:
    async def done() -> Any:
        return (await view.completed()).get(instance_id)

    return await eventually(done, timeout, f"{instance_id} to complete", interval=0.2)


def noted(log_dir: Path, kind: str, host: HostProcess) -> list[int]:
    """The activity numbers ``host`` noted as ``started`` or ``ended``."""
    path = log_dir / f"{kind}-{host.proc.pid}.txt"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


async def assert_each_completed_once(view: HubView, instance_id: str, count: int) -> None:
    scheduled, completed = await view.completions_per_task(instance_id)
    assert scheduled == count
    assert len(completed) == count and set(completed.values()) == {1}, completed
    history = await view.management.get_history(instance_id)
    assert sum(1 for e in history if e["EventType"] == EXECUTION_COMPLETED) == 1


async def test_a_fan_out_runs_on_both_hosts_and_each_result_arrives_once(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    count = 40
    first, second, instance = await fan_out_on_two_hosts(
        view, hosts, tmp_path, azurite_connection_string, hub_name, slots=(2, 2), count=count, seconds=0.1
    )

    output = await finished(view, instance, 60)
    assert [r["i"] for r in output] == list(range(count))
    ran_on = Counter(r["pid"] for r in output)
    assert set(ran_on) == {first.proc.pid, second.proc.pid}, f"activities ran on {dict(ran_on)}"
    await assert_each_completed_once(view, instance, count)
    # Nobody died: every activity ran once, on the host its result names.
    for host in (first, second):
        assert sorted(noted(tmp_path, "ended", host)) == sorted(
            r["i"] for r in output if r["pid"] == host.proc.pid
        )


async def test_work_items_held_by_a_killed_host_are_redone_elsewhere(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    # The owner runs one activity at a time; the other host takes up to 8 from the shared queue.
    count = 16
    owner, helper, instance = await fan_out_on_two_hosts(
        view, hosts, tmp_path, azurite_connection_string, hub_name, slots=(1, 8), count=count, seconds=1.0
    )

    await eventually(
        lambda: len(noted(tmp_path, "started", helper)) >= 2, 60, "the helper to take work", interval=0.2
    )
    helper.kill()
    unfinished = set(noted(tmp_path, "started", helper)) - set(noted(tmp_path, "ended", helper))
    assert unfinished, "the helper finished everything it had started before it was killed"

    output = await finished(view, instance, 120)
    assert [r["i"] for r in output] == list(range(count))
    redone = {r["i"]: r["pid"] for r in output if r["i"] in unfinished}
    assert set(redone.values()) == {owner.proc.pid}, redone
    await assert_each_completed_once(view, instance, count)
