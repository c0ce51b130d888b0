"""Blob operations of :class:`host.storage.azure.storage.AzureStorage` (azure.storage.blob.aio)."""

from __future__ import annotations

from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient, BlobLeaseClient

from host.storage.azure.base import AzureBase
from host.storage.interface import BlobInfo

_ERRORS = (AzureError, OSError)


def _info(name: str, props: Any) -> BlobInfo:
    settings = getattr(props, "content_settings", None)
    return BlobInfo(
        name=name,
        etag=quote_etag(str(props.etag)),
        size=int(props.size or 0),
        last_modified=props.last_modified,
        created_on=getattr(props, "creation_time", None),
        metadata=dict(props.metadata or {}),
        content_type=settings.content_type if settings else None,
    )


def quote_etag(etag: str) -> str:
    """Blob eTags as HTTP headers carry them (listings return them without the quotes)."""
    return etag if etag.startswith(('"', "W/")) else f'"{etag}"'


class AzureBlobs(AzureBase):
    """Block blobs, containers and leases."""

    def _blob(self, container: str, name: str) -> BlobClient:
        return self.container_client(container).get_blob_client(name)

    async def create_container(self, container: str) -> None:
        self.stats.add("blob.create_container")
        try:
            await self.container_client(container).create_container()
        except ResourceExistsError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"create container {container}")

    async def delete_container(self, container: str) -> None:
        self.stats.add("blob.delete_container")
        try:
            await self.container_client(container).delete_container()
        except ResourceNotFoundError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"delete container {container}")
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
        kwargs: dict[str, Any] = {"overwrite": overwrite, "metadata": metadata or None}
        if if_match is not None:
            kwargs.update(etag=if_match, match_condition=MatchConditions.IfNotModified)
        if content_type is not None:
            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        if lease_id is not None:
            kwargs["lease"] = lease_id
        what = f"upload blob {container}/{name}"
        for attempt in (1, 2):
            self.stats.add("blob.upload")
            try:
                result = await self._blob(container, name).upload_blob(data, **kwargs)
                break
            except ResourceNotFoundError as err:
                if attempt == 2 or getattr(err, "error_code", None) != "ContainerNotFound":
                    self.raise_mapped(err, what)
                await self.create_container(container)
            except _ERRORS as err:
                self.raise_mapped(err, what, lease_conflict=False)
        return BlobInfo(
            name=name,
            etag=quote_etag(str(result["etag"])),
            size=len(data),
            last_modified=result["last_modified"],
            metadata=dict(metadata or {}),
            content_type=content_type,
        )

    async def download_blob(self, container: str, name: str) -> tuple[bytes, BlobInfo]:
        self.stats.add("blob.download")
        try:
            downloader = await self._blob(container, name).download_blob()
            data = await downloader.readall()
        except _ERRORS as err:
            self.raise_mapped(err, f"download blob {container}/{name}")
        return bytes(data), _info(name, downloader.properties)

    async def get_blob_info(self, container: str, name: str) -> BlobInfo | None:
        self.stats.add("blob.info")
        try:
            props = await self._blob(container, name).get_blob_properties()
        except ResourceNotFoundError:
            return None
        except _ERRORS as err:
            self.raise_mapped(err, f"read properties of blob {container}/{name}")
        return _info(name, props)

    async def delete_blob(self, container: str, name: str, *, lease_id: str | None = None) -> None:
        self.stats.add("blob.delete")
        try:
            await self._blob(container, name).delete_blob(lease=lease_id)
        except ResourceNotFoundError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"delete blob {container}/{name}")

    async def list_blobs(self, container: str, prefix: str = "") -> list[BlobInfo]:
        found: list[BlobInfo] = []
        pages = (
            self.container_client(container)
            .list_blobs(name_starts_with=prefix or None, include=["metadata"])
            .by_page()
        )
        try:
            async for page in pages:
                self.stats.add("blob.list")
                found.extend([_info(b.name, b) async for b in page])
        except ResourceNotFoundError:
            return []
        except _ERRORS as err:
            self.raise_mapped(err, f"list blobs in {container}")
        return found

    async def acquire_lease(
        self, container: str, name: str, *, duration: int, lease_id: str | None = None
    ) -> str:
        self.stats.add("blob.lease")
        lease = BlobLeaseClient(self._blob(container, name), lease_id=lease_id)
        try:
            await lease.acquire(lease_duration=duration)
        except _ERRORS as err:
            self.raise_mapped(err, f"acquire lease on blob {container}/{name}", lease_conflict=True)
        return str(lease.id)

    async def renew_lease(self, container: str, name: str, lease_id: str) -> None:
        self.stats.add("blob.lease")
        try:
            await BlobLeaseClient(self._blob(container, name), lease_id=lease_id).renew()
        except _ERRORS as err:
            self.raise_mapped(err, f"renew lease on blob {container}/{name}", lease_conflict=True)

    async def release_lease(self, container: str, name: str, lease_id: str) -> None:
        self.stats.add("blob.lease")
        try:
            await BlobLeaseClient(self._blob(container, name), lease_id=lease_id).release()
        except _ERRORS as err:
            self.raise_mapped(err, f"release lease on blob {container}/{name}", lease_conflict=True)
