"""Shared plumbing of :class:`host.storage.azure.storage.AzureStorage`: one transport, cached clients.

All service clients share one aiohttp transport (one connection pool per endpoint) created on
first use inside the running event loop. Retries follow :data:`host.storage.retry.DEFAULT_POLICY`
(bounded exponential back-off with jitter), so an unreachable account is reported within a
second or two instead of the SDKs' default minutes.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline.transport import AioHttpTransport
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob.aio import BlobServiceClient, ContainerClient
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from host.errors import StorageUnreachableError
from host.storage.azure.bearer import BearerTokens
from host.storage.azure.convert import http_error, raise_mapped
from host.storage.azure.sdk_retry import BlobRetry, QueueRetry, table_service_client
from host.storage.connection import StorageAccount
from host.storage.health import StorageHealth
from host.storage.interface import StorageStats
from host.storage.retry import DEFAULT_POLICY, RetryPolicy

LOCAL_API_VERSION = "2021-12-02"
"""x-ms-version pinned for Azurite/loopback accounts. The queue/blob SDKs default to a version newer
than Azurite 3.37 accepts (it knows up to 2026-06-06); this older one is accepted by every Azurite
since 3.16, so a user's own Azurite started without --skipApiVersionCheck works too."""

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0


class AzureBase:
    """Clients and counters shared by the queue, table and blob parts."""

    def __init__(
        self,
        account: StorageAccount,
        retry: RetryPolicy = DEFAULT_POLICY,
        health: StorageHealth | None = None,
    ) -> None:
        self.account = account
        self.retry = retry
        self.health = health if health is not None else StorageHealth(account.account_name)
        self.stats = StorageStats()
        self._transport: AioHttpTransport | None = None
        self._queue_service: QueueServiceClient | None = None
        self._table_service: TableServiceClient | None = None
        self._blob_service: BlobServiceClient | None = None
        self._queues: dict[str, QueueClient] = {}
        self._tables: dict[str, TableClient] = {}
        self._containers: dict[str, ContainerClient] = {}
        self.tokens = BearerTokens(account.identity) if account.identity is not None else None
        """The token cache of an identity-based account (shared by the SDK and lean paths)."""

    @property
    def account_name(self) -> str:
        """The storage account's name (``devstoreaccount1`` for Azurite)."""
        return self.account.account_name

    # ------------------------------------------------------------------ clients

    def _common(self) -> dict[str, Any]:
        if self._transport is None:
            self._transport = AioHttpTransport(
                connection_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                # Never send loopback traffic through an HTTP(S)_PROXY from the environment.
                use_env_settings=not self.account.is_loopback,
                connection_verify=self.account.ca_file or True,
            )
        return {"transport": self._transport, "logging_enable": False}

    def _credential(self) -> Any:
        a = self.account
        if self.tokens is not None:
            return self.tokens
        if a.account_key:
            return AzureNamedKeyCredential(a.account_name, a.account_key)
        return AzureSasCredential(a.sas_token or "")

    def _api_version(self) -> dict[str, Any]:
        local = self.account.is_azurite or self.account.is_loopback
        return {"api_version": LOCAL_API_VERSION} if local else {}

    def queue_client(self, queue: str) -> QueueClient:
        client = self._queues.get(queue)
        if client is None:
            if self._queue_service is None:
                self._queue_service = QueueServiceClient(
                    self.account.endpoint("queue"),
                    credential=self._credential(),
                    retry_policy=QueueRetry(self.retry, self.health),
                    **self._api_version(),
                    **self._common(),
                )
            client = self._queues[queue] = self._queue_service.get_queue_client(queue)
        return client

    def table_service(self) -> TableServiceClient:
        if self._table_service is None:
            self._table_service = table_service_client(
                self.account.endpoint("table"),
                self.retry,
                self.health,
                credential=self._credential(),
                **self._common(),
            )
        return self._table_service

    def table_client(self, table: str) -> TableClient:
        client = self._tables.get(table)
        if client is None:
            client = self._tables[table] = self.table_service().get_table_client(table)
        return client

    def blob_service(self) -> BlobServiceClient:
        if self._blob_service is None:
            self._blob_service = BlobServiceClient(
                self.account.endpoint("blob"),
                credential=self._credential(),
                retry_policy=BlobRetry(self.retry, self.health),
                **self._api_version(),
                **self._common(),
            )
        return self._blob_service

    def container_client(self, container: str) -> ContainerClient:
        client = self._containers.get(container)
        if client is None:
            client = self._containers[container] = self.blob_service().get_container_client(container)
        return client

    def queue_service(self) -> QueueServiceClient:
        self.queue_client("$ping")  # creates the service client
        assert self._queue_service is not None
        return self._queue_service

    def raise_mapped(self, err: Exception, what: str, *, lease_conflict: bool = False) -> NoReturn:
        """:func:`~host.storage.azure.convert.raise_mapped`; a 401/403 to a bearer token names the
        identity-based connection (as the lean path does)."""
        if self.tokens is not None and isinstance(err, HttpResponseError) and err.status_code in (401, 403):
            raise self.tokens.refused(what, *http_error(err)) from err
        raise_mapped(err, what, lease_conflict=lease_conflict)

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """Close the shared transport and the credential (the clients hold nothing else)."""
        transport, self._transport = self._transport, None
        if self.tokens is not None:
            await self.tokens.close()
        self._queue_service = self._table_service = self._blob_service = None
        self._queues.clear()
        self._tables.clear()
        self._containers.clear()
        if transport is not None:
            await transport.close()

    async def ping(self, timeout: float = 5.0) -> None:
        """One cheap request per service; StorageUnreachableError if any fails or is slow."""
        what = f"storage account {self.account_name}"

        async def one(service: str) -> None:
            self.stats.add(f"{service}.ping")
            try:
                if service == "queue":
                    await self.queue_service().get_service_properties()
                elif service == "table":
                    await self.table_service().get_service_properties()
                else:
                    await self.blob_service().get_service_properties()
            except (AzureError, OSError) as err:
                self.raise_mapped(err, f"{what} ({service} service at {self.account.endpoint(service)})")

        try:
            await asyncio.wait_for(asyncio.gather(one("queue"), one("table"), one("blob")), timeout)
        except TimeoutError:
            raise StorageUnreachableError(
                f"{what} did not answer within {timeout:g} s; is the storage account (Azurite) running?"
            ) from None
