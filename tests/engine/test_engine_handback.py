"""A partition that leaves the host hands back what waits in memory, also completions of activities
run from memory (they have no queue copy: dropped, their anchor would be renewed for ever and the
orchestration would hang).

The partition loss is real: another worker takes the partition's lease in the Partitions table and
the engine's own renewal pass finds it lost. The episode still running then is stalled by a storage
outage of the History table, longer than the hand-over waits.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from waiting import eventually

from host.durable.engine import dispatcher
from host.durable.taskhub.names import escape_key
from host.durable.taskhub.rows import SENTINEL_ROW_KEY, RecoveryRecord
from host.storage.azure.storage import AzureStorage
from host.storage.connection import parse_connection_string
from host.storage.faults import FaultyStorage
from host.storage.interface import Storage, TableOp, WriteMode
from host.testing.app_host import AppHost

CHAIN_APP = Path(__file__).parent / "apps" / "chain"
TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 4, 5, 6
FAST_LEASES_SHORT_LOCKS = {
    "extensions": {
        "durableTask": {
            "storageProvider": {
                "partitionCount": 1,
                "controlQueueVisibilityTimeout": "00:00:04",
                "leaseInterval": "00:00:05",
                "leaseRenewInterval": 0.2,
                "leaseAcquireInterval": 0.2,
            }
        }
    }
}


async def set_owner(storage: Storage, host: AppHost, owner: str | None) -> None:
    """Write the partition's lease as another worker would: ``owner`` holds it for an hour (``None``:
    nobody holds it, the next pass of any worker claims it)."""
    names = host.durable.hub.names
    row = await storage.get_row(names.partitions_table, "", names.control_queue(0))
    assert row is not None
    entity: dict[str, Any] = {k: v for k, v in row.items() if k not in ("CurrentOwner", "NextOwner")}
    if owner is not None:
        now = host.durable.hub.now()
        entity.update(CurrentOwner=owner, OwnedSince=now, LastRenewal=now, ExpiresAt=now + timedelta(hours=1))
    await storage.write_row(names.partitions_table, TableOp(WriteMode.UPDATE_REPLACE, entity))


@pytest.mark.parametrize("control_queue_down", [False, True], ids=["sent", "send-fails"])
async def test_a_completion_in_memory_is_handed_back_when_the_partition_is_lost(
    azurite_connection_string: str, monkeypatch: pytest.MonkeyPatch, control_queue_down: bool
) -> None:
    # send-fails: the completion cannot be sent to the control queue either (storage down there):
    # the activity must run again (its anchor is let go and comes back), not wait for ever.
    monkeypatch.setattr(dispatcher, "DRAIN_SECONDS", 0.5)
    real = AzureStorage(parse_connection_string(azurite_connection_string))
    faulty = FaultyStorage(real, rate=0.0)
    second_may_finish = asyncio.Event()
    try:
        async with AppHost(
            CHAIN_APP,
            storage=faulty,
            host_json=FAST_LEASES_SHORT_LOCKS,
            partition_table=True,
            virtual_time=False,
        ) as host:
            engine = host.durable.engine
            history_table = host.durable.hub.names.history_table

            async def square(n: int) -> int:
                if n == 0:
                    faulty.pause(history_table)  # the checkpoint of this completion stalls
                else:
                    await second_may_finish.wait()
                return n * n

            host.stub("square", square)
            await eventually(lambda: 0 in engine.owned, 30, "the host to own the partition")
            iid = await host.start("fan_out", 2)
            await eventually(lambda: faulty.held[history_table] > 0, 30, "the first completion's checkpoint")
            sentinel = await real.get_row(history_table, escape_key(iid), SENTINEL_ROW_KEY)
            assert sentinel is not None
            record = RecoveryRecord.from_columns(sentinel)
            assert record is not None and record.tasks == (0, 1), record  # both run from memory

            # The second completion arrives in memory while the episode of the first is stuck.
            second_may_finish.set()
            await eventually(lambda: engine.buffered() == 1, 30, "the second completion in memory")

            control = host.durable.hub.names.control_queue(0)
            if control_queue_down:
                faulty.refuse(control)
            await set_owner(real, host, "another-worker")
            await eventually(
                lambda: 0 not in engine.owned and iid not in engine.sessions,
                30,
                "the engine to see the partition lost and give its sessions up",
            )
            if control_queue_down:
                await eventually(lambda: engine.anchors.get(iid) is None, 30, "the anchor to be let go")
                faulty.accept(control)
            faulty.resume(history_table)

            async def first_checkpointed() -> bool:
                history = await host.management.get_history(iid)
                return any(e["EventType"] == TASK_COMPLETED and e["TaskScheduledId"] == 0 for e in history)

            await eventually(first_checkpointed, 30, "the stalled checkpoint to be written")
            await set_owner(real, host, None)  # the other worker gives the partition back
            await eventually(lambda: 0 in engine.owned, 30, "the host to own the partition again")

            status = await host.wait(iid, timeout=30)
            assert status.runtime_status == "Completed" and host.output(status) == 1, status
            history = await host.management.get_history(iid)
            scheduled = Counter(e["EventId"] for e in history if e["EventType"] == TASK_SCHEDULED)
            completed = Counter(
                e["TaskScheduledId"] for e in history if e["EventType"] in (TASK_COMPLETED, TASK_FAILED)
            )
            assert scheduled == Counter({0: 1, 1: 1}) and completed == scheduled, history

            names = host.durable.hub.names
            queues = (names.control_queue(0), names.workitem_queue)

            async def queues_empty() -> bool:  # the anchor was deleted, not renewed for ever
                return all([await real.queue_length(q) == 0 for q in queues])

            await eventually(queues_empty, 30, "the anchor to be deleted")
    finally:
        await real.close()
