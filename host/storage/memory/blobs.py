"""In-memory block blobs with eTags and leases (expiry by the injected clock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from host.errors import ConflictError, InvalidRequestError, NotFoundError, PreconditionFailedError
from host.storage.interface import BlobInfo
from host.storage.memory.base import MemoryBase

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass
class _Blob:
    data: bytes
    etag: str
    last_modified: datetime
    created_on: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str = DEFAULT_CONTENT_TYPE
    lease_id: str | None = None  # kept after expiry so the holder can still renew
    lease_until: datetime | None = None  # None with a lease_id = infinite
    lease_released: bool = True
    lease_seconds: int = -1

    def info(self, name: str) -> BlobInfo:
        return BlobInfo(
            name,
            self.etag,
            len(self.data),
            self.last_modified,
            self.created_on,
            dict(self.metadata),
            self.content_type,
        )


class MemoryBlobs(MemoryBase):
    """Containers of block blobs, listed in name order."""

    _containers: dict[str, dict[str, _Blob]]

    def _lease_active(self, blob: _Blob) -> bool:
        if blob.lease_released or blob.lease_id is None:
            return False
        return blob.lease_until is None or blob.lease_until > self.now()

    def _check_write_lease(self, blob: _Blob, lease_id: str | None, what: str) -> None:
        active = self._lease_active(blob)
        if active and lease_id is None:
            raise PreconditionFailedError(f"{what}: 412 LeaseIdMissing")
        if active and lease_id != blob.lease_id:
            raise PreconditionFailedError(f"{what}: 412 LeaseIdMismatchWithBlobOperation")
        if not active and lease_id is not None:
            raise PreconditionFailedError(f"{what}: 412 LeaseNotPresentWithBlobOperation")

    def _blob(self, container: str, name: str, what: str) -> _Blob:
        blob = self._containers.get(container, {}).get(name)
        if blob is None:
            raise NotFoundError(f"{what}: 404 BlobNotFound")
        return blob

    def _blob_etag(self) -> str:
        return f'"0x{self.next_number():015X}"'

    async def create_container(self, container: str) -> None:
        await self._request("blob.create_container")
        self._containers.setdefault(container, {})

    async def delete_container(self, container: str) -> None:
        await self._request("blob.delete_container")
        self._containers.pop(container, None)

    async def upload_blob(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        overwrite: bool = True,
        if_match: str | None = None,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        lease_id: str | None = None,
    ) -> BlobInfo:
        what = f"upload blob {container}/{name}"
        await self._request("blob.upload")
        blobs = self._containers.setdefault(container, {})
        old = blobs.get(name)
        if if_match is not None and (old is None or (if_match != "*" and if_match != old.etag)):
            raise PreconditionFailedError(f"{what}: 412 ConditionNotMet")
        if old is not None:
            if not overwrite:
                raise ConflictError(f"{what}: 409 BlobAlreadyExists")
            self._check_write_lease(old, lease_id, what)
        elif lease_id is not None:
            raise PreconditionFailedError(f"{what}: 412 LeaseNotPresentWithBlobOperation")
        now = self.now()
        blob = _Blob(
            bytes(data),
            self._blob_etag(),
            now,
            old.created_on if old else now,
            dict(metadata or {}),
            content_type or DEFAULT_CONTENT_TYPE,
        )
        if old is not None:
            blob.lease_id, blob.lease_until = old.lease_id, old.lease_until
            blob.lease_released, blob.lease_seconds = old.lease_released, old.lease_seconds
        blobs[name] = blob
        return blob.info(name)

    async def download_blob(self, container: str, name: str) -> tuple[bytes, BlobInfo]:
        await self._request("blob.download")
        blob = self._blob(container, name, f"download blob {container}/{name}")
        return blob.data, blob.info(name)

    async def get_blob_info(self, container: str, name: str) -> BlobInfo | None:
        await self._request("blob.info")
        blob = self._containers.get(container, {}).get(name)
        return None if blob is None else blob.info(name)

    async def delete_blob(self, container: str, name: str, *, lease_id: str | None = None) -> None:
        await self._request("blob.delete")
        blobs = self._containers.get(container, {})
        blob = blobs.get(name)
        if blob is None:
            return
        self._check_write_lease(blob, lease_id, f"delete blob {container}/{name}")
        del blobs[name]

    async def list_blobs(self, container: str, prefix: str = "") -> list[BlobInfo]:
        await self._request("blob.list")
        blobs = self._containers.get(container, {})
        return [blobs[n].info(n) for n in sorted(blobs) if n.startswith(prefix)]

    async def acquire_lease(
        self, container: str, name: str, *, duration: int, lease_id: str | None = None
    ) -> str:
        what = f"acquire lease on blob {container}/{name}"
        await self._request("blob.lease")
        if duration != -1 and not 15 <= duration <= 60:
            raise InvalidRequestError(f"{what}: 400 InvalidHeaderValue (lease must be 15-60 s or -1)")
        blob = self._blob(container, name, what)
        if self._lease_active(blob) and lease_id != blob.lease_id:
            raise PreconditionFailedError(f"{what}: 409 LeaseAlreadyPresent")
        blob.lease_id = lease_id or self.new_id()
        blob.lease_released = False
        blob.lease_seconds = duration
        blob.lease_until = None if duration == -1 else self.now() + timedelta(seconds=duration)
        return blob.lease_id

    def _owned(self, container: str, name: str, lease_id: str, what: str) -> _Blob:
        blob = self._blob(container, name, what)
        if blob.lease_released or blob.lease_id != lease_id:
            raise PreconditionFailedError(f"{what}: 409 LeaseIdMismatchWithLeaseOperation")
        return blob

    async def renew_lease(self, container: str, name: str, lease_id: str) -> None:
        what = f"renew lease on blob {container}/{name}"
        await self._request("blob.lease")
        blob = self._owned(container, name, lease_id, what)
        if blob.lease_seconds != -1:
            blob.lease_until = self.now() + timedelta(seconds=blob.lease_seconds)

    async def release_lease(self, container: str, name: str, lease_id: str) -> None:
        what = f"release lease on blob {container}/{name}"
        await self._request("blob.lease")
        blob = self._owned(container, name, lease_id, what)
        blob.lease_released = True
        blob.lease_until = None
