"""Management at engine level on Azurite: terminate, suspend/resume, rewind, restart, purge,
queries, and the history table layout as stored."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
from engine_support import (
    FEATURES,
    event_types,
    output,
    raise_event,
    until_custom_status,
    until_status,
)

from host.storage.interface import eq
from host.testing.app_host import AppHost

HOST_APP = FEATURES


async def test_terminate_a_waiting_instance(host: AppHost) -> None:
    iid = await host.start("gated_chain")
    await until_custom_status(host, iid, {"step": 0})
    await host.management.terminate(iid, "stopped by the test")
    status = await host.wait(iid, 15)
    assert status.runtime_status == "Terminated"
    assert "stopped by the test" in (status.output or "")
    assert "ExecutionTerminated" in event_types(await host.management.get_history(iid))


async def test_suspend_holds_events_until_resume(host: AppHost) -> None:
    iid = await host.start("gated_chain")
    await until_custom_status(host, iid, {"step": 0})
    await host.management.suspend(iid, "hold on")
    await until_status(host, iid, "Suspended")
    await raise_event(host, iid, "Step", None)
    # A negative check needs a bounded wait: the event must not advance a suspended instance.
    with pytest.raises(AssertionError):
        await until_custom_status(host, iid, {"step": 1}, timeout=1.0)
    assert (await host.management.get_status(iid)).runtime_status == "Suspended"  # type: ignore[union-attr]
    await host.management.resume(iid, "go on")
    await until_custom_status(host, iid, {"step": 1})
    for _ in range(2):
        await raise_event(host, iid, "Step", None)
    status = await host.wait(iid, 20)
    assert output(status) == [0, 1, 2]
    types = event_types(await host.management.get_history(iid))
    assert "ExecutionSuspended" in types and "ExecutionResumed" in types


async def test_rewind_retries_the_failed_activity(host: AppHost) -> None:
    failed = await host.run("fails_once", timeout=20)
    assert failed.runtime_status == "Failed"
    assert "flaky failure 1" in (failed.output or "")
    await host.management.rewind(failed.instance_id, "try again")
    status = await until_status(host, failed.instance_id, "Completed")
    assert output(status) == "ok after 2"


async def test_restart_runs_again_with_the_same_input(host: AppHost) -> None:
    first = await host.run("child", "again", timeout=20)
    assert output(first) == "child got again"
    new_id = await host.management.restart(first.instance_id)
    assert new_id != first.instance_id
    second = await host.wait(new_id, 20)
    assert output(second) == "child got again"
    same_id = await host.management.restart(first.instance_id, new_instance_id=False)
    assert same_id == first.instance_id
    third = await until_status(host, same_id, "Completed")
    assert third.execution_id != first.execution_id


async def test_query_by_status_time_and_prefix_then_purge(host: AppHost) -> None:
    before = host.durable.hub.now() - timedelta(seconds=1)
    done = [await host.start("child", i, instance_id=f"q-done-{i}") for i in range(3)]
    waiting = await host.start("gated_chain", instance_id="q-wait-0")
    for iid in done:
        await host.wait(iid, 20)
    await until_custom_status(host, waiting, {"step": 0})
    mgmt = host.management
    completed, _ = await mgmt.query_instances(["Completed"])
    assert {s.instance_id for s in completed} == set(done)
    running, _ = await mgmt.query_instances(["Running"])
    assert [s.instance_id for s in running] == [waiting]
    prefixed, _ = await mgmt.query_instances(instance_id_prefix="q-done-")
    assert sorted(s.instance_id for s in prefixed) == sorted(done)
    later, _ = await mgmt.query_instances(created_from=host.durable.hub.now() + timedelta(minutes=1))
    assert later == []
    in_range, _ = await mgmt.query_instances(created_from=before)
    assert len(in_range) == 4
    page, token = await mgmt.query_instances(top=2)
    assert len(page) == 2 and token
    rest, _ = await mgmt.query_instances(top=10, continuation=token)
    assert {s.instance_id for s in page + rest} == {*done, waiting}

    assert await mgmt.purge_instance(done[0]) == 1
    assert await mgmt.get_status(done[0]) is None
    assert await mgmt.get_history(done[0]) == []
    purged = await mgmt.purge_instances(before, None, ["Completed"])
    assert purged == 2
    left, _ = await mgmt.query_instances()
    assert [s.instance_id for s in left] == [waiting]  # running instances are never purged
    await mgmt.terminate(waiting)
    await host.wait(waiting, 15)


async def test_history_table_layout_in_storage(host: AppHost) -> None:
    status = await host.run("stable_values", timeout=20)
    hub = host.durable.hub
    storage = hub.storage
    rows = [
        r async for r in storage.iter_rows(hub.names.history_table, eq("PartitionKey", status.instance_id))
    ]
    keys = [r.row_key for r in rows]
    assert "sentinel" in keys
    event_rows = [r for r in rows if r.row_key != "sentinel"]
    assert all(re.fullmatch(r"[0-9A-F]{16}", r.row_key) for r in event_rows), keys
    assert [int(r.row_key, 16) for r in event_rows] == list(range(len(event_rows)))
    names = [r["EventType"] for r in event_rows]
    assert names[:2] == ["OrchestratorStarted", "ExecutionStarted"]
    assert "TaskScheduled" in names and "TaskCompleted" in names and "ExecutionCompleted" in names
    assert all(r["ExecutionId"] == status.execution_id for r in event_rows)
    sentinel = next(r for r in rows if r.row_key == "sentinel")
    assert sentinel["ExecutionId"] == status.execution_id
    assert sentinel.get("IsCheckpointComplete") in (True, None)
    instance = await storage.get_row(hub.names.instances_table, status.instance_id, "")
    assert instance is not None and instance["RuntimeStatus"] == "Completed"
    assert instance["Name"] == "stable_values"


async def test_instances_run_concurrently(host: AppHost) -> None:
    ids = [await host.start("child", i) for i in range(10)]
    results = await asyncio.gather(*(host.wait(i, 30) for i in ids))
    assert [output(s) for s in results] == [f"child got {i}" for i in range(10)]


async def test_one_management_serves_the_api_and_hands_starts_to_the_engine(host: AppHost) -> None:
    service = host.durable
    assert service.resolver is not None
    assert await service.resolver(None, None) is service.management  # the API's own hub
    iid = await service.management.start_orchestration("child", input_text=json.dumps(json.dumps("here")))
    assert iid in service.engine.sessions  # handed over in memory before the call returned
    assert output(await host.wait(iid, 20)) == "child got here"
