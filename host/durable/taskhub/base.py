"""Shared state of a task hub (storage, names, options, clock) and large-payload blobs."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from host.durable.taskhub.names import TaskHubNames
from host.durable.taskhub.rows import MAX_INLINE_CHARS, Spill
from host.errors import DurableError, NotFoundError
from host.storage.interface import Storage

LARGE_MESSAGE_BYTES = 45 * 1024
"""DTFx moves a queue message above 45 KiB (UTF-8) to a blob."""
MAX_INFLATED_BYTES = 64 * 1024 * 1024
"""A large-message blob that inflates past this is refused (a gzip bomb must not exhaust memory)."""


class PayloadError(DurableError):
    """A large-message blob cannot be read: corrupt gzip, not UTF-8, or inflating past the limit."""


def inflate(data: bytes, blob_name: str, limit: int | None = MAX_INFLATED_BYTES) -> str:
    """The UTF-8 text of a (possibly gzipped) blob, refusing more than ``limit`` bytes of it."""
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data) if limit is None else inflater.decompress(data, limit + 1)
        except zlib.error as err:
            raise PayloadError(f"blob {blob_name} is not valid gzip: {err}") from err
        if limit is not None and (len(data) > limit or inflater.unconsumed_tail):
            raise PayloadError(f"blob {blob_name} inflates past the limit of {limit:,} bytes")
    elif limit is not None and len(data) > limit:
        raise PayloadError(f"blob {blob_name} is larger than the limit of {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PayloadError(f"blob {blob_name} is not UTF-8 text: {err}") from err


@dataclass(frozen=True)
class TaskHubOptions:
    """Knobs of the task hub (defaults as DTFx)."""

    control_visibility_timeout: int = 300
    workitem_visibility_timeout: int = 300
    max_message_bytes: int = LARGE_MESSAGE_BYTES
    max_inline_chars: int = MAX_INLINE_CHARS
    max_batch_rows: int = 99
    """Event rows per checkpoint transaction (plus the sentinel = 100 operations)."""
    max_batch_bytes: int = 3 * 1024 * 1024
    purge_concurrency: int = 8


def utc_now() -> datetime:
    return datetime.now(UTC)


class TaskHubBase:
    """Storage, names, options and clock of one hub, plus gzip blob helpers."""

    def __init__(
        self,
        storage: Storage,
        names: TaskHubNames,
        options: TaskHubOptions | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.storage = storage
        self.names = names
        self.options = options or TaskHubOptions()
        self.now: Callable[[], datetime] = clock or utc_now

    # blobs ----------------------------------------------------------------
    async def upload_text(self, blob_name: str, text: str) -> None:
        """Gzip ``text`` into the large-message container (created on first use)."""
        data = gzip.compress(text.encode("utf-8"), compresslevel=6)
        await self.storage.upload_blob(
            self.names.large_messages_container, blob_name, data, content_type="application/gzip"
        )

    async def download_text(self, blob_name: str, *, limit: int | None = None) -> str:
        """The text of a large-message blob (NotFoundError when it is gone).

        ``limit``: refuse (PayloadError) a blob inflating past that many bytes — for blobs anyone
        may have written, such as those queue messages point at.
        """
        data, _ = await self.storage.download_blob(self.names.large_messages_container, blob_name)
        return inflate(data, blob_name, limit)

    async def upload_spills(self, spills: Iterable[Spill]) -> None:
        """Upload every spilled property (in parallel)."""
        pending = [self.upload_text(s.blob_name, s.text) for s in spills]
        if pending:
            await asyncio.gather(*pending)

    def blob_url(self, blob_name: str) -> str | None:
        """The absolute URL of a large-message blob when the storage can tell it (else ``None``)."""
        make = getattr(self.storage, "blob_url", None)
        if make is None:
            return None
        url = make(self.names.large_messages_container, blob_name)
        return str(url) if url else None

    async def delete_blobs(self, names: Iterable[str]) -> None:
        """Delete large-message blobs (missing ones are fine)."""
        container = self.names.large_messages_container

        async def one(name: str) -> None:
            try:
                await self.storage.delete_blob(container, name)
            except NotFoundError:
                pass

        pending = [one(n) for n in names]
        if pending:
            await asyncio.gather(*pending)

    async def delete_blobs_of(self, escaped_instance_id: str) -> int:
        """Delete every blob under ``{escaped id}/``; returns how many there were."""
        blobs = await self.storage.list_blobs(self.names.large_messages_container, f"{escaped_instance_id}/")
        await self.delete_blobs(b.name for b in blobs)
        return len(blobs)
