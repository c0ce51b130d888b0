"""Anchors under storage failures and partition hand-overs (engine/anchors.py), on Azurite.

An activity run from memory has no work-item message: the instance's anchor (a control message kept
locked) and the sentinel's record stand for it. These tests drive the interleavings in which a host
could settle an anchor while the sentinel names activities it does not know of.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from engine_support import APPS, until_status

from host.durable.replay.history import EventType
from host.durable.taskhub.hub import TaskHubNames
from host.durable.taskhub.names import escape_key
from host.errors import StorageUnreachableError
from host.storage.azure.storage import AzureStorage
from host.storage.connection import parse_connection_string
from host.storage.faults import FaultyStorage
from host.storage.interface import Filter, Page, Storage, TableOp
from host.testing.app_host import AppHost

CHAIN_APP = APPS / "chain"
SHORT_LOCK = {"extensions": {"durableTask": {"storageProvider": {"controlQueueVisibilityTimeout": 5}}}}
TASK_SCHEDULED, TASK_COMPLETED = int(EventType.TaskScheduled), int(EventType.TaskCompleted)


class LostCheckpointAnswer(FaultyStorage):
    """Lets every call through, except: the checkpoint of ``instance_id`` that schedules activity
    ``task_id`` is written but answered with an error (as when storage restarts mid-answer), and
    from then on the history table cannot be read or written until :meth:`heal`."""

    def __init__(self, inner: Storage, history_table: str, instance_id: str, task_id: int) -> None:
        super().__init__(inner, rate=0.0)
        self.history_table = history_table
        self.key = escape_key(instance_id)
        self.task_id = task_id
        self.hit = asyncio.Event()
        self.down = False

    def heal(self) -> None:
        self.down = False

    def _refuse(self, table: str) -> None:
        if self.down and table == self.history_table:
            raise StorageUnreachableError(f"table {table}: storage did not answer (injected outage)")

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
        self._refuse(table)
        target = (
            not self.hit.is_set()
            and table == self.history_table
            and any(
                op.entity.get("PartitionKey") == self.key
                and op.entity.get("EventType") == "TaskScheduled"
                and op.entity.get("EventId") == self.task_id
                for op in ops
            )
        )
        etags = await self.inner.transact(table, ops)
        if target:
            self.down = True
            self.hit.set()
            raise StorageUnreachableError(f"transaction on table {table}: answer lost (injected)")
        return etags

    async def query_rows(
        self,
        table: str,
        where: Filter | None = None,
        *,
        select: Sequence[str] | None = None,
        top: int | None = None,
        continuation: str | None = None,
    ) -> Page:
        self._refuse(table)
        return await self.inner.query_rows(table, where, select=select, top=top, continuation=continuation)


async def test_a_stop_after_a_checkpoint_whose_answer_was_lost_loses_no_activity(
    azurite_connection_string: str,
) -> None:
    # Activity 0 runs from memory on the start message (the anchor). Its completion's checkpoint
    # schedules activity 1 from memory on the same anchor: it is written, but its answer is lost
    # and the history cannot be read again before the host stops. The anchor in memory still
    # stands for activity 0 only; the sentinel names activity 1. Settling the anchor from memory
    # (the stop hands activity 0 back and deletes it) would leave activity 1 with nothing to run it.
    hub_name = f"t{uuid.uuid4().hex[:16]}"
    iid = f"lost-answer-{uuid.uuid4().hex[:8]}"
    real = AzureStorage(parse_connection_string(azurite_connection_string))
    try:
        storage = LostCheckpointAnswer(real, TaskHubNames(hub_name).history_table, iid, task_id=1)
        async with AppHost(
            CHAIN_APP,
            storage=storage,
            hub_name=hub_name,
            host_json=SHORT_LOCK,
            virtual_time=False,
            partition_table=True,
        ) as first:
            engine = first.durable.engine
            await first.start("hello_chain", ["a", "b", "c"], instance_id=iid)
            await asyncio.wait_for(storage.hit.wait(), 30)
            await engine.stop(timeout=2)
            storage.heal()
            loaded = await first.durable.hub.load_history(iid)
            events = loaded.events
            scheduled = [e.get("EventId") for e in events if e.get("EventType") == TASK_SCHEDULED]
            completed = [e.get("TaskScheduledId") for e in events if e.get("EventType") == TASK_COMPLETED]
            assert (scheduled, completed) == ([0, 1], [0])  # the lost answer's checkpoint was written
        async with AppHost(
            CHAIN_APP,
            connection_string=azurite_connection_string,
            hub_name=hub_name,
            host_json=SHORT_LOCK,
            virtual_time=False,
            partition_table=True,
        ) as second:
            status = await until_status(second, iid, "Completed", timeout=45)
            assert second.output(status) == ["Hello a!", "Hello b!", "Hello c!"]
    finally:
        await real.close()
