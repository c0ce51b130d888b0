"""Orchestrations whose state the storage refuses for good (HTTP 400/413: a custom status or
property too large, an instance id too long for a key): fail them with a clear message instead
of retrying the same write for ever.

The failure is recorded like any other (``ExecutionCompleted`` with ``Failed``, the Instances
row, ``SubOrchestrationInstanceFailed`` to a parent). When even that cannot be stored, the
parent is still told and the messages go to the poison queue with the reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from host.durable.replay import history as h
from host.durable.replay.history import EventType, OrchestrationStatus
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus
from host.errors import InvalidRequestError

if TYPE_CHECKING:
    from host.durable.engine.sessions import OrchestrationRunner, Session

log = logging.getLogger("host.durable")

EXECUTION_STARTED = int(EventType.ExecutionStarted)
_ENDINGS = frozenset({int(EventType.ExecutionCompleted), int(EventType.ContinueAsNew)})


async def fail_unstorable(
    runner: OrchestrationRunner, session: Session, batch: list[TaskMessage], err: InvalidRequestError
) -> None:
    """Fail ``session``'s instance because storage refused a write of its state with ``err``."""
    engine, hub, iid = runner.engine, runner.hub, session.instance_id
    session.forget()
    try:
        await runner.load(session)
    except InvalidRequestError:  # even reading it is refused (its id is no valid key)
        session.state = None
    state = session.state
    started = next((m.event for m in batch if m.event_type == EXECUTION_STARTED), None)
    if state is not None and any(e.get("EventType") in _ENDINGS for e in state.history[-3:]):
        await engine.settle(batch, [])  # it had already finished: nothing left to fail
        return
    if state is None and started is None:
        for msg in batch:
            if msg.queue and msg.message_id and msg.pop_receipt:
                await engine.quarantine_now(msg, f"the host cannot store instance {iid!r}: {err}")
        return
    name = state.name if state is not None else str((started or {}).get("Name") or "")
    text = f"Orchestrator function '{name}' failed: the host cannot store its state: {err}"
    log.error("instance %s: %s", iid, text)
    now = engine.now()
    ending = [h.orchestrator_started(now)]
    if state is None and started is not None:
        ending.append(started)
    ending += [
        h.execution_completed(
            now, OrchestrationStatus.Failed, text, h.failure_details(type(err).__name__, text)
        ),
        h.orchestrator_completed(now),
    ]
    history = [*(state.history if state is not None else []), *ending]
    first = h.find_execution_started(history) or {}
    execution_id = str((first.get("OrchestrationInstance") or {}).get("ExecutionId") or "")
    if state is not None:
        execution_id = state.execution_id
    stored = True
    try:
        if state is not None:
            await hub.append_history(iid, execution_id, history, len(ending), session.etag)
        else:
            await hub.rewrite_history(
                iid, execution_id, history, session.etag, old_blob_names=session.blob_names
            )
        await hub.write_instance(
            InstanceStatus(
                iid,
                execution_id=execution_id,
                runtime_status="Failed",
                output=text,
                last_updated_time=now,
                completed_time=now,
            )
        )
    except InvalidRequestError as again:
        stored = False
        log.error("instance %s: not even its failure can be stored (%s)", iid, again)
    session.forget()
    parent = first.get("ParentInstance")
    if parent:
        inst = parent.get("OrchestrationInstance") or {}
        failed = h.sub_orchestration_failed(now, int(parent.get("TaskScheduleId", -1)), text, "")
        await engine.send_event(
            str(inst.get("InstanceId")),
            failed,
            execution_id=inst.get("ExecutionId"),
            sender_instance_id=iid,
            sender_execution_id=execution_id,
        )
    if stored:
        await engine.settle(batch, [])
    else:
        for msg in batch:
            if msg.queue and msg.message_id and msg.pop_receipt:
                await engine.quarantine_now(msg, text)
    engine.notify_terminal(iid, OrchestrationStatus.Failed)
