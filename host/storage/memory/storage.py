"""The :class:`~host.storage.interface.Storage` protocol in memory, with Azure's semantics.

Visibility timeouts and pop receipts, eTags (409 on insert of an existing row, 412 on a stale
eTag), atomic one-partition transactions of at most 100 operations, (PartitionKey, RowKey)
query order with ``top`` and continuation tokens, blob leases that expire by the clock. No
sockets. Pass ``clock`` (returning timezone-aware UTC datetimes) to run on virtual time.
"""

from __future__ import annotations

from host.storage.memory.base import Clock
from host.storage.memory.blobs import MemoryBlobs
from host.storage.memory.queues import MemoryQueues
from host.storage.memory.tables import MemoryTables

__all__ = ["Clock", "MemoryStorage"]


class MemoryStorage(MemoryQueues, MemoryTables, MemoryBlobs):
    """Queues, tables and blobs in this process's memory."""

    def __init__(self, clock: Clock | None = None, account_name: str = "memoryaccount") -> None:
        super().__init__(clock, account_name)
        self._queues = {}
        self._tables = {}
        self._containers = {}
