"""Anchors under storage failures and partition hand-overs (engine/anchors.py), on Azurite.

An activity run from memory has no work-item message: the instance's anchor (a control message kept
locked) and the sentinel's record stand for it. These tests drive the interleavings in which a host
could settle an anchor while the sentinel names activities it does not know of.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from engine_support import APPS, until, until_status

from host.durable.replay.history import EventType
from host.durable.taskhub.hub import TaskHubNames
from host.durable.taskhub.names import escape_key
from host.durable.taskhub.rows import SENTINEL_ROW_KEY, RecoveryRecord
from host.errors import StorageUnreachableError
from host.storage.azure.storage import AzureStorage
from host.storage.connection import parse_connection_string
from host.storage.faults import FaultyStorage
from host.storage.interface import Storage, TableOp
from host.testing.app_host import AppHost

CHAIN_APP = APPS / "chain"
SHORT_LOCK = {"extensions": {"durableTask": {"storageProvider": {"controlQueueVisibilityTimeout": 5}}}}
TASK_SCHEDULED, TASK_COMPLETED = int(EventType.TaskScheduled), int(EventType.TaskCompleted)


class LostCheckpointAnswer(FaultyStorage):
    """Lets every call through, except: the checkpoint of ``instance_id`` that schedules activity
    ``task_id`` is written but answered with an error (as when storage restarts mid-answer), and
    from then on the history table is refused until ``accept(history_table)``."""

    def __init__(self, inner: Storage, history_table: str, instance_id: str, task_id: int) -> None:
        super().__init__(inner, rate=0.0)
        self.history_table = history_table
        self.key = escape_key(instance_id)
        self.task_id = task_id
        self.hit = asyncio.Event()

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
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
        if not target:
            return await super().transact(table, ops)
        await self.inner.transact(table, ops)
        self.refuse(table)
        self.hit.set()
        raise StorageUnreachableError(f"transaction on table {table}: answer lost (injected)")


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
            storage.accept(storage.history_table)
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


async def test_an_anchor_another_host_received_and_deleted_stands_for_no_new_activity(
    azurite_connection_string: str,
) -> None:
    # Two hosts both serve the instance's partition (as while a lease moves after a storage
    # outage). The first runs activity 0 from memory on the start message (its anchor) and, cut off
    # from the control queues, cannot renew the anchor's lock. The second receives the anchor, sends
    # activity 0 again (the sentinel names it), checkpoints and deletes the anchor. Back online, the
    # first host checkpoints an event and then activity 0's completion; neither checkpoint may name
    # the anchor it still thinks it holds (that message is gone) nor run activity 1 from memory on it:
    # when the first host dies, nothing would run activity 1.
    hub_name = f"t{uuid.uuid4().hex[:16]}"
    iid = f"stale-anchor-{uuid.uuid4().hex[:8]}"
    names = TaskHubNames(hub_name, 2)
    control = names.control_queue_for(iid)
    real = AzureStorage(parse_connection_string(azurite_connection_string))
    storage = FaultyStorage(real, rate=0.0)  # refuses the control queues to the first host only
    common: dict[str, Any] = {"hub_name": hub_name, "host_json": SHORT_LOCK, "virtual_time": False}
    try:
        async with AppHost(CHAIN_APP, storage=storage, **common) as first:
            release_a, started_b = asyncio.Event(), asyncio.Event()

            async def first_say_hello(city: str) -> str:
                if city == "a":
                    await release_a.wait()
                else:  # the first host "hangs" in activity 1 until it dies
                    started_b.set()
                    await asyncio.Event().wait()
                return f"Hello {city}!"

            first_stub = first.stub("say_hello", first_say_hello)
            await first.start("hello_chain", ["a", "b", "c"], instance_id=iid)
            await until(lambda: first_stub.calls, 30, what="activity 0 to run on the first host")
            anchor = await record_of(real, names, iid)
            assert anchor is not None and anchor.tasks == (0,), anchor
            for queue in names.control_queues:
                storage.refuse(queue)
            async with AppHost(CHAIN_APP, connection_string=azurite_connection_string, **common) as second:
                second_stub = second.stub("say_hello", lambda _city: asyncio.Event().wait())  # hangs

                async def anchor_taken_and_deleted() -> bool:
                    record = await record_of(real, names, iid)
                    return record is None and await real.queue_length(control) == 0

                await until(anchor_taken_and_deleted, 30, what="the second host to settle the anchor")
                assert second_stub.calls == ["a"]  # it sent activity 0 again
            for queue in names.control_queues:
                storage.accept(queue)
            # Any message makes the first host checkpoint again before activity 0 completes (here an
            # event nobody waits for): its anchor must not be named in the sentinel again.
            before = len((await first.durable.hub.load_history(iid)).events)
            await first.raise_event(iid, "nudge", 1)

            async def nudged() -> bool:
                return len((await first.durable.hub.load_history(iid)).events) > before

            await until(nudged, 30, what="the event's checkpoint")
            release_a.set()
            await asyncio.wait_for(started_b.wait(), 30)
            await first.durable.engine.stop(timeout=0.1)  # dies (no partition table: nothing handed back)
        async with AppHost(CHAIN_APP, connection_string=azurite_connection_string, **common) as third:
            status = await until_status(third, iid, "Completed", timeout=45)
            assert third.output(status) == ["Hello a!", "Hello b!", "Hello c!"]
    finally:
        await real.close()


async def record_of(storage: Storage, names: TaskHubNames, instance_id: str) -> RecoveryRecord | None:
    """The sentinel's recovery record (``None``: none, or cleared)."""
    row = await storage.get_row(names.history_table, escape_key(instance_id), SENTINEL_ROW_KEY)
    return RecoveryRecord.from_columns(row) if row is not None else None
