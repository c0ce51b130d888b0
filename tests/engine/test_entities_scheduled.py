"""Scheduled signals on Azurite: not applied before their time, whether their message becomes
visible at the due time (client signal) or arrives early and is deferred by the entity."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from entities_support import ENTITIES_APP, entity_row, entity_state, signal, wait_for, wait_state

from host.durable.entities.ids import EntityId
from host.durable.entities.requests import RequestMessage, input_from_value, request_event_name
from host.durable.entities.ticks import ticks_from_datetime
from host.durable.replay import history as h
from host.testing.app_host import AppHost

HOST_APP = ENTITIES_APP


async def test_scheduled_signals_are_not_applied_before_their_time(host: AppHost) -> None:
    entity = EntityId("Counter", uuid.uuid4().hex[:10])
    hub = host.durable.hub
    now = hub.now()
    due_early, due_late = now + timedelta(seconds=3), now + timedelta(seconds=5)
    # a raw scheduled request visible at once: the entity must defer it until its due time
    early = RequestMessage(
        "add",
        is_signal=True,
        input=input_from_value(json.dumps(10)),
        scheduled_time=ticks_from_datetime(due_early),
    )
    await hub.send(
        None, h.event_raised(now, request_event_name(early), early.to_text()), instance_id=entity.instance_id
    )
    # a client signal scheduled later: its message stays invisible until then
    await signal(host, entity, "add", 100, scheduled_time=due_late)
    await signal(host, entity, "add", 1)
    await wait_state(host, entity, 1)
    assert hub.now() < due_early, "the machine was too slow to observe the state before the due times"

    async def value_changed() -> object:
        _exists, value = await entity_state(host, entity)
        return value if value != 1 else None

    assert await wait_for(value_changed, timeout=15, interval=0.01) == 11
    row = await entity_row(host, entity)
    assert row is not None and row.last_updated_time is not None
    assert row.last_updated_time >= due_early
    await wait_state(host, entity, 111, timeout=15)
    row = await entity_row(host, entity)
    assert row is not None and row.last_updated_time is not None
    assert row.last_updated_time >= due_late


async def test_an_entity_schedules_a_signal_to_another(host: AppHost) -> None:
    key = uuid.uuid4().hex[:10]
    counter = EntityId("Counter", key)
    sent_at = host.durable.hub.now()
    await signal(host, EntityId("Forwarder", key), "forward", {"key": key, "amount": 3, "delay": 2})
    await wait_state(host, EntityId("Forwarder", key), 1)
    assert await entity_state(host, counter) == (False, None)
    await wait_state(host, counter, 3, timeout=15)
    row = await entity_row(host, counter)
    assert row is not None and row.last_updated_time is not None
    assert row.last_updated_time >= sent_at + timedelta(seconds=2)
