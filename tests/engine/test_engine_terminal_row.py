"""An orchestration whose last episode wrote history but not its Instances row still ends up Completed.

The chaos test found it: Azurite went away between the history append with ExecutionCompleted
and the Instances-row write, and the instance stayed Running for ever. The consumed messages must
outlive a failed terminal row write (they are deleted after it), and their redelivery must
repair the row from the history (DTFx does the same for a finished instance's late messages).
"""

from __future__ import annotations

import json
from pathlib import Path

from waiting import eventually

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
