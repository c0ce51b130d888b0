"""The partition manager's loop survives an unexpected error in a pass (logged, next pass runs):
a dead loop would stop renewing leases while this host keeps serving its partitions."""

from __future__ import annotations

import logging

import pytest
from waiting import eventually

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.partitions import PartitionManager, PartitionTimings

FAST = PartitionTimings(renew_interval=0.2, acquire_interval=0.2, lease_interval=1.5, waiting_interval=0.1)


class FlakyManager(PartitionManager):
    """Its second pass raises (a bug in a callback, say)."""

    passes = 0

    async def run_once(self) -> float:
        self.passes += 1
        if self.passes == 2:
            raise RuntimeError("injected failure in a partition pass")
        return await super().run_once()


async def test_the_loop_keeps_running_after_an_unexpected_error(
    hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="host")
    manager = FlakyManager(hub, "w1", lambda i: None, lambda i: None, FAST)
    await manager.start()
    try:
        await eventually(lambda: manager.passes >= 4, 10, what="passes after the failing one")
        assert manager.owned == set(range(hub.names.partition_count))
        assert any(
            "a pass failed" in r.getMessage() and r.exc_info and "injected" in str(r.exc_info[1])
            for r in caplog.records
        )
    finally:
        await manager.stop(release=True)
