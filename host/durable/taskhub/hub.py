"""The task hub: DTFx Azure Storage layout over :class:`host.storage.interface.Storage`.

``TaskHub`` is what the dispatcher (``host.durable.engine.dispatcher``) and the management operations
(``host.durable.management``) use: queues (:mod:`host.durable.taskhub.queues`), history
(:mod:`host.durable.taskhub.history`) and instances (:mod:`host.durable.taskhub.instances`).
Partition ownership lives in :mod:`host.durable.taskhub.partitions`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from host.durable.taskhub.base import TaskHubOptions
from host.durable.taskhub.history import LoadedHistory
from host.durable.taskhub.instances import InstanceOps
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.names import TaskHubNames
from host.durable.taskhub.queues import QueueOps, SendListener, visibility_seconds
from host.durable.taskhub.rows import InstanceStatus
from host.storage.interface import Storage

__all__ = [
    "InstanceStatus",
    "LoadedHistory",
    "TaskHub",
    "TaskHubNames",
    "TaskHubOptions",
    "TaskMessage",
    "visibility_seconds",
]


class TaskHub(QueueOps, InstanceOps):
    """One task hub in one storage account."""

    def __init__(
        self,
        storage: Storage,
        names: TaskHubNames,
        options: TaskHubOptions | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        on_sent: SendListener | None = None,
    ) -> None:
        super().__init__(storage, names, options, clock=clock)
        self.on_sent = on_sent

    async def create(self) -> None:
        """Create the queues and tables that are missing (2 list requests when all exist).

        The large-message container is created lazily by the first upload, as DTFx does.
        """
        queues, tables = await asyncio.gather(
            self.storage.list_queues(self.names.lower + "-"), self.storage.list_tables(self.names.hub)
        )
        have_queues, have_tables = set(queues), set(tables)
        await asyncio.gather(
            *(self.storage.create_queue(q) for q in self.names.all_queues if q not in have_queues),
            *(self.storage.create_table(t) for t in self.names.all_tables if t not in have_tables),
        )

    async def delete(self) -> None:
        """Delete every queue, table and container of the hub."""
        await asyncio.gather(
            *(self.storage.delete_queue(q) for q in (*self.names.all_queues, self.names.poison_queue)),
            *(self.storage.delete_table(t) for t in self.names.all_tables),
            self.storage.delete_container(self.names.large_messages_container),
        )
