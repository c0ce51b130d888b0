"""The storage account of each binding ``connection`` setting (opened on first use).

A binding with ``connection="Other"`` talks to the account the app setting ``Other`` (or
``AzureWebJobsOther``, or the connection string ``Other``, or the identity-based settings
``Other__…``) names, never silently to ``AzureWebJobsStorage``. No ``connection`` (or
``AzureWebJobsStorage``) means the host's account.
"""

from __future__ import annotations

from collections.abc import Callable

from host.errors import ConfigError
from host.storage.connection import StorageAccount
from host.storage.interface import Storage

DEFAULT_CONNECTION = "AzureWebJobsStorage"
_DEFAULT_NAMES = frozenset({"", "azurewebjobsstorage", "storage"})

Resolve = Callable[[str], StorageAccount | None]
"""A connection name → its account (``None`` if no setting names one)."""


class StorageAccounts:
    """``get(connection)`` → the :class:`Storage` of that account; :meth:`close` closes what it opened."""

    def __init__(self, default: Storage, resolve: Resolve) -> None:
        self.default = default
        self._resolve = resolve
        self._opened: dict[StorageAccount, Storage] = {}  # two names, one account: one client

    def get(self, connection: str | None) -> Storage:
        """The account of ``connection``; ConfigError naming the setting if it is not set."""
        if connection is None or connection.strip().lower() in _DEFAULT_NAMES:
            return self.default
        account = self._resolve(connection)
        if account is None:
            raise ConfigError(
                f"Storage account connection string '{connection}' does not exist: set the app setting "
                f"'{connection}' (or 'AzureWebJobs{connection}') to a storage connection string, or "
                f"'{connection}__accountName' / '{connection}__queueServiceUri' (…) for an identity-based "
                "connection"
            )
        if account == self._resolve(DEFAULT_CONNECTION):
            return self.default
        found = self._opened.get(account)
        if found is None:
            from host.storage.factory import open_storage

            found = self._opened[account] = open_storage(account)
        return found

    async def close(self) -> None:
        """Close the accounts this object opened (never the default one)."""
        opened, self._opened = list(self._opened.values()), {}
        for storage in opened:
            await storage.close()
