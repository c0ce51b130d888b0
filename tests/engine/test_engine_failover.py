"""Partitions move fast: a host that died is replaced within its lease, one that stops hands over at once.

Real ``python -m host start`` processes on one hub; a restarted host comes back on another port, so
with another worker id (the port is part of it) and cannot simply reclaim its own rows.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from crash_support import HUB_PARTITIONS, HostProcess, HubView, owned_by, partition_rows
from engine_support import APPS
from waiting import eventually

pytestmark = pytest.mark.slow

APP = APPS / "crashy"
PARTITIONS = HUB_PARTITIONS
PROVIDER = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"


def spawn(
    hosts: list[HostProcess], tmp_path: Path, connection: str, hub: str, name: str, settings: dict[str, str]
) -> HostProcess:
    proc = HostProcess(APP, hub, connection, tmp_path, name, extra_env=settings)
    hosts.append(proc)
    return proc


async def test_host_back_on_another_port_takes_over_within_the_lease(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    short_lease = {
        f"{PROVIDER}leaseInterval": "00:00:03",
        f"{PROVIDER}leaseRenewInterval": "00:00:01",
        f"{PROVIDER}leaseAcquireInterval": "00:00:01",
    }
    first = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "first", short_lease)
    await first.ready()
    assert owned_by(await partition_rows(view), first) == PARTITIONS
    first.kill()  # no release: its rows still name it until the lease runs out
    await view.start_many("slow_chain", {f"p{n}": {"n": n, "seconds": 0} for n in range(8)})
    second = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "second", short_lease)
    assert second.port != first.port
    await second.ready()

    async def taken_over() -> bool:
        return owned_by(await partition_rows(view), second) == PARTITIONS

    await eventually(taken_over, 30, "the new host to own every partition", interval=0.2)

    async def all_done() -> dict[str, Any] | None:
        done = await view.completed()
        return done if len(done) == 8 else None

    done = await eventually(all_done, 30, "the pending instances to complete", interval=0.2)
    assert done == {f"p{n}": sum(n * 10 + s for s in range(3)) for n in range(8)}


async def test_graceful_stop_releases_partitions_and_hands_work_back(
    view: HubView, hosts: list[HostProcess], tmp_path: Path, azurite_connection_string: str, hub_name: str
) -> None:
    # A long lease and lock: whatever moves to the next host below cannot have waited for them.
    long = {f"{PROVIDER}leaseInterval": "00:05:00", f"{PROVIDER}controlQueueVisibilityTimeout": "00:05:00"}
    first = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "first", long)
    await first.ready()
    count = 20
    await view.start_many("slow_chain", {f"g{n:02d}": {"n": n, "seconds": 0.3} for n in range(count)})

    async def some_ran() -> bool:
        return sum(executions(tmp_path).values()) >= 10

    await eventually(some_ran, 30, "10 activities to run", interval=0.2)
    first.stop()  # SIGTERM: graceful
    assert first.proc.returncode == 0, first.tail()
    rows = await partition_rows(view)
    assert [r.get("CurrentOwner") for r in rows] == [None] * PARTITIONS, rows
    expiries = [r["ExpiresAt"] for r in rows if r.get("ExpiresAt") is not None]

    second = spawn(hosts, tmp_path, azurite_connection_string, hub_name, "second", long)
    await second.ready()

    async def all_done() -> dict[str, Any] | None:
        done = await view.completed()
        return done if len(done) == count else None

    done = await eventually(all_done, 60, f"{count} instances to complete on the second host", interval=0.2)
    assert done == {f"g{n:02d}": sum(n * 10 + s for s in range(3)) for n in range(count)}
    assert owned_by(await partition_rows(view), second) == PARTITIONS
    # Taken over (and everything finished) before the first host's leases would have expired.
    assert all(datetime.now(UTC) < e for e in expiries), expiries
    ran = executions(tmp_path)
    assert {k: v for k, v in ran.items() if v != 1} == {}, "an activity ran twice"
    assert len(ran) == 3 * count


def executions(log_dir: Path) -> Counter[str]:
    """How often each ``"<n> <step>"`` activity ran (every host process of the test)."""
    return Counter(line for p in log_dir.glob("*.log") for line in p.read_text().splitlines())
