"""Storage in memory with Azure Storage's semantics (visibility timeouts, eTags, leases, limits)."""

from host.storage.memory.storage import MemoryStorage

__all__ = ["MemoryStorage"]
