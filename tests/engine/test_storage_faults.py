"""The durable engine on Azurite behind the fault-injecting storage layer loses nothing.

10 % of all storage calls fail (503, 500, connection resets, answers lost after the write was
done, 412 on conditional writes); every instance still completes with the right output and every
scheduled activity has exactly one completion in its history. Checkpoints lost to eTag races give
back the activity slots their hand-overs took.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path

from waiting import eventually

from host.errors import InstanceAlreadyExistsError, StorageError
from host.storage.azure.storage import AzureStorage
from host.storage.connection import parse_connection_string
from host.storage.faults import FAULT_KINDS, FaultyStorage
from host.testing.app_host import AppHost

CHAIN_APP = Path(__file__).parent / "apps" / "chain"
INSTANCES = int(os.environ.get("FUNCHOST_FAULT_INSTANCES", "200"))
TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 4, 5, 6


async def test_ten_percent_storage_faults_lose_nothing(azurite_connection_string: str) -> None:
    real = AzureStorage(parse_connection_string(azurite_connection_string))
    faulty = FaultyStorage(real, rate=0.0, seed=20261206, conditional_boost=2.0)  # starts healthy
    host_json = {
        "extensions": {"durableTask": {"storageProvider": {"controlQueueVisibilityTimeout": "00:00:05"}}}
    }
    try:
        async with AppHost(CHAIN_APP, storage=faulty, host_json=host_json) as host:
            faulty.rate = 0.1
            inputs = {f"fault-{i:03d}": [f"c{i}", f"d{i}", f"e{i}"] for i in range(INSTANCES)}

            async def start(instance_id: str, cities: list[str]) -> None:
                while True:  # a client retries a start the storage refused
                    try:
                        await host.management.start_orchestration(
                            "hello_chain", instance_id, json.dumps(json.dumps(cities))
                        )
                        return
                    except InstanceAlreadyExistsError:
                        return  # an earlier attempt was done after all (its answer was lost)
                    except StorageError:
                        await asyncio.sleep(0.1)

            await asyncio.gather(*(start(i, c) for i, c in inputs.items()))

            async def all_done() -> bool:
                faulty.rate, rate = 0.0, faulty.rate  # the test's own reads are not faulted
                try:
                    statuses = [await host.management.get_status(i) for i in inputs]
                finally:
                    faulty.rate = rate
                return all(s is not None and s.runtime_status == "Completed" for s in statuses)

            await eventually(all_done, timeout=240, interval=1.0, what=f"{INSTANCES} chains to complete")
            faulty.rate = 0.0
            for instance_id, cities in inputs.items():
                status = await host.management.get_status(instance_id)
                assert status is not None and json.loads(status.output or "null") == [
                    f"Hello {c}!" for c in cities
                ]
                history = await host.management.get_history(instance_id)
                scheduled = Counter(e["EventId"] for e in history if e["EventType"] == TASK_SCHEDULED)
                completed = Counter(
                    e["TaskScheduledId"] for e in history if e["EventType"] in (TASK_COMPLETED, TASK_FAILED)
                )
                assert len(scheduled) == len(cities) and set(scheduled.values()) == {1}, (
                    instance_id,
                    history,
                )
                assert completed == scheduled, (instance_id, completed, scheduled)
    finally:
        await real.close()
    # the run really was under fire, with every kind of fault
    assert set(faulty.injected) == set(FAULT_KINDS), faulty.injected
    assert 0.07 <= sum(faulty.injected.values()) / faulty.exposed <= 0.13, (faulty.injected, faulty.exposed)


async def test_checkpoints_lost_to_etag_races_give_back_their_activity_slots(
    azurite_connection_string: str,
) -> None:
    # One activity slot, and a third of the history appends lose an eTag race (412). An episode
    # that took the slot for its next activity and then failed to checkpoint never hands that
    # activity over: unless it gives the slot back, the host runs no activity again.
    real = AzureStorage(parse_connection_string(azurite_connection_string))
    faulty = FaultyStorage(real, rate=0.0, seed=16, kinds=("conflict",))
    host_json = {"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 1}}}
    chains = {f"race-{i}": [f"c{i}-{step}" for step in range(5)] for i in range(6)}
    try:
        async with AppHost(CHAIN_APP, storage=faulty, host_json=host_json, virtual_time=False) as host:
            for instance_id, cities in chains.items():
                await host.start("hello_chain", cities, instance_id=instance_id)
            faulty.rate = 0.3
            for instance_id, cities in chains.items():
                status = await host.wait(instance_id, timeout=120)
                assert host.output(status) == [f"Hello {c}!" for c in cities], status
            assert faulty.injected["conflict"] > 0
    finally:
        await real.close()
