"""A :class:`~host.storage.interface.Storage` that imports the Azure SDKs on first use.

The SDKs (with aiohttp) take 0.4–1 s to import; an app with only HTTP triggers never needs them.
:class:`LazyAzureStorage` knows its account (parsed up front, so a malformed connection string
still fails at start-up) and creates the real :class:`~host.storage.azure.storage.AzureStorage` the first
time any other attribute is asked for. ``stats`` is shared with the real object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.storage.connection import StorageAccount
from host.storage.health import StorageHealth
from host.storage.interface import StorageStats

if TYPE_CHECKING:
    from host.storage.azure.storage import AzureStorage


class LazyAzureStorage:
    """Forwards everything to an :class:`AzureStorage` created (SDKs imported) on first use."""

    def __init__(self, account: StorageAccount) -> None:
        self.account = account
        self.stats = StorageStats()
        self.health = StorageHealth(account.account_name)
        """Shared with the real storage: whether the account answers (no SDK needed to read it)."""
        self._real: AzureStorage | None = None

    @property
    def account_name(self) -> str:
        """The storage account's name (no SDK needed)."""
        return self.account.account_name

    @property
    def materialized(self) -> bool:
        """Whether the real storage (and the SDKs) exist yet."""
        return self._real is not None

    def materialize(self) -> AzureStorage:
        """The real storage, created now if needed (imports the SDKs: blocking, once)."""
        real = self._real
        if real is None:
            from host.storage.azure.storage import AzureStorage

            real = AzureStorage(self.account, health=self.health)
            real.stats = self.stats
            self._real = real
        return real

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally; the private ones are never forwarded.
        if name.startswith("__") or name == "_real":
            raise AttributeError(name)
        value = getattr(self.materialize(), name)
        if callable(value) and getattr(value, "__self__", None) is self._real:
            setattr(self, name, value)  # cache bound methods: later calls skip __getattr__
        return value

    async def close(self) -> None:
        """Close the real storage if it was ever created."""
        if self._real is not None:
            await self._real.close()

    async def ping(self, timeout: float = 5.0) -> None:
        """The real storage's ping (one SDK request per service)."""
        await self.materialize().ping(timeout)
