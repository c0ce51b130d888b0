"""run_entity_batch with real SDK entity handles (no storage)."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from host.durable.entities.batch import EntityBatchError, run_entity_batch, unknown_entity_message
from host.durable.entities.ids import EntityId
from host.durable.entities.requests import RequestMessage, input_from_json_text
from host.durable.entities.state import SchedulerState

_spec = importlib.util.spec_from_file_location(
    "aggregator_sample", Path(__file__).resolve().parents[2] / "samples" / "aggregator.py"
)
assert _spec is not None and _spec.loader is not None
aggregator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aggregator)
counter_handle = aggregator.counter

NOW = datetime(2024, 1, 1, tzinfo=UTC)
E = EntityId("Counter", "k1")


def op(
    name: str | None,
    value: Any = None,
    *,
    signal: bool = True,
    parent: str | None = None,
    no_input: bool = False,
) -> RequestMessage:
    """A request as an orchestration sends it (input = JSON text of the JSON text)."""
    return RequestMessage(
        name,
        is_signal=signal,
        parent_instance_id=parent,
        parent_execution_id="x1",
        input=None if no_input else input_from_json_text(json.dumps(value)),
    )


def handle_of(fn: Any) -> Any:
    app = df.DFApp()
    app.entity_trigger(context_name="context")(fn)
    [f] = app.get_functions()
    return f.get_user_function()


def test_batch_of_several_ops_runs_in_one_call_and_answers_calls() -> None:
    state = SchedulerState()
    ops = [op("add", 5), op("add", 7), op("get", signal=False, parent="orch1")]
    res = run_entity_batch(counter_handle, E, state, ops, NOW)
    assert state.exists and state.state == "12"
    assert [o.is_error for o in res.outcomes] == [False, False, False]
    assert [o.result for o in res.outcomes] == ["null", "null", "12"]
    [resp] = res.responses
    assert (resp.instance_id, resp.execution_id, resp.event_name) == ("orch1", "x1", ops[2].id)
    assert json.loads(resp.input) == {"result": "12"}
    assert state.recent_ids == [o.id for o in ops]


def test_get_state_initializer_and_state_round_trip() -> None:
    state = SchedulerState()
    run_entity_batch(counter_handle, E, state, [op("get", signal=False, parent="o")], NOW)
    assert state.exists  # set_result marks the entity as existing (SDK behaviour)
    ops = [op("add", 1), op("get", signal=False, parent="o")]
    res = run_entity_batch(counter_handle, E, SchedulerState(True, "41"), ops, NOW)
    assert res.state.state == "42" and res.outcomes[1].result == "42"


def test_context_accessors_input_name_key_and_result() -> None:
    seen: list[Any] = []

    def probe(context: df.DurableEntityContext) -> None:
        seen.append((context.operation_name, context.entity_name, context.entity_key, context.get_input()))
        if context.operation_name == "echo":
            context.set_result({"got": context.get_input()})

    res = run_entity_batch(
        handle_of(probe),
        EntityId("Probe", "Key-A"),
        SchedulerState(),
        [op("echo", {"a": [1, 2]}, signal=False, parent="o"), op("noresult", None)],
        NOW,
    )
    assert seen == [("echo", "probe", "Key-A", {"a": [1, 2]}), ("noresult", "probe", "Key-A", None)]
    assert json.loads(res.outcomes[0].result) == {"got": {"a": [1, 2]}}
    assert res.outcomes[1].result == "null"  # the previous operation's result does not leak


def test_missing_input_reads_as_none() -> None:
    ops = [op("reset", no_input=True), op("get", signal=False, parent="o", no_input=True)]
    res = run_entity_batch(counter_handle, E, SchedulerState(True, "3"), ops, NOW)
    assert res.outcomes[1].result == "0"


def test_destruct_on_exit_deletes() -> None:
    state = SchedulerState(True, "12")
    res = run_entity_batch(counter_handle, E, state, [op("delete")], NOW)
    assert res.deleted and not state.exists and state.state is None and state.is_empty


def test_raising_operation_rolls_back_and_later_ops_apply() -> None:
    def fragile(context: df.DurableEntityContext) -> None:
        s = context.get_state(lambda: {"n": 0, "log": []})
        s["log"].append(context.operation_name)  # in-place mutation before raising
        if context.operation_name == "boom":
            context.set_state({"n": -1, "log": []})
            context.signal_entity(df.EntityId("Other", "x"), "never")
            raise RuntimeError("kaboom")
        s["n"] += context.get_input()
        context.set_state(s)

    state = SchedulerState()
    ops = [op("inc", 1), op("boom", None, signal=False, parent="orch"), op("inc", 2)]
    res = run_entity_batch(handle_of(fragile), EntityId("Fragile", "k"), state, ops, NOW)
    assert json.loads(state.state or "") == {"n": 3, "log": ["inc", "inc"]}
    assert res.outcomes[1].is_error and json.loads(res.outcomes[1].result) == "kaboom"
    assert json.loads(res.responses[0].input) == {"result": json.dumps("kaboom"), "exceptionType": "Error"}
    assert res.signals == []


def test_first_operation_failing_on_new_entity_leaves_it_nonexistent() -> None:
    state = SchedulerState()
    res = run_entity_batch(counter_handle, E, state, [op("add", "not a number")], NOW)
    assert res.outcomes[0].is_error and not state.exists and state.state is None


def test_unknown_operation_is_a_clear_error_and_later_ops_go_on() -> None:
    state = SchedulerState(True, "1")
    res = run_entity_batch(
        counter_handle, E, state, [op("frobnicate", signal=False, parent="o"), op(None), op("add", 1)], NOW
    )
    assert json.loads(res.outcomes[0].result) == "Counter has no operation 'frobnicate'"
    assert res.outcomes[1].is_error and "operation name is missing" in json.loads(res.outcomes[1].result)
    assert state.state == "2"


def test_unknown_entity_fails_calls_and_drops_signals(caplog: pytest.LogCaptureFixture) -> None:
    state = SchedulerState()
    res = run_entity_batch(
        None, EntityId("Nope", "k"), state, [op("add", 1), op("get", signal=False, parent="o")], NOW
    )
    expected = unknown_entity_message(EntityId("nope", "k"))
    assert json.loads(json.loads(res.responses[0].input)["result"]) == expected
    assert "Entity 'nope' does not exist" in unknown_entity_message(EntityId("nope", "k"))
    assert len(res.responses) == 1 and not state.exists
    assert "Dropping signal 'add'" in caplog.text


def test_entity_signals_other_entities_labelled_in_order() -> None:
    def forwarder(context: df.DurableEntityContext) -> None:
        context.signal_entity(df.EntityId("Counter", "total"), "add", context.get_input())
        context.signal_entity(
            EntityId("Counter", "later"), "add", 1, scheduled_time=datetime(2030, 1, 1, tzinfo=UTC)
        )

    state = SchedulerState()
    res = run_entity_batch(
        handle_of(forwarder), EntityId("Fwd", "a"), state, [op("f", 3), op("f", 4)], NOW, execution_id="exec9"
    )
    immediate = [s for s in res.signals if s.event_name == "op"]
    assert [s.target.instance_id for s in immediate] == ["@counter@total", "@counter@total"]
    first, second = (s.request for s in immediate)
    assert first.parent_instance_id == "@fwd@a" and first.parent_execution_id == "exec9" and first.is_signal
    assert second.predecessor == first.timestamp and second.timestamp > first.timestamp
    assert state.sorter.last_sent["@counter@total"] == second.timestamp
    scheduled = [s for s in res.signals if s.event_name != "op"]
    assert scheduled[0].event_name == "op@2030-01-01T00:00:00Z" and scheduled[0].request.scheduled_time
    # the signal input reaches the target entity as its get_input() value
    tstate = SchedulerState()
    run_entity_batch(counter_handle, E, tstate, [first], NOW)
    assert tstate.state == "3"


def test_handle_without_entity_function_falls_back_to_one_call_per_operation() -> None:
    inner = counter_handle

    def plain(context: Any) -> str:
        return str(inner(context))

    state = SchedulerState(True, "1")
    res = run_entity_batch(plain, E, state, [op("add", 1), op("add", "x"), op("add", 10)], NOW)
    assert [o.is_error for o in res.outcomes] == [False, True, False] and state.state == "12"


def test_handle_failing_as_a_whole_raises() -> None:
    def broken(context: Any) -> str:
        raise RuntimeError("worker died")

    with pytest.raises(EntityBatchError, match="worker died"):
        run_entity_batch(broken, E, SchedulerState(), [op("add", 1)], NOW)
