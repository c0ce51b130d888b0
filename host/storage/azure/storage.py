"""The :class:`~host.storage.interface.Storage` implementation over the async Azure SDKs."""

from __future__ import annotations

from urllib.parse import quote

from host.storage.azure.blobs import AzureBlobs
from host.storage.azure.lean_queues import LeanQueues
from host.storage.azure.lean_tables import LeanTables
from host.storage.azure.rest_client import RestClient
from host.storage.connection import StorageAccount
from host.storage.health import StorageHealth
from host.storage.retry import DEFAULT_POLICY, RetryPolicy

__all__ = ["AzureStorage", "StorageAccount"]


class AzureStorage(LeanQueues, LeanTables, AzureBlobs):
    """Queues, tables and blobs of one account (Azurite or Azure).

    With ``impl="lean"`` (the default) the hot queue and table operations (message put, receive,
    update, delete; row get, query, write, transaction) are bare signed requests over one aiohttp
    session, at a fraction of the SDKs' CPU per request; everything else goes through the
    ``.aio`` SDKs. ``impl="sdk"`` sends everything through the SDKs. Both paths retry per
    ``retry`` (bounded exponential back-off with jitter, retryable failures only). Create it anywhere; HTTP
    sessions are opened lazily inside the running event loop and closed by :meth:`close`.
    Every request sent is counted in ``stats``; ``health`` tells whether the account answers.
    """

    def __init__(
        self,
        account: StorageAccount,
        *,
        impl: str = "lean",
        retry: RetryPolicy = DEFAULT_POLICY,
        health: StorageHealth | None = None,
    ) -> None:
        super().__init__(account, retry, health)
        if impl not in ("lean", "sdk"):
            raise ValueError(f"unknown AzureStorage implementation {impl!r}")
        if impl == "lean":
            self._rest = RestClient(account, retry, self.health)

    def blob_url(self, container: str, name: str) -> str | None:
        """The absolute URL of a blob (what DTFx stores in the Instances table for large payloads)."""
        endpoint = self.account.blob_endpoint
        if not endpoint:
            return None
        return f"{endpoint.rstrip('/')}/{container}/{quote(name, safe='/')}"
