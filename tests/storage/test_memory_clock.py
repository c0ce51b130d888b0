"""MemoryStorage on a virtual clock: visibility, TTL and lease expiry without waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from host.errors import NotFoundError, PreconditionFailedError
from host.storage.memory import MemoryStorage


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_visibility_follows_the_injected_clock() -> None:
    clock = FakeClock()
    s = MemoryStorage(clock)
    await s.create_queue("work")
    sent = await s.put_message("work", "a", visibility_timeout=10)
    assert sent.next_visible_on == clock.now + timedelta(seconds=10)
    clock.advance(9.999)
    assert await s.receive_messages("work") == []
    clock.advance(0.001)
    m = (await s.receive_messages("work", visibility_timeout=60))[0]
    assert m.next_visible_on == clock.now + timedelta(seconds=60) and m.inserted_on == sent.inserted_on
    clock.advance(60)
    again = (await s.receive_messages("work"))[0]
    assert again.dequeue_count == 2
    with pytest.raises(NotFoundError):
        await s.delete_message("work", m.id, m.pop_receipt)


async def test_time_to_live_expires_messages() -> None:
    clock = FakeClock()
    s = MemoryStorage(clock)
    await s.create_queue("ttl")
    await s.put_message("ttl", "short", time_to_live=5)
    forever = await s.put_message("ttl", "forever")
    assert await s.queue_length("ttl") == 2
    clock.advance(5)
    assert await s.queue_length("ttl") == 1
    assert [m.id for m in await s.peek_messages("ttl")] == [forever.id]


async def test_lease_expires_and_holder_can_renew() -> None:
    clock = FakeClock()
    s = MemoryStorage(clock)
    await s.upload_blob("c", "b", b"x")
    lease = await s.acquire_lease("c", "b", duration=15)
    clock.advance(14)
    with pytest.raises(PreconditionFailedError):
        await s.acquire_lease("c", "b", duration=15)
    await s.renew_lease("c", "b", lease)
    clock.advance(14)
    with pytest.raises(PreconditionFailedError):
        await s.upload_blob("c", "b", b"y")
    clock.advance(1)  # 15 s after the renewal: expired
    await s.upload_blob("c", "b", b"y")  # no lease needed any more
    await s.renew_lease("c", "b", lease)  # nobody else took it: the holder may renew
    clock.advance(16)
    other = await s.acquire_lease("c", "b", duration=-1)
    with pytest.raises(PreconditionFailedError):
        await s.renew_lease("c", "b", lease)
    clock.advance(10**6)
    with pytest.raises(PreconditionFailedError):  # infinite lease
        await s.acquire_lease("c", "b", duration=15)
    await s.release_lease("c", "b", other)


async def test_stats_count_requests() -> None:
    s = MemoryStorage()
    await s.create_queue("q1x")
    await s.put_message("q1x", "a")
    await s.receive_messages("q1x")
    assert s.stats.snapshot() == {"queue.create": 1, "queue.put": 1, "queue.receive": 1}
    assert s.stats.total == 3
