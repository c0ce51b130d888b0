"""Storage: the :class:`~host.storage.interface.Storage` protocol and its implementations.

``open_storage(connection_string)`` (from :mod:`host.storage.factory`, re-exported here) returns
an :class:`~host.storage.azure.storage.AzureStorage`; :class:`~host.storage.memory.MemoryStorage`
keeps the same semantics in memory. The Azure SDKs are imported only when ``open_storage`` is called.
"""

from __future__ import annotations

from host.storage.interface import Storage


def open_storage(connection_string: str) -> Storage:
    """An :class:`AzureStorage` for ``connection_string`` (ConfigError if it is malformed)."""
    from host.storage.factory import open_storage as _open

    return _open(connection_string)


__all__ = ["Storage", "open_storage"]
