"""The :class:`~host.storage.interface.Storage` implementation over the async Azure SDKs."""

from __future__ import annotations

from host.storage.azure_blobs import AzureBlobs
from host.storage.azure_queues import AzureQueues
from host.storage.azure_tables import AzureTables
from host.storage.connection import StorageAccount

__all__ = ["AzureStorage", "StorageAccount"]


class AzureStorage(AzureQueues, AzureTables, AzureBlobs):
    """Queues, tables and blobs of one account (Azurite or Azure) through the ``.aio`` SDKs.

    Create it anywhere; the HTTP transport is opened lazily on first use inside the running
    event loop and closed by :meth:`close`. Every request sent is counted in ``stats``.
    """

    def __init__(self, account: StorageAccount) -> None:
        super().__init__(account)
