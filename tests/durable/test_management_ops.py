"""Management operations against real storage (Azurite and MemoryStorage)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from host.durable.entities.ids import EntityId
from host.durable.management import Management
from host.durable.replay import history as h
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus
from host.errors import InstanceAlreadyExistsError, InstanceNotFoundError, InvalidInstanceStateError

T0 = datetime(2024, 1, 1, tzinfo=UTC)


async def take(hub: TaskHub, instance_id: str) -> list[TaskMessage]:
    """Receive and delete every visible message on the instance's control queue."""
    got = await hub.receive_control(hub.names.partition_of(instance_id))
    for m in got:
        await hub.delete_message(m)
    return [m for m in got if m.instance_id == instance_id]


async def test_start_order_and_request_budget(hub: TaskHub) -> None:
    sent: list[str] = []
    hub.on_sent = lambda queue, msg: sent.append(queue)
    ops = Management(hub)
    before = hub.storage.stats.total
    iid = await ops.start_orchestration("Hello", "inst-1", '"Tokyo"')
    assert hub.storage.stats.total - before == 3  # read row, put message, insert row
    assert iid == "inst-1" and sent == [hub.names.control_queue_for("inst-1")]
    row = await hub.get_instance("inst-1")
    assert row is not None and row.runtime_status == "Pending" and row.name == "Hello"
    assert row.input == '"Tokyo"' and row.generation == 0 and row.version == ""
    [msg] = await take(hub, "inst-1")
    assert msg.event_type == h.EventType.ExecutionStarted
    assert msg.execution_id == row.execution_id == msg.event["OrchestrationInstance"]["ExecutionId"]
    assert msg.event["Name"] == "Hello" and msg.event["Input"] == '"Tokyo"'


async def test_start_refuses_running_and_replaces_completed(hub: TaskHub) -> None:
    ops = Management(hub)
    await ops.start_orchestration("Hello", "dup", '"a"')
    with pytest.raises(InstanceAlreadyExistsError, match="dup"):
        await ops.start_orchestration("Hello", "dup", '"b"')
    first = await hub.get_instance("dup")
    assert first is not None
    await hub.write_instance(
        InstanceStatus("dup", runtime_status="Completed", output='"done"', completed_time=T0)
    )
    await ops.start_orchestration("Hello", "dup", '"c"')
    second = await hub.get_instance("dup")
    assert second is not None and second.runtime_status == "Pending" and second.input == '"c"'
    assert second.execution_id != first.execution_id and second.generation == 1
    assert second.output is None and second.completed_time is None
    starts = await take(hub, "dup")
    assert [m.execution_id for m in starts] == [first.execution_id, second.execution_id]


async def test_generated_id_and_scheduled_start(hub: TaskHub) -> None:
    ops = Management(hub)
    iid = await ops.start_orchestration("Later", None, None, scheduled_start=hub.now() + timedelta(hours=1))
    assert len(iid) == 32
    row = await hub.get_instance(iid)
    assert row is not None and row.scheduled_start_time is not None and row.input is None
    assert await take(hub, iid) == []  # the start message is invisible until then


async def test_terminate_never_started_marks_row(hub: TaskHub) -> None:
    ops = Management(hub)
    await ops.start_orchestration("Hello", "t1", None, scheduled_start=hub.now() + timedelta(hours=1))
    await ops.terminate("t1", "stop it")
    row = await hub.get_instance("t1")
    assert row is not None and row.runtime_status == "Terminated" and row.output == "stop it"
    assert row.completed_time is not None
    [msg] = await take(hub, "t1")
    assert msg.event_type == h.EventType.ExecutionTerminated and msg.event["Input"] == "stop it"
    with pytest.raises(InvalidInstanceStateError, match="Terminated"):
        await ops.terminate("t1", "again")
    with pytest.raises(InstanceNotFoundError, match="nope"):
        await ops.terminate("nope", None)


async def test_terminate_running_only_sends(hub: TaskHub) -> None:
    ops = Management(hub)
    await hub.create_instance(InstanceStatus("r1", name="O", runtime_status="Running", created_time=T0))
    await ops.terminate("r1", "why")
    row = await hub.get_instance("r1")
    assert row is not None and row.runtime_status == "Running"
    assert [m.event_type for m in await take(hub, "r1")] == [h.EventType.ExecutionTerminated]


