"""FaultyStorage (the fault-injecting wrapper) on the real Azurite: what each fault does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from waiting import eventually

from host.errors import PreconditionFailedError, StorageBusyError, StorageUnreachableError
from host.storage.azure.storage import AzureStorage
from host.storage.azurite import AzuriteProcess
from host.storage.connection import parse_connection_string
from host.storage.faults import FAULT_KINDS, FaultyStorage
from host.storage.interface import Storage, TableOp, WriteMode


@pytest.fixture
async def real(azurite: AzuriteProcess) -> AsyncIterator[Storage]:
    s = AzureStorage(parse_connection_string(azurite.connection_string))
    try:
        yield s
    finally:
        await s.close()


async def test_a_lost_answer_was_carried_out(real: Storage) -> None:
    await real.create_queue("faultstimeout")
    faulty = FaultyStorage(real, rate=1.0, kinds=["timeout"])
    with pytest.raises(StorageUnreachableError, match="injected"):
        await faulty.put_message("faultstimeout", "it happened")
    assert [m.content for m in await real.peek_messages("faultstimeout")] == ["it happened"]
    await real.delete_queue("faultstimeout")


@pytest.mark.parametrize(
    "kind, error",
    [("busy", StorageBusyError), ("internal", StorageBusyError), ("reset", StorageUnreachableError)],
)
async def test_refused_requests_never_reach_storage(real: Storage, kind: str, error: type[Exception]) -> None:
    await real.create_queue(f"faults{kind}")
    faulty = FaultyStorage(real, rate=1.0, kinds=[kind])
    with pytest.raises(error, match="injected"):
        await faulty.put_message(f"faults{kind}", "never")
    assert await real.peek_messages(f"faults{kind}") == []
    assert faulty.injected == {kind: 1}
    await real.delete_queue(f"faults{kind}")


async def test_conflicts_only_hit_conditional_writes(real: Storage) -> None:
    await real.create_table("faultsconflict")
    faulty = FaultyStorage(real, rate=1.0, kinds=["conflict"])
    row = {"PartitionKey": "p", "RowKey": "r", "v": 1}
    etag = await faulty.write_row("faultsconflict", TableOp(WriteMode.INSERT, row))  # unconditional: no fault
    with pytest.raises(PreconditionFailedError, match="injected"):
        await faulty.write_row(
            "faultsconflict", TableOp(WriteMode.UPDATE_REPLACE, {**row, "v": 2}, etag=etag)
        )
    current = await real.get_row("faultsconflict", "p", "r")
    assert current is not None and current["v"] == 1
    await real.delete_table("faultsconflict")


async def test_a_paused_table_holds_its_calls_until_resumed(real: Storage) -> None:
    await real.create_table("faultspaused")
    await real.create_queue("faultsother")
    faulty = FaultyStorage(real, rate=0.0)
    faulty.pause("faultspaused")
    row = {"PartitionKey": "p", "RowKey": "r"}
    write = asyncio.create_task(faulty.write_row("faultspaused", TableOp(WriteMode.INSERT, row)))
    await eventually(lambda: faulty.held["faultspaused"] == 1, 10, "the write to be held")
    await faulty.put_message("faultsother", "other names are not paused")  # only the table is
    assert not write.done() and await real.get_row("faultspaused", "p", "r") is None
    faulty.resume("faultspaused")
    await write
    assert await real.get_row("faultspaused", "p", "r") is not None and faulty.held["faultspaused"] == 0
    await real.delete_table("faultspaused")
    await real.delete_queue("faultsother")


async def test_a_refused_queue_fails_every_call_until_accepted(real: Storage) -> None:
    await real.create_queue("faultsrefused")
    await real.create_queue("faultsother")
    faulty = FaultyStorage(real, rate=0.0)
    faulty.refuse("faultsrefused")
    with pytest.raises(StorageUnreachableError, match="refused"):
        await faulty.put_message("faultsrefused", "x")
    with pytest.raises(StorageUnreachableError, match="refused"):
        await faulty.receive_messages("faultsrefused")
    await faulty.put_message("faultsother", "other names pass")
    assert await real.queue_length("faultsrefused") == 0
    faulty.accept("faultsrefused")
    await faulty.put_message("faultsrefused", "y")
    assert [m.content for m in await real.receive_messages("faultsrefused")] == ["y"]
    await real.delete_queue("faultsrefused")
    await real.delete_queue("faultsother")


async def test_the_rate_and_the_seed(real: Storage) -> None:
    await real.create_queue("faultsrate")

    async def run(seed: int) -> list[str]:
        faulty = FaultyStorage(real, rate=0.1, seed=seed, kinds=["busy", "reset"])
        kinds = []
        for _ in range(300):
            try:
                await faulty.queue_length("faultsrate")
                kinds.append("")
            except (StorageBusyError, StorageUnreachableError) as err:
                kinds.append(type(err).__name__)
        return kinds

    first, again, other = await run(7), await run(7), await run(8)
    assert first == again and first != other
    assert 10 <= sum(1 for k in first if k) <= 60  # about 10 % of 300
    await real.delete_queue("faultsrate")


def test_bad_settings_are_refused(real: Storage) -> None:
    with pytest.raises(ValueError):
        FaultyStorage(real, rate=1.5)
    with pytest.raises(ValueError):
        FaultyStorage(real, kinds=["meteor"])
    assert set(FAULT_KINDS) == {"busy", "internal", "reset", "timeout", "conflict"}
