"""The storage account of each binding ``connection`` setting (opened on first use).

A binding with ``connection="Other"`` talks to the account the app setting ``Other`` (or
``AzureWebJobsOther``, or the connection string ``Other``) names, never silently to
``AzureWebJobsStorage``. No ``connection`` (or ``AzureWebJobsStorage``) means the host's account.
"""

from __future__ import annotations

from collections.abc import Callable

from host.errors import ConfigError
from host.storage.interface import Storage

DEFAULT_CONNECTION = "AzureWebJobsStorage"
_DEFAULT_NAMES = frozenset({"", "azurewebjobsstorage", "storage"})

Resolve = Callable[[str], str | None]
"""A connection name → its connection string (``None`` if no setting holds one)."""


class StorageAccounts:
    """``get(connection)`` → the :class:`Storage` of that account; :meth:`close` closes what it opened."""

    def __init__(self, default: Storage, resolve: Resolve) -> None:
        self.default = default
        self._resolve = resolve
        self._opened: dict[str, Storage] = {}  # by connection string: two names, one account, one client

    def get(self, connection: str | None) -> Storage:
        """The account of ``connection``; ConfigError naming the setting if it is not set."""
        if connection is None or connection.strip().lower() in _DEFAULT_NAMES:
            return self.default
        text = self._resolve(connection)
        if not text:
            raise ConfigError(
                f"Storage account connection string '{connection}' does not exist: set the app setting "
                f"'{connection}' (or 'AzureWebJobs{connection}') to a storage connection string"
            )
        if text == self._resolve(DEFAULT_CONNECTION):
            return self.default
        found = self._opened.get(text)
        if found is None:
            from host.storage.factory import open_storage

            found = self._opened[text] = open_storage(text)
        return found

    async def close(self) -> None:
        """Close the accounts this object opened (never the default one)."""
        opened, self._opened = list(self._opened.values()), {}
        for storage in opened:
            await storage.close()
