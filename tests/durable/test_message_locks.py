"""MessageLocks on a real queue (Azurite and in-memory): held messages stay invisible; settles get
the newest pop receipt."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from waiting import eventually

from host.durable.engine.locks import MessageLocks
from host.durable.replay import history as h
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import TaskMessage


async def received(hub: TaskHub, visibility: int) -> TaskMessage:
    """Send one event to instance ``i1``'s control queue and receive it (locked ``visibility`` s)."""
    await hub.send(None, h.event_raised(hub.now(), "go", "1"), instance_id="i1")
    queue = hub.names.control_queue_for("i1")
    [msg] = await hub.receive(queue, 1, visibility)
    return msg


async def test_a_held_message_stays_invisible_past_its_lock(hub: TaskHub) -> None:
    msg = await received(hub, 1)
    locks = MessageLocks(hub, 1)
    locks.hold(msg)
    locks.start()
    try:
        receipts = {msg.pop_receipt}

        def renewed_twice() -> bool:
            receipts.add(msg.pop_receipt)
            return len(receipts) >= 3

        await eventually(renewed_twice, 10, "two lock renewals", interval=0.02)
        assert await hub.receive(msg.queue or "", 1, 1) == []  # still locked: nobody else gets it
        await locks.release(msg)
        assert await hub.delete_message(msg)  # the newest receipt
    finally:
        await locks.stop()


async def test_release_waits_for_a_renewal_in_flight(hub: TaskHub) -> None:
    msg = await received(hub, 1)
    locks = MessageLocks(hub, 30)  # a 1 s lock left of 30: due for renewal at once
    locks.hold(msg)
    before = msg.pop_receipt
    locks.renew_due()
    await locks.release(msg)
    assert msg.pop_receipt != before
    assert await hub.delete_message(msg)


async def test_a_copy_takes_over_the_hold_and_the_renewed_receipt(hub: TaskHub) -> None:
    work_item = await received(hub, 1)
    locks = MessageLocks(hub, 30)
    locks.hold(work_item)
    locks.renew_due()  # a renewal of the original is in flight ...
    completion = dataclasses.replace(
        work_item, event=h.event_raised(hub.now(), "done", "2"), next_visible_on=None
    )
    locks.hold(completion)  # ... when its completion stands in for it
    await locks.release(work_item)  # not the holder any more: no effect
    await locks.release(completion)
    assert completion.pop_receipt == work_item.pop_receipt
    assert await hub.delete_message(completion)


async def test_a_copy_does_not_postpone_the_renewal_it_takes_over(hub: TaskHub) -> None:
    # The chaos bench found it: a completion waiting in a busy session stood in for its work item
    # with a fresh 'lock ends in lock_seconds' estimate, the real lock ran out first, and another
    # host ran the activity again.
    work_item = await received(hub, 1)  # 1 s left of its lock
    locks = MessageLocks(hub, 30)
    locks.hold(work_item)
    completion = dataclasses.replace(
        work_item, event=h.event_raised(hub.now(), "done", "2"), next_visible_on=None
    )
    locks.hold(completion)
    before = completion.pop_receipt
    locks.renew_due()  # 1 s left of 30: due now, whoever holds it
    await locks.release(completion)
    assert completion.pop_receipt != before
    assert await hub.delete_message(completion)


async def test_a_lock_that_lapsed_before_its_renewal_is_logged_once(
    hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = await received(hub, 1), await received(hub, 1)
    queue = first.queue or ""

    async def both_visible_again() -> bool:
        return len(await hub.storage.peek_messages(queue)) == 2

    await eventually(both_visible_again, 10, "both locks to lapse", interval=0.05)
    locks = MessageLocks(hub, 30)
    caplog.set_level(logging.WARNING, logger="host.durable")
    for msg in (first, second):
        locks.hold(msg)
        locks.renew_due()
        await locks.release(msg)
    lapsed = [r.getMessage() for r in caplog.records if "lapsed" in r.getMessage()]
    assert len(lapsed) == 1, lapsed  # the second within the same interval is held back
    assert str(first.message_id) in lapsed[0]
    receipts = [r for r in (first.pop_receipt, second.pop_receipt) if r]
    assert not any(r in lapsed[0] for r in receipts)  # no secrets: receipts are credentials
    for msg in (first, second):
        assert await hub.delete_message(msg)
