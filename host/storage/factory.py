"""Open the storage account a connection string (or a parsed account) names."""

from __future__ import annotations

from host.storage.azure.storage import AzureStorage
from host.storage.connection import StorageAccount, parse_connection_string
from host.storage.interface import Storage


def open_storage(connection: str | StorageAccount) -> Storage:
    """An :class:`AzureStorage` for ``connection`` (ConfigError if a connection string is malformed)."""
    account = connection if isinstance(connection, StorageAccount) else parse_connection_string(connection)
    return AzureStorage(account)
