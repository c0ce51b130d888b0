"""Azure Storage's service limits, checked up front (pure unit tests of host.storage.limits)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from host.errors import InvalidRequestError, StorageError
from host.storage.interface import TableOp, WriteMode
from host.storage.limits import (
    MAX_ENTITY_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_PROPERTY_BYTES,
    MAX_TRANSACTION_BYTES,
    MAX_USER_PROPERTIES,
    check_entity,
    check_message,
    check_transaction,
    entity_size,
)


def row(rk: str = "r", **props: object) -> dict[str, object]:
    return {"PartitionKey": "p", "RowKey": rk, **props}


def test_a_message_of_exactly_64_kib_passes_one_byte_more_is_refused() -> None:
    check_message("q", "x" * MAX_MESSAGE_BYTES)
    with pytest.raises(
        InvalidRequestError, match=r"queue q: a message may be at most 65,536 bytes, got 65,537"
    ):
        check_message("q", "x" * (MAX_MESSAGE_BYTES + 1))


def test_message_size_counts_utf8_bytes_not_characters() -> None:
    with pytest.raises(InvalidRequestError):
        check_message("q", "é" * (MAX_MESSAGE_BYTES // 2 + 1))  # 2 bytes each in UTF-8


def test_a_string_property_may_hold_32k_utf16_units() -> None:
    check_entity("t", row(s="x" * (MAX_PROPERTY_BYTES // 2)))
    with pytest.raises(InvalidRequestError, match=r"property s is 65,538 bytes.*PropertyValueTooLarge"):
        check_entity("t", row(s="x" * (MAX_PROPERTY_BYTES // 2 + 1)))


def test_characters_outside_the_bmp_count_twice() -> None:
    # 16,384 emoji are 16,384 Python characters but 32,768 UTF-16 units: exactly at the limit.
    check_entity("t", row(s="\U0001f600" * (MAX_PROPERTY_BYTES // 4)))
    with pytest.raises(InvalidRequestError):
        check_entity("t", row(s="\U0001f600" * (MAX_PROPERTY_BYTES // 4 + 1)))


def test_a_binary_property_may_hold_64_kib() -> None:
    check_entity("t", row(b=b"\0" * MAX_PROPERTY_BYTES))
    with pytest.raises(InvalidRequestError, match="property b"):
        check_entity("t", row(b=b"\0" * (MAX_PROPERTY_BYTES + 1)))


def test_an_entity_may_be_1_mib() -> None:
    big = {f"p{i:02d}": "x" * 32_000 for i in range(16)}
    assert entity_size(row(**big)) < MAX_ENTITY_BYTES
    check_entity("t", row(**big))
    bigger = {f"p{i:02d}": "x" * 32_000 for i in range(17)}
    assert entity_size(row(**bigger)) > MAX_ENTITY_BYTES
    with pytest.raises(InvalidRequestError, match="EntityTooLarge"):
        check_entity("t", row(**bigger))


def test_entity_size_follows_the_service_formula() -> None:
    # 4 + 2*len(PK) + 2*len(RK) + per property 8 + 2*len(name) + value bytes
    entity = row(s="ab", n=1, f=1.5, b=True, d=datetime(2026, 1, 1, tzinfo=UTC), g=uuid.uuid4(), x=b"123")
    expected = (
        4
        + 2
        + 2
        + (8 + 2 + 4 + 4)
        + (8 + 2 + 8)
        + (8 + 2 + 8)
        + (8 + 2 + 1)
        + (8 + 2 + 8)
        + (8 + 2 + 16)
        + (8 + 2 + 4 + 3)
    )
    assert entity_size(entity) == expected
    assert entity_size({**entity, "Timestamp": datetime.now(UTC), "none": None}) == expected


def test_at_most_252_own_properties() -> None:
    check_entity("t", {**row(), **{f"p{i}": i for i in range(MAX_USER_PROPERTIES)}})
    with pytest.raises(InvalidRequestError, match="at most 252 properties, got 253"):
        check_entity("t", {**row(), **{f"p{i}": i for i in range(MAX_USER_PROPERTIES + 1)}})


def test_keys_may_be_1024_characters() -> None:
    check_entity("t", row(rk="k" * 1024))
    with pytest.raises(InvalidRequestError, match=r"RowKey may be at most 1,024 characters.*InvalidInput"):
        check_entity("t", row(rk="k" * 1025))


def ops(count: int, **props: object) -> list[TableOp]:
    return [TableOp(WriteMode.UPSERT_REPLACE, row(f"r{i}", **props)) for i in range(count)]


def test_a_transaction_holds_100_operations() -> None:
    check_transaction("t", ops(100))
    with pytest.raises(StorageError, match="at most 100 operations, got 101"):
        check_transaction("t", ops(101))


def test_a_transaction_carries_at_most_4_mib() -> None:
    payload = {f"p{i}": "x" * 32_000 for i in range(4)}  # ~256 KB per entity
    per_entity = entity_size(row("r0", **payload))
    fits = MAX_TRANSACTION_BYTES // per_entity
    check_transaction("t", ops(fits, **payload))
    with pytest.raises(InvalidRequestError, match="at most 4,194,304 bytes"):
        check_transaction("t", ops(fits + 1, **payload))


def test_a_transaction_checks_each_entity_and_ignores_deleted_ones() -> None:
    with pytest.raises(InvalidRequestError, match="property s"):
        check_transaction("t", [TableOp(WriteMode.UPSERT_MERGE, row(s="x" * 40_000))])
    check_transaction("t", [TableOp(WriteMode.DELETE, row(s="x" * 40_000))])