async def test_events_suspend_resume_state_checks(hub: TaskHub) -> None:
    ops = Management(hub)
    with pytest.raises(InstanceNotFoundError):
        await ops.raise_event("ghost", "go", "1")
    await hub.create_instance(InstanceStatus("s1", name="O", runtime_status="Running", created_time=T0))
    await ops.raise_event("s1", "go", '{"x": 1}')
    await ops.suspend("s1", "pause")
    with pytest.raises(InvalidInstanceStateError, match="in the Running state"):
        await ops.resume("s1", "nope")
    msgs = await take(hub, "s1")
    assert [m.event_type for m in msgs] == [h.EventType.EventRaised, h.EventType.ExecutionSuspended]
    assert msgs[0].event["Name"] == "go" and msgs[0].event["Input"] == '{"x": 1}'
    await hub.write_instance(InstanceStatus("s1", runtime_status="Suspended"))
    with pytest.raises(InvalidInstanceStateError, match="in the Suspended state"):
        await ops.suspend("s1", None)
    await ops.resume("s1", "go on")
    [resumed] = await take(hub, "s1")
    assert resumed.event_type == h.EventType.ExecutionResumed and resumed.event["Reason"] == "go on"
    await hub.write_instance(InstanceStatus("s1", runtime_status="Completed"))
    with pytest.raises(InvalidInstanceStateError, match="Completed"):
        await ops.raise_event("s1", "late", "null")


async def test_rewind_rewrites_failures_and_restarts(hub: TaskHub) -> None:
    ops = Management(hub)
    events = [
        h.orchestrator_started(T0),
        h.execution_started(T0, instance_id="f1", execution_id="e1", name="O", input_text=None),
        h.task_scheduled(T0, 0, "Act", None),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        h.task_failed(T0, 0, "boom", "trace"),
        h.execution_completed(T0, h.OrchestrationStatus.Failed, "boom"),
        h.orchestrator_completed(T0),
    ]
    await hub.append_history("f1", "e1", events, len(events), None)
    await hub.create_instance(InstanceStatus("f1", name="O", execution_id="e1", runtime_status="Running"))
    with pytest.raises(InvalidInstanceStateError, match="only Failed"):
        await ops.rewind("f1", "x")
    await hub.write_instance(InstanceStatus("f1", runtime_status="Failed", output="boom"))
    await ops.rewind("f1", "try again")
    loaded = await hub.load_history("f1")
    types = [h.etype(e) for e in loaded.events]
    assert types[5] == types[6] == h.EventType.GenericEvent
    assert json.loads(loaded.events[5]["Data"])["rewound"]["EventType"] == h.EventType.TaskFailed
    assert types[2] == h.EventType.TaskScheduled and types[-1] == h.EventType.ExecutionRewound
    assert loaded.events[-1]["Reason"] == "try again" and len(loaded.events) == len(events) + 1
    assert h.runtime_status(loaded.events) == h.OrchestrationStatus.Running
    row = await hub.get_instance("f1")
    assert row is not None and row.runtime_status == "Pending"
    [work] = await hub.receive_workitem()
    assert work.event == events[2] and (work.instance_id, work.execution_id) == ("f1", "e1")
    assert await take(hub, "f1") == []  # the re-issued activity's completion wakes it


async def test_rewind_without_failed_task_sends_wakeup(hub: TaskHub) -> None:
    ops = Management(hub)
    events = [
        h.orchestrator_started(T0),
        h.execution_started(T0, instance_id="f2", execution_id="e2", name="O", input_text=None),
        h.execution_completed(T0, h.OrchestrationStatus.Failed, "orchestrator threw"),
        h.orchestrator_completed(T0),
    ]
    await hub.append_history("f2", "e2", events, len(events), None)
    await hub.create_instance(InstanceStatus("f2", name="O", execution_id="e2", runtime_status="Failed"))
    await ops.rewind("f2", None)
    [msg] = await take(hub, "f2")
    assert msg.event_type == h.EventType.GenericEvent and msg.execution_id == "e2"
    assert await hub.receive_workitem() == []


async def test_restart_with_new_and_same_id(hub: TaskHub) -> None:
    ops = Management(hub)
    await ops.start_orchestration("Hello", "orig", '"in"')
    with pytest.raises(InstanceAlreadyExistsError):
        await ops.restart("orig", new_instance_id=False)
    new_id = await ops.restart("orig", new_instance_id=True)
    assert new_id != "orig"
    row = await hub.get_instance(new_id)
    assert row is not None and row.name == "Hello" and row.input == '"in"'
    with pytest.raises(InstanceNotFoundError):
        await ops.restart("missing")


async def test_signal_entity_message(hub: TaskHub) -> None:
    ops = Management(hub)
    entity = EntityId("Counter", "k1")
    await ops.signal_entity(entity, "add", "5")
    [msg] = await take(hub, "@counter@k1")
    assert msg.event_type == h.EventType.EventRaised and msg.event["Name"] == "op"
    request = json.loads(msg.event["Input"])
    assert request["op"] == "add" and request["signal"] is True and request["input"] == "5"


async def test_purge_and_query_passthrough(hub: TaskHub) -> None:
    ops = Management(hub)
    await ops.start_orchestration("Hello", "q1", None)
    page, token = await ops.query_instances({"Pending"}, instance_id_prefix="q")
    assert [s.instance_id for s in page] == ["q1"] and token is None
    assert await ops.purge_instance("q1") == 1
    assert await ops.get_status("q1") is None
