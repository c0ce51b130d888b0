"""Open the storage account a connection string names."""

from __future__ import annotations

from host.storage.azure.storage import AzureStorage
from host.storage.connection import parse_connection_string
from host.storage.interface import Storage


def open_storage(connection_string: str) -> Storage:
    """An :class:`AzureStorage` for ``connection_string`` (ConfigError if it is malformed)."""
    return AzureStorage(parse_connection_string(connection_string))
