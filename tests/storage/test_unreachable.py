"""An unreachable account is reported quickly and clearly, never by hanging."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from host.errors import StorageUnreachableError
from host.storage import open_storage
from host.storage.azurite import DEV_ACCOUNT, DEV_KEY


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections are refused, and no other process
    (an Azurite started by a parallel test) can take it meanwhile, as it could a merely free one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _dead_account(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
    )


async def test_ping_unreachable_fails_fast(dead_port: int) -> None:
    storage = open_storage(_dead_account(dead_port))
    try:
        # Refused at once (retries bounded by the policy), long before the ping's own 10-minute deadline.
        with pytest.raises(StorageUnreachableError, match="storage did not answer") as caught:
            await storage.ping(timeout=600)
    finally:
        await storage.close()
    assert "within" not in str(caught.value)


async def test_operations_on_unreachable_account_raise_unreachable(dead_port: int) -> None:
    storage = open_storage(_dead_account(dead_port))
    try:
        with pytest.raises(StorageUnreachableError, match="is the storage account"):
            await storage.put_message("somequeue", "x")
        with pytest.raises(StorageUnreachableError, match="is the storage account"):
            await storage.get_row("sometable", "p", "r")
    finally:
        await storage.close()


async def test_ping_reachable(azurite_connection_string: str) -> None:
    storage = open_storage(azurite_connection_string)
    try:
        await storage.ping(timeout=5)
        assert storage.stats.total == 3
    finally:
        await storage.close()
