"""The REST client the lean hot paths (:mod:`lean_queues`, :mod:`lean_tables`) send through."""

from __future__ import annotations

from host.storage.azure.base import AzureBase
from host.storage.azure.rest_client import RestClient
from host.storage.connection import StorageAccount
from host.storage.health import StorageHealth
from host.storage.retry import DEFAULT_POLICY, RetryPolicy


class LeanBase(AzureBase):
    """:class:`AzureBase` plus one :class:`RestClient` (same retry policy, same health)."""

    def __init__(
        self,
        account: StorageAccount,
        retry: RetryPolicy = DEFAULT_POLICY,
        health: StorageHealth | None = None,
    ) -> None:
        super().__init__(account, retry, health)
        self._rest = RestClient(account, self.retry, self.health, self.tokens)

    async def close(self) -> None:
        """Close the REST session, then the SDK transport."""
        await self._rest.close()
        await super().close()
