"""A :class:`~host.storage.interface.Storage` that injects failures, for tests.

``FaultyStorage(inner, rate=0.1, seed=7)`` fails about ``rate`` of the calls it forwards, with a
seedable random choice among the fault kinds:

* ``busy`` — 503 ServerBusy, the request never reached storage;
* ``internal`` — 500 InternalError, the request never reached storage;
* ``reset`` — the connection was reset before the request was sent;
* ``timeout`` — the request *was* carried out, but its answer was lost (the caller cannot tell
  whether it happened: the hard case for idempotency);
* ``conflict`` — 412 on a conditional write (an eTag or blob condition), as if somebody else had
  written first; other calls are never given this one. A conditional write that draws a fault
  gets this one half of the time (conditional writes are few: a uniform choice among five kinds
  left some runs without a single conflict, so tests could not count on exercising it).

``pause(name)`` holds every call on one table or queue until ``resume(name)`` (e.g. to stall a
checkpoint); :attr:`FaultyStorage.held` counts the calls waiting. ``refuse(name)`` fails every call
on one table or queue as unreachable storage until ``accept(name)`` (an outage only that table or
queue has, or only this host sees).

The errors are the ones the real storage raises after its retries gave up
(:class:`~host.errors.StorageBusyError`, :class:`~host.errors.StorageUnreachableError`,
:class:`~host.errors.PreconditionFailedError`), so code above cannot tell them from real ones.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from host.errors import PreconditionFailedError, StorageBusyError, StorageError, StorageUnreachableError
from host.storage.interface import (
    BlobInfo,
    Filter,
    Page,
    QueueMessage,
    Row,
    SentMessage,
    Storage,
    StorageStats,
    TableOp,
)

FAULT_KINDS = ("busy", "internal", "reset", "timeout", "conflict")
T = TypeVar("T")


class FaultyStorage:
    """Forwards every call to ``inner``, failing about ``rate`` of them (see the module docstring)."""

    def __init__(
        self,
        inner: Storage,
        *,
        rate: float = 0.1,
        seed: int | None = None,
        kinds: Sequence[str] = FAULT_KINDS,
        conditional_boost: float = 1.0,
    ) -> None:
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not kinds or not 0 <= rate <= 1:
            raise ValueError(f"FaultyStorage: bad rate {rate!r} or fault kinds {sorted(unknown) or kinds!r}")
        self.inner = inner
        self.rate = rate
        """The fault rate; set it to 0 to let everything through."""
        self.kinds = tuple(kinds)
        self.conditional_boost = conditional_boost
        """Conditional writes fail at ``rate`` times this (they are few; a test that must see
        conflicts raises it)."""
        self.injected: Counter[str] = Counter()
        """Faults injected so far, by kind."""
        self.exposed = 0
        """Calls made while the rate was above 0 (those that could fail)."""
        self.held: Counter[str] = Counter()
        """Calls waiting on a paused table or queue now, by name."""
        self._rng = random.Random(seed)
        self._paused: dict[str, asyncio.Event] = {}
        self._refused: set[str] = set()

    @property
    def stats(self) -> StorageStats:
        """The wrapped storage's counters (settable, as the Storage protocol requires)."""
        return self.inner.stats

    @stats.setter
    def stats(self, value: StorageStats) -> None:
        self.inner.stats = value

    @property
    def account_name(self) -> str:
        return self.inner.account_name

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self, timeout: float = 5.0) -> None:
        await self.inner.ping(timeout)

    def pause(self, name: str) -> None:
        """Hold every call on the table or queue ``name`` until :meth:`resume` (they wait; none fails)."""
        self._paused.setdefault(name, asyncio.Event())

    def resume(self, name: str) -> None:
        """Let the calls held on ``name`` (and later ones) through."""
        gate = self._paused.pop(name, None)
        if gate is not None:
            gate.set()

    def refuse(self, name: str) -> None:
        """Fail every call on the table or queue ``name`` (storage unreachable) until :meth:`accept`."""
        self._refused.add(name)

    def accept(self, name: str) -> None:
        """Let calls on ``name`` through again."""
        self._refused.discard(name)

    # ------------------------------------------------------------------ the injection

    def _draw(self, conditional: bool) -> str | None:
        if self.rate <= 0:
            return None
        self.exposed += 1
        if self._rng.random() >= self.rate * (self.conditional_boost if conditional else 1.0):
            return None
        kinds = [k for k in self.kinds if conditional or k != "conflict"]
        others = [k for k in kinds if k != "conflict"]
        if len(others) < len(kinds) and (not others or self._rng.random() < 0.5):
            return "conflict"
        return self._rng.choice(others) if others else None

    async def _call(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        *,
        conditional: bool = False,
        target: str | None = None,
    ) -> T:
        """``call``, unless a fault is drawn; ``target`` (the table or queue it is on) may be
        paused or refused."""
        if target is not None and target in self._refused:
            raise StorageUnreachableError(f"{what}: storage did not answer (refused)")
        gate = self._paused.get(target) if target is not None else None
        if gate is not None and target is not None:
            self.held[target] += 1
            try:
                await gate.wait()
            finally:
                self.held[target] -= 1
        kind = self._draw(conditional)
        if kind is None:
            return await call()
        self.injected[kind] += 1
        if kind == "timeout":
            await call()  # carried out; the answer is lost
            raise StorageUnreachableError(f"{what}: storage did not answer (timed out; injected fault)")
        raise _error(kind, what)

    # ------------------------------------------------------------------ queues

    async def create_queue(self, queue: str) -> None:
        await self._call(f"create queue {queue}", lambda: self.inner.create_queue(queue), target=queue)

    async def delete_queue(self, queue: str) -> None:
        await self._call(f"delete queue {queue}", lambda: self.inner.delete_queue(queue), target=queue)

    async def list_queues(self, prefix: str = "") -> list[str]:
        return await self._call("list queues", lambda: self.inner.list_queues(prefix))

    async def put_message(
        self, queue: str, content: str, *, visibility_timeout: int = 0, time_to_live: int = -1
    ) -> SentMessage:
        return await self._call(
            f"put message on queue {queue}",
            lambda: self.inner.put_message(
                queue, content, visibility_timeout=visibility_timeout, time_to_live=time_to_live
            ),
            target=queue,
        )

    async def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 300
    ) -> list[QueueMessage]:
        return await self._call(
            f"receive from queue {queue}",
            lambda: self.inner.receive_messages(
                queue, max_messages=max_messages, visibility_timeout=visibility_timeout
            ),
            target=queue,
        )

    async def peek_messages(self, queue: str, *, max_messages: int = 32) -> list[QueueMessage]:
        return await self._call(
            f"peek queue {queue}",
            lambda: self.inner.peek_messages(queue, max_messages=max_messages),
            target=queue,
        )

    async def update_message(
        self,
        queue: str,
        message_id: str,
        pop_receipt: str,
        *,
        visibility_timeout: int,
        content: str | None = None,
    ) -> str:
        return await self._call(
            f"update message {message_id} on queue {queue}",
            lambda: self.inner.update_message(
                queue, message_id, pop_receipt, visibility_timeout=visibility_timeout, content=content
            ),
            target=queue,
        )

    async def delete_message(self, queue: str, message_id: str, pop_receipt: str) -> None:
        await self._call(
            f"delete message {message_id} from queue {queue}",
            lambda: self.inner.delete_message(queue, message_id, pop_receipt),
            target=queue,
        )

    async def queue_length(self, queue: str) -> int:
        return await self._call(
            f"length of queue {queue}", lambda: self.inner.queue_length(queue), target=queue
        )

    # ------------------------------------------------------------------ tables

    async def create_table(self, table: str) -> None:
        await self._call(f"create table {table}", lambda: self.inner.create_table(table), target=table)

    async def delete_table(self, table: str) -> None:
        await self._call(f"delete table {table}", lambda: self.inner.delete_table(table), target=table)

    async def list_tables(self, prefix: str = "") -> list[str]:
        return await self._call("list tables", lambda: self.inner.list_tables(prefix))

    async def get_row(self, table: str, partition_key: str, row_key: str) -> Row | None:
        return await self._call(
            f"read table {table}", lambda: self.inner.get_row(table, partition_key, row_key), target=table
        )

    async def query_rows(
        self,
        table: str,
        where: Filter | None = None,
        *,
        select: Sequence[str] | None = None,
        top: int | None = None,
        continuation: str | None = None,
    ) -> Page:
        return await self._call(
            f"query table {table}",
            lambda: self.inner.query_rows(table, where, select=select, top=top, continuation=continuation),
            target=table,
        )

    async def iter_rows(
        self, table: str, where: Filter | None = None, *, select: Sequence[str] | None = None
    ) -> AsyncIterator[Row]:
        continuation: str | None = None
        while True:
            page = await self.query_rows(table, where, select=select, continuation=continuation)
            for row in page.rows:
                yield row
            continuation = page.continuation
            if continuation is None:
                return

    async def write_row(self, table: str, op: TableOp) -> str | None:
        return await self._call(
            f"write table {table}",
            lambda: self.inner.write_row(table, op),
            conditional=_conditional(op),
            target=table,
        )

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
        return await self._call(
            f"transaction on table {table}",
            lambda: self.inner.transact(table, ops),
            conditional=any(_conditional(op) for op in ops),
            target=table,
        )

    # ------------------------------------------------------------------ blobs

    async def create_container(self, container: str) -> None:
        await self._call(f"create container {container}", lambda: self.inner.create_container(container))

    async def delete_container(self, container: str) -> None:
        await self._call(f"delete container {container}", lambda: self.inner.delete_container(container))

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
        return await self._call(
            f"upload blob {container}/{name}",
            lambda: self.inner.upload_blob(
                container,
                name,
                data,
                overwrite=overwrite,
                if_match=if_match,
                metadata=metadata,
                content_type=content_type,
                lease_id=lease_id,
            ),
            conditional=if_match is not None,
        )

    async def download_blob(self, container: str, name: str) -> tuple[bytes, BlobInfo]:
        return await self._call(
            f"download blob {container}/{name}", lambda: self.inner.download_blob(container, name)
        )

    async def get_blob_info(self, container: str, name: str) -> BlobInfo | None:
        return await self._call(
            f"read properties of blob {container}/{name}", lambda: self.inner.get_blob_info(container, name)
        )

    async def delete_blob(self, container: str, name: str, *, lease_id: str | None = None) -> None:
        await self._call(
            f"delete blob {container}/{name}",
            lambda: self.inner.delete_blob(container, name, lease_id=lease_id),
        )

    async def list_blobs(self, container: str, prefix: str = "") -> list[BlobInfo]:
        return await self._call(
            f"list blobs in {container}", lambda: self.inner.list_blobs(container, prefix)
        )

    async def acquire_lease(
        self, container: str, name: str, *, duration: int, lease_id: str | None = None
    ) -> str:
        return await self._call(
            f"acquire lease on blob {container}/{name}",
            lambda: self.inner.acquire_lease(container, name, duration=duration, lease_id=lease_id),
        )

    async def renew_lease(self, container: str, name: str, lease_id: str) -> None:
        await self._call(
            f"renew lease on blob {container}/{name}",
            lambda: self.inner.renew_lease(container, name, lease_id),
        )

    async def release_lease(self, container: str, name: str, lease_id: str) -> None:
        await self._call(
            f"release lease on blob {container}/{name}",
            lambda: self.inner.release_lease(container, name, lease_id),
        )


def _conditional(op: TableOp) -> bool:
    return op.etag is not None and op.etag != "*"


def _error(kind: str, what: str) -> StorageError:
    if kind == "busy":
        return StorageBusyError(f"{what}: 503 ServerBusy (injected fault)")
    if kind == "internal":
        return StorageBusyError(f"{what}: 500 InternalError (injected fault)")
    if kind == "reset":
        return StorageUnreachableError(f"{what}: storage did not answer (connection reset; injected fault)")
    return PreconditionFailedError(f"{what}: 412 ConditionNotMet (injected fault)")
