"""The :class:`~host.storage.interface.Storage` implementations of an Azure (or Azurite) account."""

from __future__ import annotations

from urllib.parse import quote

from host.storage.azure.blobs import AzureBlobs
from host.storage.azure.lean_queues import LeanQueues
from host.storage.azure.lean_tables import LeanTables
from host.storage.azure.queues import AzureQueues
from host.storage.azure.tables import AzureTables
from host.storage.connection import StorageAccount

__all__ = ["AzureSdkStorage", "AzureStorage", "StorageAccount"]


class AzureSdkStorage(AzureQueues, AzureTables, AzureBlobs):
    """Queues, tables and blobs of one account (Azurite or Azure), everything through the ``.aio`` SDKs.

    Requests retry per ``retry`` (bounded exponential back-off with jitter, retryable failures
    only) and report to ``health``. Create it anywhere; HTTP sessions are opened lazily inside the
    running event loop and closed by :meth:`close`. Every request sent is counted in ``stats``.
    """

    def blob_url(self, container: str, name: str) -> str | None:
        """The absolute URL of a blob (what DTFx stores in the Instances table for large payloads)."""
        endpoint = self.account.blob_endpoint
        if not endpoint:
            return None
        return f"{endpoint.rstrip('/')}/{container}/{quote(name, safe='/')}"


class AzureStorage(LeanQueues, LeanTables, AzureSdkStorage):
    """:class:`AzureSdkStorage` with the hot operations as bare signed requests (the default).

    Message put, receive, update and delete and row get, query, write and transaction go over one
    aiohttp session, at a fraction of the SDKs' CPU per request, with the same retry policy and
    health reporting; everything else is inherited from the SDK path.
    """
