"""Blob trigger (scan + receipts) and blob input/output bindings.

Each blob version fires a function once: a receipt blob
``azure-webjobs-hosts/blobreceipts/<hostId>/Host.Functions.<fn>/<ETag>/<container>/<blob>``
(metadata ``Incomplete=true`` while being processed) records it, as the real host keeps them,
so blobs that existed before the host started fire once and a restart does not fire them
again; overwriting a blob (new ETag) fires again. The container is listed at start, after any
write by this host's blob output bindings (in-process wake-up), and on an idle back-off of up
to 2 s (the real host lists every 10 s; one listing per function is cheap on a local account).
A failing function is retried up to ``maxDequeueCount`` times, then a message goes to
``webjobs-blobtrigger-poison`` and the receipt is completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from host.errors import ConflictError, InvocationError, NotFoundError, StorageError
from host.indexing.registry import BLOB_TRIGGER, Binding, FunctionInfo
from host.storage.accounts import StorageAccounts
from host.storage.interface import BlobInfo, Storage
from host.triggers.bindexpr import BlobPathPattern, bind_template
from host.triggers.blobpath import split_blob_path
from host.triggers.common import Backoff, Invoke, Wakeups, wakeups_for
from host.triggers.convert import blob_value
from host.triggers.encoding import encode_body
from host.triggers.names import BLOB_TRIGGER_POISON_QUEUE, HOSTS_CONTAINER, blob_receipt_name, function_id

if TYPE_CHECKING:
    from host.runtime import HostRuntime

log = logging.getLogger("host.triggers.blob")
SCAN_MAX_INTERVAL = 2.0
INCOMPLETE = "Incomplete"


def blob_uri(storage: Storage, container: str, name: str) -> str:
    account = getattr(storage, "account", None)
    endpoint = getattr(account, "blob_endpoint", None) or f"http://127.0.0.1:10000/{storage.account_name}"
    return f"{endpoint.rstrip('/')}/{container}/{name}"


def blob_metadata(storage: Storage, container: str, info: BlobInfo, params: dict[str, str]) -> dict[str, Any]:
    """Binding data of a blob trigger: ``BlobTrigger``, ``Uri``, ``Properties``, ``Metadata`` + captures."""
    props = {
        "ContentLength": info.size,
        "Length": info.size,
        "ContentType": info.content_type,
        "ETag": info.etag,
        "LastModified": info.last_modified.isoformat(),
        "CreatedOn": info.created_on.isoformat() if info.created_on else None,
        "BlobType": "BlockBlob",
    }
    meta: dict[str, Any] = dict(params)
    meta.update(
        {
            "BlobTrigger": f"{container}/{info.name}",
            "Uri": blob_uri(storage, container, info.name),
            "Properties": props,
            "Metadata": dict(info.metadata),
        }
    )
    return meta


class BlobTriggerListener:
    """Scans one container for one blob-triggered function."""

    def __init__(
        self,
        fn: FunctionInfo,
        storage: Storage,
        invoke: Invoke,
        *,
        host_id: str,
        max_attempts: int = 5,
        wakeups: Wakeups | None = None,
    ) -> None:
        self.fn = fn
        self.storage = storage
        self.invoke = invoke
        self.host_id = host_id
        self.max_attempts = max_attempts
        self.pattern = BlobPathPattern.parse(str(fn.trigger.get("path", "")))
        self.container = self.pattern.container
        self.wakeups = wakeups if wakeups is not None else wakeups_for(storage)
        self._seen: set[tuple[str, str]] = set()  # (name, etag) known to have a complete receipt
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.invocations = 0

    def receipt(self, info: BlobInfo) -> str:
        return blob_receipt_name(self.host_id, self.fn.name, info.etag, self.container, info.name)

    async def start(self) -> None:
        self._wake = self.wakeups.subscribe(f"blob:{self.container}")
        self._task = asyncio.create_task(self._run(), name=f"blob-trigger:{self.fn.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self.wakeups.unsubscribe(f"blob:{self.container}", self._wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        assert self._wake is not None
        backoff = Backoff(SCAN_MAX_INTERVAL, minimum=0.5)
        await self._load_receipts()
        while not self._stopping:
            self._wake.clear()
            try:
                fired = await self.scan()
            except StorageError as e:
                log.warning("Scanning container '%s' failed: %s", self.container, e)
                fired = 0
            if fired:
                backoff.reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff.next_delay())

    async def _load_receipts(self) -> None:
        """Remember every complete receipt with one listing (no per-blob checks at start)."""
        prefix = f"blobreceipts/{self.host_id}/{function_id(self.fn.name)}/"
        try:
            receipts = await self.storage.list_blobs(HOSTS_CONTAINER, prefix)
        except StorageError:
            return
        for r in receipts:
            etag, _, rest = r.name[len(prefix) :].partition("/")
            container, _, name = rest.partition("/")
            if container == self.container and r.metadata.get(INCOMPLETE) != "true":
                self._seen.add((name, etag))

    async def scan(self) -> int:
        """List the container once and run the function for every new blob version."""
        fired = 0
        for info in await self.storage.list_blobs(self.container, self.pattern.literal_prefix):
            if (info.name, info.etag) in self._seen or self._stopping:
                continue
            params = self.pattern.match(info.name)
            if params is None:
                continue
            if await self._claim(info):
                await self._process(info, params)
                fired += 1
            self._seen.add((info.name, info.etag))
        return fired

    async def _claim(self, info: BlobInfo) -> bool:
        """Create the receipt (incomplete); False if a complete receipt already exists."""
        name = self.receipt(info)
        existing = await self.storage.get_blob_info(HOSTS_CONTAINER, name)
        if existing is not None:
            return existing.metadata.get(INCOMPLETE) == "true"  # a crashed run: process again
        try:
            await self.storage.upload_blob(
                HOSTS_CONTAINER, name, b"", overwrite=False, metadata={INCOMPLETE: "true"}
            )
        except ConflictError:
            return False
        return True

    async def _process(self, info: BlobInfo, params: dict[str, str]) -> None:
        meta = blob_metadata(self.storage, self.container, info, params)
        for attempt in range(1, self.max_attempts + 1):
            try:
                data, current = await self.storage.download_blob(self.container, info.name)
            except NotFoundError:
                break  # gone: nothing to do (any other error leaves the receipt incomplete: retried)
            if current.etag != info.etag:
                break  # overwritten meanwhile: the new version fires on its own
            try:
                value = blob_value(self.fn, self.fn.trigger.name, data, meta, trigger=True)
                reason = f"New blob detected(LogsAndContainerScan): {self.container}/{info.name}"
                await self.invoke(self.fn, value, trigger_metadata=meta, reason=reason)
                break
            except Exception as e:
                log.debug("Blob function '%s' failed (attempt %d): %s", self.fn.name, attempt, e)
                if attempt == self.max_attempts:
                    await self._poison(info)
            finally:
                self.invocations += 1
        await self.storage.upload_blob(HOSTS_CONTAINER, self.receipt(info), b"", metadata={})

    async def _poison(self, info: BlobInfo) -> None:
        log.warning(
            "Blob '%s/%s' failed %d times; moving it to queue '%s'.",
            self.container,
            info.name,
            self.max_attempts,
            BLOB_TRIGGER_POISON_QUEUE,
        )
        message = {
            "Type": "BlobTrigger",
            "FunctionId": function_id(self.fn.name),
            "BlobType": "BlockBlob",
            "ContainerName": self.container,
            "BlobName": info.name,
            "ETag": info.etag,
        }
        await self.storage.create_queue(BLOB_TRIGGER_POISON_QUEUE)
        await self.storage.put_message(BLOB_TRIGGER_POISON_QUEUE, encode_body(json.dumps(message), "base64"))


class BlobInput:
    """The ``blob`` input binding provider (missing blob ⇒ ``None``; any other storage error raises)."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts

    async def __call__(self, binding: Binding, fn: FunctionInfo, metadata: dict[str, Any] | None) -> Any:
        container, name = split_blob_path(bind_template(str(binding.get("path", "")), metadata or {}))
        storage = self.accounts.get(binding.get("connection"))
        try:
            data, _ = await storage.download_blob(container, name)
        except NotFoundError:
            return None
        return blob_value(fn, binding.name, data, None, trigger=False)


def _blob_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    reader = getattr(value, "read", None)
    if callable(reader):
        return _blob_bytes(reader())
    raise InvocationError(f"A blob output value must be str, bytes or a stream, not {type(value).__name__}")


class BlobOutput:
    """The ``blob`` output handler: writes (overwrites) after success, wakes blob triggers."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts

    async def __call__(self, binding: Binding, value: Any, metadata: dict[str, Any] | None) -> None:
        container, name = split_blob_path(bind_template(str(binding.get("path", "")), metadata or {}))
        storage = self.accounts.get(binding.get("connection"))
        await storage.upload_blob(container, name, _blob_bytes(value))
        wakeups_for(storage).notify(f"blob:{container}")


def create_listeners(
    runtime: HostRuntime, accounts: StorageAccounts, max_attempts: int
) -> list[BlobTriggerListener]:
    """A scanner per blob-triggered function (on its ``connection``'s account)."""
    return [
        BlobTriggerListener(
            fn,
            accounts.get(fn.trigger.get("connection")),
            runtime.invoker.invoke,
            host_id=runtime.host_id,
            max_attempts=max_attempts,
        )
        for fn in runtime.registry.by_trigger(BLOB_TRIGGER)
    ]
