"""Scheduler state, request messages, ids, inbox (order, de-dup, scheduled) and queries: pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from host.durable.entities.ids import EntityId, EntityIdError
from host.durable.entities.inbox import receive_events
from host.durable.entities.query import (
    ContinuationTokenError,
    EntityQuery,
    entity_key_range,
    query_entities,
    read_entity_state,
    select_for_clean,
)
from host.durable.entities.requests import RequestMessage, parse_entity_event, request_event_name
from host.durable.entities.sorter import MessageSorter
from host.durable.entities.state import EntityStatus, SchedulerState
from host.durable.entities.ticks import format_ticks, parse_ticks, ticks_from_datetime

NOW = datetime(2024, 1, 1, 12, tzinfo=UTC)
T = ticks_from_datetime(NOW)


def test_entity_ids() -> None:
    e = EntityId("Counter", "MyKey")
    assert e.instance_id == "@counter@MyKey" and EntityId.parse("@counter@a@b") == EntityId("counter", "a@b")
    assert EntityId.from_url("Counter", "$").key == ""
    for bad in ("counter@k", "@@k", "x"):
        with pytest.raises(EntityIdError):
            EntityId.parse(bad)
    with pytest.raises(EntityIdError):
        EntityId.from_url("c", "a/b")


def test_ticks_round_trip_dotnet_format() -> None:
    assert format_ticks(parse_ticks("2024-01-01T00:00:00.1234567Z")) == "2024-01-01T00:00:00.1234567Z"
    assert format_ticks(parse_ticks("2024-01-01T00:00:00.5000000Z")) == "2024-01-01T00:00:00.5Z"
    assert format_ticks(0) == "0001-01-01T00:00:00" and parse_ticks("0001-01-01T00:00:00") == 0
    assert parse_ticks("2024-01-01T01:00:00+01:00") == parse_ticks("2024-01-01T00:00:00Z")


def test_request_message_extension_format_round_trip() -> None:
    text = (
        '{"op":"add","signal":true,"input":"\\"5\\"","id":"aaaa","parent":"inst1",'
        '"parentExecution":"exec1","Timestamp":"2024-01-01T00:00:00Z","Predecessor":"0001-01-01T00:00:00",'
        '"parentTraceContext":{"t":1}}'
    )
    r = RequestMessage.from_text(text)
    assert (r.operation, r.is_signal, r.input, r.parent_instance_id) == ("add", True, '"5"', "inst1")
    assert json.loads(r.to_text()) == json.loads(text)  # unknown members are kept
    call = RequestMessage("get", id="g1")
    assert call.to_json() == {
        "op": "get",
        "id": "g1",
        "Timestamp": "0001-01-01T00:00:00",
        "Predecessor": "0001-01-01T00:00:00",
    }
    assert call.batch_input() == '"null"'


def test_event_parsing_and_scheduled_names() -> None:
    r = RequestMessage("add", id="s1", is_signal=True, scheduled_time=parse_ticks("2030-01-01T00:00:00Z"))
    name = request_event_name(r)
    assert name == "op@2030-01-01T00:00:00Z"
    ev = parse_entity_event(name, r.to_text())
    assert ev.kind == "request" and ev.request is not None and ev.request.scheduled_time == r.scheduled_time
    assert parse_entity_event("release", '{"parent":"o1"}').release_parent == "o1"
    assert parse_entity_event("somethingElse", None).kind == "other"


def test_scheduler_state_serialization_matches_df() -> None:
    s = SchedulerState(True, "12", queue=[RequestMessage("add", id="q1", input='"1"', is_signal=True)])
    d = json.loads(s.to_text())
    assert d == {
        "exists": True,
        "state": "12",
        "queue": [
            {
                "op": "add",
                "signal": True,
                "input": '"1"',
                "id": "q1",
                "Timestamp": "0001-01-01T00:00:00",
                "Predecessor": "0001-01-01T00:00:00",
            }
        ],
        "sorter": {},
    }
    back = SchedulerState.from_text(s.to_text())
    assert back.to_text() == s.to_text()
    assert SchedulerState().to_text() == '{"sorter":{}}'
    # DTFx-core form (no "exists"): existence follows the state
    assert SchedulerState.from_text('{"state":"3","sorter":{}}').exists
    assert not SchedulerState.from_text(None).exists
    assert s.status().to_text() == '{"entityExists":true,"queueSize":1}'
    assert EntityStatus().to_text() == "{}"
    assert EntityStatus.from_text('{"entityExists":true,"queueSize":2}') == EntityStatus(True, 2, None)


def test_sorter_round_trip_with_buffered_requests() -> None:
    sorter = MessageSorter()
    late = RequestMessage(
        "b", id="2", parent_instance_id="o", parent_execution_id="e", timestamp=T + 2, predecessor=T + 1
    )
    assert sorter.receive_in_order(late) == []  # waits for its predecessor
    back = MessageSorter.from_json(json.loads(json.dumps(sorter.to_json())))
    assert [m.id for m in back.buffered_requests()] == ["2"]


def _req(i: int, **kw: object) -> tuple[str, str]:
    r = RequestMessage("add", id=f"id{i}", is_signal=True, input=json.dumps(str(i)), **kw)  # type: ignore[arg-type]
    return request_event_name(r), r.to_text()


def test_inbox_orders_per_sender_with_sorter() -> None:
    state = SchedulerState()
    sender = MessageSorter()
    msgs = []
    for i in range(3):
        r = RequestMessage("add", id=f"m{i}", parent_instance_id="orch", parent_execution_id="e1")
        sender.label_outgoing(r, "@counter@k", T)
        msgs.append(("op", r.to_text()))
    res = receive_events(state, [msgs[2], msgs[0], msgs[1]], NOW)  # queue delivered out of order
    assert [r.id for r in state.queue] == ["m0", "m1", "m2"] == [r.id for r in res.accepted]


def test_inbox_drops_redelivered_requests() -> None:
    state = SchedulerState()
    receive_events(state, [_req(1), _req(2)], NOW)
    again = receive_events(state, [_req(1)], NOW)  # still queued
    assert [r.id for r in again.duplicates] == ["id1"] and len(state.queue) == 2
    state.remember_executed([r.id for r in state.take_batch(10)])
    assert receive_events(state, [_req(2)], NOW).duplicates and not state.queue  # already executed
    # a redelivered orchestration request is caught by the sorter too
    r = RequestMessage("add", id="o1", parent_instance_id="orch", parent_execution_id="e", timestamp=T)
    receive_events(state, [("op", r.to_text())], NOW)
    state.recent_ids.clear()
    state.queue.clear()
    assert receive_events(state, [("op", r.to_text())], NOW).duplicates and not state.queue


def test_recent_ids_window_keeps_the_last_batch() -> None:
    state = SchedulerState()
    state.remember_executed([f"a{i}" for i in range(10)], capacity=4)
    assert len(state.recent_ids) == 10
    state.remember_executed(["b"], capacity=4)
    assert state.recent_ids == ["a7", "a8", "a9", "b"]


def test_scheduled_signal_is_held_back_until_due() -> None:
    state = SchedulerState()
    due = ticks_from_datetime(NOW + timedelta(minutes=5))
    name, text = _req(1, scheduled_time=due)
    early = receive_events(state, [(name, text)], NOW)
    assert [r.id for r in early.deferred] == ["id1"] and not state.queue
    on_time = receive_events(state, [(name, text)], NOW + timedelta(minutes=5))
    assert [r.id for r in on_time.accepted] == ["id1"] and state.queue[0].id == "id1"


def test_take_batch_respects_lock_holder() -> None:
    state = SchedulerState(
        queue=[
            RequestMessage("a", id="1", parent_instance_id="other"),
            RequestMessage("b", id="2", parent_instance_id="holder"),
        ]
    )
    state.locked_by = "holder"
    assert state.take_batch(10) == []
    state.locked_by = None
    assert [r.id for r in state.take_batch(1)] == ["1"]


@dataclass
class Row:
    instance_id: str
    input: str | None
    custom_status: str | None
    last_updated_time: datetime | None


def _row(iid: str, exists: bool, minutes_ago: int = 0, queue: bool = False) -> Row:
    s = SchedulerState(exists, "5" if exists else None, queue=[RequestMessage("x", id="q")] if queue else [])
    return Row(iid, s.to_text(), s.status().to_text(), NOW - timedelta(minutes=minutes_ago))


def test_listing_by_name_with_paging() -> None:
    rows = [_row(f"@counter@k{i}", True) for i in range(5)] + [
        _row("@counter@gone", False),
        _row("@other@x", True),
        Row("plain-orch", None, "null", NOW),
    ]
    assert entity_key_range("Counter") == ("@counter@", "@counterA")
    first = query_entities(rows, EntityQuery(name="Counter", top=2, fetch_state=True))
    assert [e["entityId"]["key"] for e in first.entities] == ["k0", "k1"] and first.entities[0]["state"] == 5
    keys = [e["entityId"]["key"] for e in first.entities]
    token = first.continuation_token
    while token:
        page = query_entities(rows, EntityQuery(name="counter", top=2, continuation_token=token))
        keys += [e["entityId"]["key"] for e in page.entities]
        token = page.continuation_token
    assert keys == ["k0", "k1", "k2", "k3", "k4"]
    everything = query_entities(rows, EntityQuery())
    assert {e["entityId"]["name"] for e in everything.entities} == {"counter", "other"}
    assert "state" not in everything.entities[0] and everything.continuation_token is None
    with pytest.raises(ContinuationTokenError):
        query_entities(rows, EntityQuery(continuation_token="garbage!"))


def test_read_state_and_clean_selection() -> None:
    assert read_entity_state(_row("@c@k", True).input) == (True, 5)
    assert read_entity_state(_row("@c@k", False).input) == (False, None)
    rows = [
        _row("@c@live", True, 60),
        _row("@c@empty", False, 60),
        _row("@c@queued", False, 60, queue=True),
        _row("@c@fresh", False, 0),
        Row("orch", None, None, None),
    ]
    assert select_for_clean(rows, NOW, min_idle=timedelta(minutes=5)) == ["@c@empty"]
    assert set(select_for_clean(rows, NOW)) == {"@c@empty", "@c@fresh"}
