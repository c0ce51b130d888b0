"""Shared by the durable API tests: what reached the control queues, and a one-orchestrator registry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import decode_message
from host.indexing.registry import ORCHESTRATION_TRIGGER, Binding, FunctionInfo, Registry

_ACTIVE = ("Pending", "Running", "ContinuedAsNew", "Suspended")
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


async def sent_events(hub: TaskHub) -> list[tuple[int, str, Any]]:
    """What the management layer put on the hub's control queues: (EventType, instance id, detail).

    The detail is the event's ``Name`` (starts, raised events), else its ``Input``/``Reason``.
    Sorted, since messages spread over the partitions' queues.
    """
    found: list[tuple[int, str, Any]] = []
    for partition in range(hub.names.partition_count):
        for raw in await hub.storage.peek_messages(hub.names.control_queue(partition), max_messages=32):
            msg = decode_message(raw.content)
            event = msg.event
            detail = event.get("Name") or event.get("Input") or event.get("Reason")
            found.append((int(event["EventType"]), msg.instance_id, detail))
    return sorted(found, key=repr)


def registry() -> Registry:
    trigger = Binding("context", ORCHESTRATION_TRIGGER, "in", {})
    return Registry([FunctionInfo("Orch", trigger, [trigger], lambda context: None)])
