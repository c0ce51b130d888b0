"""The narrow storage interface every part of the host goes through.

Three services, as Azure Storage offers them: queues, tables and blobs. The engine, the
triggers and the testing toolkit only ever see :class:`Storage`; an implementation over the
Azure SDKs talks to Azurite or a real account, and an in-memory one keeps the same semantics
(visibility timeouts, eTags, leases, batch limits) without sockets.

Conventions:

* all methods are ``async``; datetimes are timezone-aware UTC;
* a missing queue message/entity/blob raises :class:`host.errors.NotFoundError`, an existing
  one on insert :class:`host.errors.ConflictError`, a failed eTag/lease precondition
  :class:`host.errors.PreconditionFailedError`;
* table rows are :class:`Row` (a ``dict`` with ``PartitionKey``/``RowKey`` and an ``etag``
  attribute); ``None`` values are not stored (as in Azure Tables); Python ints that do not fit
  in 32 bits are stored as Int64;
* queue message content is ``str`` and stored as given (no Base64 unless the caller encodes).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

MAX_QUEUE_VISIBILITY_SECONDS = 7 * 24 * 3600
"""Azure caps a queue message's visibility timeout at 7 days."""

MAX_BATCH_RECEIVE = 32
"""Azure returns at most 32 messages per receive."""

MAX_TRANSACTION_OPERATIONS = 100
"""Azure Tables accepts at most 100 operations in one entity-group transaction."""


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True)
class QueueMessage:
    """A message received from (or put on) a queue."""

    id: str
    pop_receipt: str
    content: str
    dequeue_count: int
    inserted_on: datetime
    expires_on: datetime | None
    next_visible_on: datetime | None


@dataclass(frozen=True)
class SentMessage:
    """What a put returns: enough to update or delete the message later."""

    id: str
    pop_receipt: str
    inserted_on: datetime
    next_visible_on: datetime | None


# --------------------------------------------------------------------------- tables


