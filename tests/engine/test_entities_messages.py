"""Requests an orchestration sends to entities (pure): every request to one entity gets a strictly
larger Timestamp than the previous one and names it as Predecessor, within an episode and across
episodes (recomputed from history, so a replay labels them the same), and the entity's inbox
accepts them all, in order, whatever order they arrive in."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import azure.durable_functions as df

from host.durable.entities.from_orchestrations import last_request_times
from host.durable.entities.inbox import receive_events
from host.durable.entities.requests import RequestMessage, response_message
from host.durable.entities.state import SchedulerState
from host.durable.entities.ticks import MIN_TICKS
from host.durable.replay import history as h
from host.durable.replay.episode import run_episode
from host.durable.replay.model import EntityRequest, EpisodeResult, OrchestrationState
from host.durable.replay.simulator import T0

TARGET = "@counter@k"


def main(ctx: df.DurableOrchestrationContext) -> Any:
    e = df.EntityId("Counter", "k")
    ctx.signal_entity(e, "add", 1)
    ctx.signal_entity(e, "add", 2)
    ctx.signal_entity(df.EntityId("Counter", "other"), "add", 3)
    yield ctx.call_entity(e, "get")
    ctx.signal_entity(e, "add", 4)
    return (yield ctx.call_entity(e, "get"))


HANDLE = df.Orchestrator.create(main)


def requests(result: EpisodeResult, target: str = TARGET) -> list[RequestMessage]:
    return [m.request for m in result.messages if isinstance(m, EntityRequest) and m.instance_id == target]


def two_episodes() -> tuple[OrchestrationState, EpisodeResult, EpisodeResult]:
    state = OrchestrationState(instance_id="orch1", execution_id="e1", name="main", history=[])
    started = h.execution_started(T0, instance_id="orch1", execution_id="e1", name="main", input_text=None)
    first = run_episode(HANDLE, state, [started], T0)
    state.history = first.history
    call = requests(first)[-1]
    # the answer arrives in the same clock tick: the next requests must still be labelled later
    answer = h.event_raised(T0, call.id, response_message("3", False))
    before = copy.deepcopy(state)
    second = run_episode(HANDLE, state, [answer], T0)
    return before, first, second


def test_requests_to_one_entity_are_strictly_ordered_and_chained() -> None:
    _, first, second = two_episodes()
    sent = requests(first) + requests(second)
    assert [r.operation for r in sent] == ["add", "add", "get", "add", "get"]
    stamps = [r.timestamp for r in sent]
    assert all(a < b for a, b in itertools.pairwise(stamps)), stamps
    assert [r.predecessor for r in sent] == [MIN_TICKS, *stamps[:-1]]
    other = requests(first, "@counter@other")
    assert len(other) == 1 and other[0].predecessor == MIN_TICKS


def test_labels_are_recomputed_from_history_on_replay() -> None:
    before, _, second = two_episodes()
    again = run_episode(HANDLE, before, [e for e in second.appended if e["EventType"] == 15], T0)
    assert [(r.id, r.timestamp, r.predecessor) for r in requests(again)] == [
        (r.id, r.timestamp, r.predecessor) for r in requests(second)
    ]
    assert last_request_times(second.history)[TARGET] == requests(second)[-1].timestamp


def test_the_entity_accepts_every_request_in_order_even_when_they_arrive_reversed() -> None:
    _, first, second = two_episodes()
    sent = requests(first) + requests(second)
    state = SchedulerState()
    events = [("op", r.to_text()) for r in reversed(sent)]
    result = receive_events(state, events, T0)
    assert result.duplicates == [] and result.deferred == []
    assert [r.operation for r in state.queue] == ["add", "add", "get", "add", "get"]
    assert [json.loads(r.input or "null") for r in state.queue if r.operation == "add"] == ["1", "2", "4"]
    assert [r.id for r in state.queue] == [r.id for r in sent]
