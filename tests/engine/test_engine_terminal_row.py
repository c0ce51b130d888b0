"""An orchestration whose last episode wrote history but not its Instances row still ends up Completed.

The chaos test found it: Azurite went away between the history append with ExecutionCompleted
and the Instances-row write, and the instance stayed Running for ever. The consumed messages must
outlive a failed terminal row write (they are deleted after it), and their redelivery must
repair the row from the history (DTFx does the same for a finished instance's late messages).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from engine_support import FEATURES, raise_event, until_custom_status, until_status
from waiting import eventually

from host.durable.engine.later_deletes import DELAY_SECONDS
from host.durable.replay.history import EventType
from host.durable.taskhub.rows import InstanceStatus
from host.errors import StorageUnreachableError
from host.storage.azure.storage import AzureStorage
from host.storage.connection import StorageAccount, parse_connection_string
from host.storage.interface import TableOp
from host.testing.app_host import AppHost

CHAIN_APP = Path(__file__).parent / "apps" / "chain"
HOST_JSON = {
    "extensions": {"durableTask": {"storageProvider": {"controlQueueVisibilityTimeout": "00:00:05"}}}
}


class TerminalRowOutage(AzureStorage):
    """Azurite, except that the first write of a finished Instances row fails as if Azurite were down."""

    def __init__(self, connection: StorageAccount) -> None:
        super().__init__(connection)
        self.failed: list[str] = []

    async def write_row(self, table: str, op: TableOp) -> str | None:
        if table.endswith("Instances") and op.entity.get("RuntimeStatus") == "Completed" and not self.failed:
            self.failed.append(str(op.entity["PartitionKey"]))
            raise StorageUnreachableError(f"write {table}: storage did not answer (injected)")
        return await super().write_row(table, op)


async def test_a_failed_terminal_row_write_is_repaired(azurite_connection_string: str) -> None:
    storage = TerminalRowOutage(parse_connection_string(azurite_connection_string))
    try:
        async with AppHost(CHAIN_APP, storage=storage, host_json=HOST_JSON, virtual_time=False) as host:
            await host.management.start_orchestration(
                "hello_chain", "terminal-row", json.dumps(json.dumps(["a", "b"]))
            )

            async def row() -> InstanceStatus | None:
                status = await host.management.get_status("terminal-row")
                return status if status is not None and status.runtime_status == "Completed" else None

            status = await eventually(row, 60, "the Instances row to say Completed", interval=0.2)
            assert storage.failed == ["terminal-row"]
            assert json.loads(status.output or "null") == ["Hello a!", "Hello b!"]
            history = await host.management.get_history("terminal-row")
            assert [e["EventType"] for e in history].count(int(EventType.ExecutionCompleted)) == 1
    finally:
        await storage.close()


class StalledTerminalRow(AzureStorage):
    """Azurite, except that the first write of a finished Instances row hangs for ``stall`` seconds
    and then fails, as when Azurite stops answering mid-request and then goes away."""

    def __init__(self, connection: StorageAccount, stall: float) -> None:
        super().__init__(connection)
        self.stall = stall
        self.failed: list[str] = []

    async def write_row(self, table: str, op: TableOp) -> str | None:
        if table.endswith("Instances") and op.entity.get("RuntimeStatus") == "Completed" and not self.failed:
            self.failed.append(str(op.entity["PartitionKey"]))
            await asyncio.sleep(self.stall)
            raise StorageUnreachableError(f"write {table}: storage did not answer (injected)")
        return await super().write_row(table, op)


async def test_a_terminal_row_write_slower_than_the_later_deletes_is_repaired(
    azurite_connection_string: str,
) -> None:
    # The last step's activity gets a work item of its own (the episode that schedules it consumed
    # only an event, which cannot anchor activities run from memory), so the ending episode's batch
    # holds only that work item's completion. Its delete must wait for the Instances row: deleted by
    # the later deletes' timer while the row write hangs, nothing would bring the instance back.
    storage = StalledTerminalRow(parse_connection_string(azurite_connection_string), DELAY_SECONDS + 1)
    iid = f"stalled-row-{uuid.uuid4().hex[:8]}"
    try:
        async with AppHost(FEATURES, storage=storage, host_json=HOST_JSON, virtual_time=False) as host:
            await host.start("gated_chain", instance_id=iid)
            for step in range(3):
                await until_custom_status(host, iid, {"step": step}, timeout=30)
                await raise_event(host, iid, "Step", step)
            status = await until_status(host, iid, "Completed", timeout=60)
            assert storage.failed == [iid]
            assert host.output(status) == [0, 1, 2]
            history = await host.management.get_history(iid)
            assert [e["EventType"] for e in history].count(int(EventType.ExecutionCompleted)) == 1
    finally:
        await storage.close()


async def test_a_stop_during_a_hung_terminal_row_write_leaves_the_instance_to_the_next_host(
    azurite_connection_string: str,
) -> None:
    # As above, but the host stops while the row write hangs: the stop deletes the checkpointed work
    # items it still holds, which must not include the ending episode's (the next host runs that
    # activity again when its lock ends, and its completion repairs the row).
    storage = StalledTerminalRow(parse_connection_string(azurite_connection_string), 3600)
    iid = f"stopped-row-{uuid.uuid4().hex[:8]}"
    common: dict[str, Any] = {"hub_name": f"t{uuid.uuid4().hex[:16]}", "host_json": HOST_JSON}
    try:
        async with AppHost(FEATURES, storage=storage, virtual_time=False, **common) as first:
            await first.start("gated_chain", instance_id=iid)
            for step in range(3):
                await until_custom_status(first, iid, {"step": step}, timeout=30)
                await raise_event(first, iid, "Step", step)
            await eventually(lambda: storage.failed == [iid], 30, "the ending episode's row write")
            await first.durable.engine.stop(timeout=0.5)
        async with AppHost(
            FEATURES, connection_string=azurite_connection_string, virtual_time=False, **common
        ) as second:
            status = await until_status(second, iid, "Completed", timeout=60)
            assert second.output(status) == [0, 1, 2]
    finally:
        await storage.close()
