"""An unreachable account is reported quickly and clearly, never by hanging."""

from __future__ import annotations

import time

import pytest

from host.errors import StorageUnreachableError
from host.storage import open_storage
from host.storage.azurite import DEV_ACCOUNT, DEV_KEY, free_port


def _dead_account() -> str:
    port = free_port()  # nobody listens there
    return (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};")


async def test_ping_unreachable_fails_fast() -> None:
    storage = open_storage(_dead_account())
    start = time.monotonic()
    try:
        with pytest.raises(StorageUnreachableError, match="did not answer"):
            await storage.ping(timeout=5)
    finally:
        await storage.close()
    assert time.monotonic() - start < 4


async def test_operations_on_unreachable_account_raise_unreachable() -> None:
    storage = open_storage(_dead_account())
    start = time.monotonic()
    try:
        with pytest.raises(StorageUnreachableError):
            await storage.put_message("somequeue", "x")
        with pytest.raises(StorageUnreachableError):
            await storage.get_row("sometable", "p", "r")
    finally:
        await storage.close()
    assert time.monotonic() - start < 6


async def test_ping_reachable(azurite_connection_string: str) -> None:
    storage = open_storage(azurite_connection_string)
    try:
        await storage.ping(timeout=5)
        assert storage.stats.total == 3
    finally:
        await storage.close()
