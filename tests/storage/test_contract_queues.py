"""Queue semantics, identical on Azurite (AzureStorage) and MemoryStorage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from host.errors import InvalidRequestError, NotFoundError
from host.storage.interface import Storage

Eventually = Callable[..., Awaitable[Any]]

Namer = Callable[[str], str]


async def test_create_list_delete_queue(storage: Storage, name: Namer) -> None:
    q = name("ql")
    await storage.create_queue(q)
    await storage.create_queue(q)  # idempotent
    assert q in await storage.list_queues(prefix=q[:6])
    assert await storage.list_queues(prefix="zz" + q) == []
    await storage.delete_queue(q)
    await storage.delete_queue(q)  # idempotent
    assert q not in await storage.list_queues(prefix=q[:6])


async def test_put_receive_delete_keeps_content_as_given(storage: Storage, name: Namer) -> None:
    q = name("qp")
    await storage.create_queue(q)
    content = '{"a": "é ü 字", "b": "not base64 == "}'
    sent = await storage.put_message(q, content)
    got = await storage.receive_messages(q, max_messages=5, visibility_timeout=30)
    assert [m.content for m in got] == [content]
    m = got[0]
    assert m.id == sent.id and m.dequeue_count == 1
    assert m.inserted_on.tzinfo is not None and m.next_visible_on is not None
    assert m.pop_receipt and m.pop_receipt != sent.pop_receipt
    assert await storage.receive_messages(q) == []  # hidden
    await storage.delete_message(q, m.id, m.pop_receipt)
    assert await storage.queue_length(q) == 0


async def test_put_on_missing_queue_is_not_found(storage: Storage, name: Namer) -> None:
    with pytest.raises(NotFoundError):
        await storage.put_message(name("qmissing"), "x")


async def test_a_message_over_64_kib_is_refused_and_nothing_is_stored(storage: Storage, name: Namer) -> None:
    q = name("qbig")
    await storage.create_queue(q)
    await storage.put_message(q, "x" * 65536)
    with pytest.raises(InvalidRequestError, match="at most 65,536 bytes"):
        await storage.put_message(q, "x" * 65537)
    [m] = await storage.receive_messages(q, max_messages=32)
    with pytest.raises(InvalidRequestError, match="at most 65,536 bytes"):
        await storage.update_message(q, m.id, m.pop_receipt, visibility_timeout=0, content="é" * 32769)
    assert await storage.queue_length(q) == 1


async def test_batch_receive_and_length(storage: Storage, name: Namer) -> None:
    q = name("qb")
    await storage.create_queue(q)
    for i in range(5):
        await storage.put_message(q, f"m{i}")
    assert await storage.queue_length(q) == 5
    peeked = await storage.peek_messages(q, max_messages=3)
    assert len(peeked) == 3 and all(p.dequeue_count == 0 for p in peeked)
    got = await storage.receive_messages(q, max_messages=32, visibility_timeout=30)
    assert sorted(m.content for m in got) == [f"m{i}" for i in range(5)]
    assert await storage.peek_messages(q) == []  # all invisible now
    assert await storage.queue_length(q) == 5  # invisible messages still count


async def test_delayed_put_becomes_visible(storage: Storage, name: Namer, eventually: Eventually) -> None:
    q = name("qd")
    await storage.create_queue(q)
    await storage.put_message(q, "later", visibility_timeout=1)
    assert await storage.receive_messages(q) == []  # hidden at first
    got = await eventually(lambda: storage.receive_messages(q), timeout=5)
    assert got[0].content == "later"


async def test_abandon_redelivers_with_higher_dequeue_count(
    storage: Storage, name: Namer, eventually: Eventually
) -> None:
    q = name("qa")
    await storage.create_queue(q)
    await storage.put_message(q, "x")
    first = (await storage.receive_messages(q, visibility_timeout=30))[0]
    receipt = await storage.update_message(q, first.id, first.pop_receipt, visibility_timeout=0)
    assert receipt != first.pop_receipt
    second = (await eventually(lambda: storage.receive_messages(q, visibility_timeout=30)))[0]
    assert second.id == first.id and second.dequeue_count == 2
    # the receipts of earlier deliveries are stale now
    for stale in (first.pop_receipt, receipt):
        with pytest.raises(NotFoundError):
            await storage.delete_message(q, first.id, stale)
    await storage.delete_message(q, second.id, second.pop_receipt)
    with pytest.raises(NotFoundError):
        await storage.delete_message(q, second.id, second.pop_receipt)


async def test_update_changes_content_and_extends_visibility(
    storage: Storage, name: Namer, eventually: Eventually
) -> None:
    q = name("qu")
    await storage.create_queue(q)
    await storage.put_message(q, "old")
    m = (await storage.receive_messages(q, visibility_timeout=1))[0]
    receipt = await storage.update_message(q, m.id, m.pop_receipt, visibility_timeout=30, content="new")
    with pytest.raises(NotFoundError):
        await storage.update_message(q, m.id, m.pop_receipt, visibility_timeout=0)
    await storage.update_message(q, m.id, receipt, visibility_timeout=0)
    with pytest.raises(NotFoundError):  # the previous call replaced `receipt` too
        await storage.update_message(q, m.id, receipt, visibility_timeout=0)
    again = (await eventually(lambda: storage.receive_messages(q)))[0]
    assert again.content == "new" and again.dequeue_count == 2


async def test_delete_with_put_receipt(storage: Storage, name: Namer) -> None:
    q = name("qr")
    await storage.create_queue(q)
    sent = await storage.put_message(q, "x")
    await storage.delete_message(q, sent.id, sent.pop_receipt)
    assert await storage.queue_length(q) == 0