class Row(dict[str, Any]):
    """A table entity: its properties, plus the ``etag`` it was read or written with."""

    etag: str | None

    def __init__(self, *args: Any, etag: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.etag = etag

    @property
    def partition_key(self) -> str:
        return str(self["PartitionKey"])

    @property
    def row_key(self) -> str:
        return str(self["RowKey"])


class Op(enum.Enum):
    """Comparison operators of a table filter."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"


@dataclass(frozen=True)
class Compare:
    """``property <op> value``."""

    prop: str
    op: Op
    value: Any


@dataclass(frozen=True)
class And:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Filter, ...]


Filter = Compare | And | Or
"""A structured table filter; the Azure implementation renders it to OData, the in-memory one
evaluates it. Build them with :func:`eq`, :func:`ge`, … and :func:`all_of`/:func:`any_of`."""


def eq(prop: str, value: Any) -> Compare:
    return Compare(prop, Op.EQ, value)


def ne(prop: str, value: Any) -> Compare:
    return Compare(prop, Op.NE, value)


def gt(prop: str, value: Any) -> Compare:
    return Compare(prop, Op.GT, value)


def ge(prop: str, value: Any) -> Compare:
    return Compare(prop, Op.GE, value)


def lt(prop: str, value: Any) -> Compare:
    return Compare(prop, Op.LT, value)


def le(prop: str, value: Any) -> Compare:
    return Compare(prop, Op.LE, value)


def all_of(*parts: Filter | None) -> Filter | None:
    """AND of the given filters (``None`` parts are skipped; ``None`` if nothing is left)."""
    kept = tuple(p for p in parts if p is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(kept)


def any_of(*parts: Filter | None) -> Filter | None:
    """OR of the given filters (``None`` parts are skipped; ``None`` if nothing is left)."""
    kept = tuple(p for p in parts if p is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Or(kept)


class WriteMode(enum.Enum):
    """How a write treats an existing entity."""

    INSERT = "insert"  # fails with ConflictError if it exists
    UPSERT_REPLACE = "upsert_replace"  # insert or replace whole entity
    UPSERT_MERGE = "upsert_merge"  # insert or merge properties
    UPDATE_REPLACE = "update_replace"  # must exist; replace (honours etag)
    UPDATE_MERGE = "update_merge"  # must exist; merge (honours etag)
    DELETE = "delete"  # must exist (honours etag)


@dataclass(frozen=True)
class TableOp:
    """One operation of a table transaction (or a single write)."""

    mode: WriteMode
    entity: dict[str, Any]
    etag: str | None = None  # If-Match; None = unconditional ("*") where the mode allows it


@dataclass
class Page:
    """One page of a query and the token that continues it (``None`` at the end)."""

    rows: list[Row]
    continuation: str | None = None


# --------------------------------------------------------------------------- blobs


@dataclass(frozen=True)
class BlobInfo:
    """Properties of a blob as listed or read."""

    name: str
    etag: str
    size: int
    last_modified: datetime
    created_on: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


# --------------------------------------------------------------------------- stats


@dataclass
class StorageStats:
    """Counts of requests sent to storage, by operation name (for benchmarks and tests)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, op: str, n: int = 1) -> None:
        self.counts[op] = self.counts.get(op, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


# --------------------------------------------------------------------------- the interface


@runtime_checkable
class Storage(Protocol):
    """Queues, tables and blobs of one storage account."""

    stats: StorageStats

    @property
    def account_name(self) -> str: ...

    async def close(self) -> None: ...

    async def ping(self, timeout: float = 5.0) -> None:
        """Raise :class:`host.errors.StorageUnreachableError` if the account does not answer."""
        ...

    # queues ---------------------------------------------------------------
    async def create_queue(self, queue: str) -> None:
        """Create the queue if it does not exist."""
        ...

    async def delete_queue(self, queue: str) -> None:
        """Delete the queue if it exists."""
        ...

    async def list_queues(self, prefix: str = "") -> list[str]: ...

    async def put_message(
        self, queue: str, content: str, *, visibility_timeout: int = 0, time_to_live: int = -1
    ) -> SentMessage:
        """Append a message (invisible for ``visibility_timeout`` whole seconds; TTL -1 = never)."""
        ...

    async def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 300
    ) -> list[QueueMessage]:
        """Take up to ``max_messages`` (≤ 32) visible messages and hide them for the timeout."""
        ...

    async def peek_messages(self, queue: str, *, max_messages: int = 32) -> list[QueueMessage]: ...

    async def update_message(
        self,
        queue: str,
        message_id: str,
        pop_receipt: str,
        *,
        visibility_timeout: int,
        content: str | None = None,
    ) -> str:
        """Change visibility (and optionally content); returns the new pop receipt."""
        ...

    async def delete_message(self, queue: str, message_id: str, pop_receipt: str) -> None: ...

    async def queue_length(self, queue: str) -> int:
        """Approximate number of messages in the queue."""
        ...

    # tables ---------------------------------------------------------------
    async def create_table(self, table: str) -> None:
        """Create the table if it does not exist."""
        ...

    async def delete_table(self, table: str) -> None:
        """Delete the table if it exists."""
        ...

    async def list_tables(self, prefix: str = "") -> list[str]: ...

    async def get_row(self, table: str, partition_key: str, row_key: str) -> Row | None:
        """Point read; ``None`` when the entity does not exist."""
        ...

    async def query_rows(
        self,
        table: str,
        where: Filter | None = None,
        *,
        select: Sequence[str] | None = None,
        top: int | None = None,
        continuation: str | None = None,
    ) -> Page:
        """One page of rows matching ``where`` in (PartitionKey, RowKey) order."""
        ...

    def iter_rows(
        self, table: str, where: Filter | None = None, *, select: Sequence[str] | None = None
    ) -> AsyncIterator[Row]:
        """All rows matching ``where``, following continuations."""
        ...

    async def write_row(self, table: str, op: TableOp) -> str | None:
        """One write; returns the new eTag (``None`` for deletes)."""
        ...

    async def transact(self, table: str, ops: Sequence[TableOp]) -> list[str | None]:
        """≤ 100 operations on one partition, all or nothing; returns the new eTags in order."""
        ...

    # blobs ----------------------------------------------------------------
    async def create_container(self, container: str) -> None:
        """Create the container if it does not exist."""
        ...

    async def delete_container(self, container: str) -> None:
        """Delete the container if it exists."""
        ...

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
        """Write a block blob (creating the container if needed).

        A blob under an active lease can only be written with that ``lease_id``
        (PreconditionFailedError otherwise), as in Azure."""
        ...

    async def download_blob(self, container: str, name: str) -> tuple[bytes, BlobInfo]: ...

    async def get_blob_info(self, container: str, name: str) -> BlobInfo | None: ...

    async def delete_blob(self, container: str, name: str, *, lease_id: str | None = None) -> None:
        """Delete the blob if it exists (a leased blob needs its ``lease_id``)."""
        ...

    async def list_blobs(self, container: str, prefix: str = "") -> list[BlobInfo]:
        """Blobs in name order; an empty list when the container does not exist."""
        ...

    async def acquire_lease(
        self, container: str, name: str, *, duration: int, lease_id: str | None = None
    ) -> str:
        """Take a blob lease (15–60 s, or -1 = infinite); PreconditionFailedError if held."""
        ...

    async def renew_lease(self, container: str, name: str, lease_id: str) -> None: ...

    async def release_lease(self, container: str, name: str, lease_id: str) -> None: ...
