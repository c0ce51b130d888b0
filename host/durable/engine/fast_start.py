"""Management operations of the engine's own task hub, with an in-process fast path for starts.

A start from this process for an instance whose partition this host owns skips the queue round
trip: the ExecutionStarted message is put *locked* (the crash-recovery copy), the Instances row
is inserted, and the message is handed to the engine in memory — 2 storage requests instead of
a read, a put, an insert, a receive and a history query. When the row exists already (an id
being reused) it falls back to the regular path, which reads the row and decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from host.durable.management import Management
from host.durable.replay import history as h
from host.durable.taskhub.messages import new_message
from host.durable.taskhub.rows import TERMINAL_STATUSES, InstanceStatus
from host.errors import ConflictError

if TYPE_CHECKING:
    from host.durable.engine.dispatcher import DurableEngine


class EngineManagement(Management):
    """:class:`Management` for the hub a :class:`DurableEngine` runs in this process."""

    def __init__(self, engine: DurableEngine) -> None:
        super().__init__(engine.hub)
        self.engine = engine

    async def start_orchestration(
        self,
        name: str,
        instance_id: str | None = None,
        input_text: str | None = None,
        *,
        version: str = "",
        scheduled_start: datetime | None = None,
        tags: dict[str, str] | None = None,
        overridable: Collection[str] = TERMINAL_STATUSES,
    ) -> str:
        engine = self.engine
        instance_id = instance_id or uuid.uuid4().hex
        if scheduled_start is not None or not engine.owns(instance_id) or not engine.running:
            return await super().start_orchestration(
                name, instance_id, input_text, version=version, scheduled_start=scheduled_start,
                tags=tags, overridable=overridable)
        now = self.hub.now()
        execution_id = uuid.uuid4().hex
        event = h.execution_started(now, instance_id=instance_id, execution_id=execution_id, name=name,
                                    input_text=input_text, version=version, generation=0, tags=tags)
        msg = new_message(event, instance_id=instance_id, execution_id=execution_id)
        await engine.put_locked(msg, timedelta(seconds=engine.options.lock_seconds))
        status = InstanceStatus(
            instance_id, name=name, version=version, execution_id=execution_id, runtime_status="Pending",
            created_time=now, last_updated_time=now, input=input_text, generation=0, tags=tags)
        try:
            await self.hub.create_instance(status)
        except ConflictError:
            # The id is taken: drop our message and let the regular path decide (refuse or replace).
            await self.hub.delete_message(msg)
            return await super().start_orchestration(
                name, instance_id, input_text, version=version, tags=tags, overridable=overridable)
        engine.deliver(msg, new_instance=True)
        return instance_id
