"""A completion that reaches an instance's owner before the instance's first checkpoint is retried,
not dropped.

An episode puts its outbound messages on their queues before it writes the history (the crash-safe
order), and an activity left visible on the shared work-item queue may be run by another host at
once. When the partition moves meanwhile, the new owner can receive the activity's completion while
the history holding its TaskScheduled is still on its way: it must defer the completion (and read
the history again when it comes back), not drop it as a message for an instance that does not
exist, or the orchestration waits for ever.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from waiting import eventually

from host.durable.replay import history as h
from host.durable.taskhub.messages import new_message
from host.durable.taskhub.rows import InstanceStatus
from host.testing.app_host import AppHost

CHAIN_APP = Path(__file__).parent / "apps" / "chain"


async def test_a_completion_before_the_first_checkpoint_is_deferred_then_applied(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="host.durable")
    async with AppHost(CHAIN_APP, connection_string=azurite_connection_string, virtual_time=False) as host:
        hub = host.durable.hub
        iid, execution_id = f"early-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        queue = hub.names.control_queue_for(iid)
        now = hub.now()
        # The activity ran elsewhere and its completion arrives first ...
        completion = h.task_completed(now, 0, "0")
        await hub.send_message(
            new_message(completion, instance_id=iid, execution_id=execution_id), queue=queue
        )

        def seen() -> bool:
            return any(iid in r.getMessage() for r in caplog.records)

        await eventually(seen, 30, "the host to receive the early completion", interval=0.1)
        assert await hub.storage.queue_length(queue) == 1, [r.getMessage() for r in caplog.records]

        # ... then the checkpoint that scheduled it lands (the episode of another host).
        events = [
            h.orchestrator_started(now),
            h.execution_started(
                now, instance_id=iid, execution_id=execution_id, name="fan_out", input_text=json.dumps("1")
            ),
            h.task_scheduled(now, 0, "square", json.dumps(["0"])),
            h.orchestrator_completed(now),
        ]
        await hub.rewrite_history(iid, execution_id, events, None)
        await hub.write_instance(
            InstanceStatus(
                instance_id=iid,
                execution_id=execution_id,
                name="fan_out",
                runtime_status="Running",
                input="1",
                created_time=now,
                last_updated_time=now,
            )
        )
        status = await host.wait(iid, timeout=60)
        assert status.runtime_status == "Completed" and host.output(status) == 0, status
        history = await host.management.get_history(iid)
        task_completed = int(h.EventType.TaskCompleted)
        assert [e["EventType"] for e in history].count(task_completed) == 1, history
