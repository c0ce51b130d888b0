"""Storage: the :class:`~host.storage.interface.Storage` protocol and its implementations.

``open_storage(connection_string)`` (from :mod:`host.storage.factory`, re-exported here) returns
an :class:`~host.storage.azure.storage.AzureStorage`; :class:`~host.storage.memory.MemoryStorage`
keeps the same semantics in memory. The Azure SDKs are imported only when ``open_storage`` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from host.storage.interface import Storage

if TYPE_CHECKING:
    from host.storage.connection import StorageAccount


def open_storage(connection: str | StorageAccount) -> Storage:
    """An :class:`AzureStorage` for a connection string or parsed account (ConfigError if malformed)."""
    from host.storage.factory import open_storage as _open

    return _open(connection)


__all__ = ["Storage", "open_storage"]
