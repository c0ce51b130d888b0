"""Blob semantics, identical on Azurite (AzureStorage) and MemoryStorage."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from host.errors import ConflictError, NotFoundError, PreconditionFailedError, StorageError
from host.storage.interface import Storage

Namer = Callable[[str], str]


async def test_upload_download_info(storage: Storage, name: Namer) -> None:
    c = name("c")
    info = await storage.upload_blob(
        c, "dir/a.json", b'{"x": 1}', metadata={"k": "v"}, content_type="application/json"
    )  # creates the container
    assert info.size == 8 and info.etag.startswith('"')
    data, read = await storage.download_blob(c, "dir/a.json")
    assert data == b'{"x": 1}'
    assert read.etag == info.etag and read.metadata == {"k": "v"}
    assert read.content_type == "application/json" and read.last_modified.tzinfo is not None
    got = await storage.get_blob_info(c, "dir/a.json")
    assert got is not None and got.etag == info.etag and got.size == 8
    assert await storage.get_blob_info(c, "nope") is None
    with pytest.raises(NotFoundError):
        await storage.download_blob(c, "nope")


async def test_overwrite_and_if_match(storage: Storage, name: Namer) -> None:
    c = name("c")
    first = await storage.upload_blob(c, "b", b"1")
    with pytest.raises(ConflictError):
        await storage.upload_blob(c, "b", b"2", overwrite=False)
    second = await storage.upload_blob(c, "b", b"2", if_match=first.etag)
    assert second.etag != first.etag
    with pytest.raises(PreconditionFailedError):
        await storage.upload_blob(c, "b", b"3", if_match=first.etag)
    with pytest.raises(PreconditionFailedError):
        await storage.upload_blob(c, "missing", b"3", if_match=first.etag)
    assert (await storage.download_blob(c, "b"))[0] == b"2"


async def test_list_by_prefix_and_delete(storage: Storage, name: Namer) -> None:
    c = name("c")
    await storage.create_container(c)
    await storage.create_container(c)
    for n in ("b/2", "a/1", "b/1", "c"):
        await storage.upload_blob(c, n, n.encode())
    assert [b.name for b in await storage.list_blobs(c)] == ["a/1", "b/1", "b/2", "c"]
    listed = await storage.list_blobs(c, prefix="b/")
    assert [b.name for b in listed] == ["b/1", "b/2"] and listed[0].size == 3
    info = await storage.get_blob_info(c, "b/1")
    assert info is not None and listed[0].etag == info.etag
    await storage.delete_blob(c, "b/1")
    await storage.delete_blob(c, "b/1")  # idempotent
    assert [b.name for b in await storage.list_blobs(c, prefix="b/")] == ["b/2"]
    assert await storage.list_blobs(name("nocontainer")) == []
    await storage.delete_container(c)
    assert await storage.list_blobs(c) == []


async def test_leases(storage: Storage, name: Namer) -> None:
    c = name("c")
    await storage.upload_blob(c, "lease", b"x")
    lease = await storage.acquire_lease(c, "lease", duration=15)
    with pytest.raises(PreconditionFailedError):
        await storage.acquire_lease(c, "lease", duration=15)
    assert await storage.acquire_lease(c, "lease", duration=15, lease_id=lease) == lease
    await storage.renew_lease(c, "lease", lease)
    other = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(PreconditionFailedError):
        await storage.renew_lease(c, "lease", other)
    with pytest.raises(PreconditionFailedError):
        await storage.release_lease(c, "lease", other)
    # writes need the lease while it is held
    with pytest.raises(PreconditionFailedError):
        await storage.upload_blob(c, "lease", b"y")
    with pytest.raises(PreconditionFailedError):
        await storage.upload_blob(c, "lease", b"y", lease_id=other)
    with pytest.raises(PreconditionFailedError):
        await storage.delete_blob(c, "lease")
    await storage.upload_blob(c, "lease", b"y", lease_id=lease)
    await storage.release_lease(c, "lease", lease)
    with pytest.raises(PreconditionFailedError):
        await storage.renew_lease(c, "lease", lease)
    with pytest.raises(PreconditionFailedError):  # no lease to present any more
        await storage.upload_blob(c, "lease", b"z", lease_id=lease)
    await storage.upload_blob(c, "lease", b"z")
    chosen = "00000000-0000-0000-0000-000000000002"
    assert await storage.acquire_lease(c, "lease", duration=-1, lease_id=chosen) == chosen
    await storage.release_lease(c, "lease", chosen)
    await storage.delete_blob(c, "lease")
    with pytest.raises(NotFoundError):
        await storage.acquire_lease(c, "lease", duration=15)
    with pytest.raises(StorageError):
        await storage.acquire_lease(c, "lease", duration=5)
