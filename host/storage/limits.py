"""Client-side checks of Azure Storage's service limits (shared by every implementation).

Checked up front, so a request real Azure Storage would refuse fails the same way here (Azurite
is more lenient about some sizes): a queue message is at most 64 KiB, a table entity at most
1 MiB with at most 255 properties (252 of the caller's own), a string property at most 64 KiB
(32K UTF-16 characters), a binary one at most 64 KiB, a key at most 1,024 characters, and a transaction at
most 100 operations on one partition and 4 MiB. Sizes follow the service's documented formula.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from host.errors import InvalidRequestError, StorageError
from host.storage.interface import MAX_TRANSACTION_OPERATIONS, TableOp, WriteMode

MAX_MESSAGE_BYTES = 64 * 1024
"""A queue message's content (as sent, UTF-8) may be at most 64 KiB."""
MAX_ENTITY_BYTES = 1024 * 1024
MAX_PROPERTY_BYTES = 64 * 1024
"""A string (UTF-16) or binary property may be at most 64 KiB."""
MAX_KEY_CHARS = 1024
"""PartitionKey and RowKey are at most 1 KiB (as the in-memory storage and Azurite count it)."""
MAX_USER_PROPERTIES = 252
"""255 properties per entity, three of them the system's (PartitionKey, RowKey, Timestamp)."""
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
_SYSTEM = frozenset({"PartitionKey", "RowKey", "Timestamp"})


def check_message(queue: str, content: str) -> None:
    """InvalidRequestError if ``content`` is larger than a queue message may be."""
    size = len(content.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise InvalidRequestError(
            f"queue {queue}: a message may be at most {MAX_MESSAGE_BYTES:,} bytes, got {size:,} "
            "(413 RequestBodyTooLarge on Azure)"
        )


def _utf16_bytes(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass"))


def _value_bytes(value: Any) -> int:
    """Bytes a property value counts for in the service's entity size formula."""
    if isinstance(value, str):
        return 4 + _utf16_bytes(value)
    if isinstance(value, bytes | bytearray):
        return 4 + len(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, uuid.UUID):
        return 16
    if isinstance(value, int | float | datetime):
        return 8
    return 4 + _utf16_bytes(str(value))


def entity_size(entity: Mapping[str, Any]) -> int:
    """The entity's size as the service computes it.

    4 + 2·len(PartitionKey) + 2·len(RowKey) + Σ(8 + 2·len(name) + the value's bytes).
    """
    size = 4
    size += _utf16_bytes(str(entity.get("PartitionKey", ""))) + _utf16_bytes(str(entity.get("RowKey", "")))
    for name, value in entity.items():
        if name in _SYSTEM or value is None:
            continue
        size += 8 + _utf16_bytes(name) + _value_bytes(value)
    return size


def check_entity(table: str, entity: Mapping[str, Any]) -> None:
    """InvalidRequestError if ``entity`` breaks a size or count limit of Azure Tables."""
    where = (
        f"table {table}, row ({str(entity.get('PartitionKey'))[:40]!r}, {str(entity.get('RowKey'))[:40]!r})"
    )
    for key in ("PartitionKey", "RowKey"):
        value = entity.get(key)
        if isinstance(value, str) and len(value) > MAX_KEY_CHARS:
            raise InvalidRequestError(
                f"{where}: {key} may be at most {MAX_KEY_CHARS:,} characters, got {len(value):,} "
                "(400 InvalidInput on Azure)"
            )
    own = [name for name, value in entity.items() if name not in _SYSTEM and value is not None]
    if len(own) > MAX_USER_PROPERTIES:
        raise InvalidRequestError(f"{where}: at most {MAX_USER_PROPERTIES} properties, got {len(own)}")
    for name in own:
        value = entity[name]
        size = (
            _utf16_bytes(value) if isinstance(value, str) else len(value) if isinstance(value, bytes) else 0
        )
        if size > MAX_PROPERTY_BYTES:
            raise InvalidRequestError(
                f"{where}: property {name} is {size:,} bytes; at most {MAX_PROPERTY_BYTES:,} "
                "(32K characters) (400 PropertyValueTooLarge on Azure)"
            )
    total = entity_size(entity)
    if total > MAX_ENTITY_BYTES:
        raise InvalidRequestError(
            f"{where}: the entity is {total:,} bytes; at most {MAX_ENTITY_BYTES:,} "
            "(400 EntityTooLarge on Azure)"
        )


def check_transaction(table: str, ops: Sequence[TableOp]) -> None:
    """StorageError unless ``ops`` are ≤ 100 operations on one partition, each row once, ≤ 4 MiB,
    each entity within the limits of :func:`check_entity`."""
    if len(ops) > MAX_TRANSACTION_OPERATIONS:
        raise StorageError(
            f"table {table}: a transaction may hold at most {MAX_TRANSACTION_OPERATIONS} "
            f"operations, got {len(ops)}"
        )
    partitions = {str(op.entity.get("PartitionKey")) for op in ops}
    if len(partitions) > 1:
        shown = ", ".join(sorted(partitions)[:3])
        raise StorageError(
            f"table {table}: a transaction must stay in one partition, got PartitionKeys {shown}"
        )
    keys = [str(op.entity.get("RowKey")) for op in ops]
    if len(set(keys)) != len(keys):
        raise StorageError(f"table {table}: a transaction may touch each row only once")
    total = 0
    for op in ops:
        if op.mode is not WriteMode.DELETE:
            check_entity(table, op.entity)
            total += entity_size(op.entity)
    if total > MAX_TRANSACTION_BYTES:
        raise InvalidRequestError(
            f"table {table}: a transaction may carry at most {MAX_TRANSACTION_BYTES:,} bytes of "
            f"entities, got {total:,} (413 RequestBodyTooLarge on Azure)"
        )
