"""The source line of the ``yield`` an orchestrator waits at: recorded per episode, or by replay."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Generator
from typing import Any

import azure.durable_functions as df

from host.durable.replay import history as h
from host.durable.replay.check import replay_position
from host.durable.replay.episode import run_episode
from host.durable.replay.model import OrchestrationState
from host.durable.replay.simulator import T0
from host.durable.replay.source import TracedOrchestrator, traced

Orch = Generator[Any, Any, Any]


def line_of(fn: Callable[..., Any], marker: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, text in enumerate(lines) if marker in text)


def approval(ctx: df.DurableOrchestrationContext) -> Orch:
    first = yield ctx.call_activity("Prepare", ctx.get_input())  # @prepare
    answer = yield ctx.wait_for_external_event("Approval")  # @approval
    return [first, answer]


def helper(ctx: df.DurableOrchestrationContext) -> Orch:
    result = yield ctx.call_activity("Inner", None)  # @inner
    return result


def outer(ctx: df.DurableOrchestrationContext) -> Orch:
    value = yield from helper(ctx)  # @outer
    return value


def start(name: str, input_text: str | None = None) -> tuple[OrchestrationState, list[h.Event]]:
    state = OrchestrationState("i1", "e1", name)
    ev = h.execution_started(T0, instance_id="i1", execution_id="e1", name=name, input_text=input_text)
    return state, [ev]


def test_each_episode_records_the_yield_it_stopped_at() -> None:
    handle = traced(df.Orchestrator.create(approval))
    assert isinstance(handle, TracedOrchestrator)
    state, events = start("approval")
    first = run_episode(handle, state, events, T0)
    assert first.source is not None
    assert (first.source.line, first.source.function) == (line_of(approval, "@prepare"), "approval")
    assert first.source.file == __file__
    state.history = first.history
    second = run_episode(handle, state, [h.task_completed(T0, 0, '"ok"')], T0)
    assert second.source is not None and second.source.line == line_of(approval, "@approval")
    assert second.open_events == {"Approval": 1}
    state.history = second.history
    done = run_episode(handle, state, [h.event_raised(T0, "Approval", "true")], T0)
    assert done.status == h.OrchestrationStatus.Completed
    assert done.source is None and done.open_events == {}


def test_yield_from_points_into_the_helper() -> None:
    state, events = start("outer")
    result = run_episode(traced(df.Orchestrator.create(outer)), state, events, T0)
    assert result.source is not None
    assert (result.source.line, result.source.function) == (line_of(helper, "@inner"), "helper")


def test_a_plain_handle_records_nothing() -> None:
    state, events = start("approval")
    assert run_episode(df.Orchestrator.create(approval), state, events, T0).source is None


def test_replay_finds_the_same_line_for_a_history_run_elsewhere() -> None:
    state, events = start("approval")
    plain = df.Orchestrator.create(approval)
    first = run_episode(plain, state, events, T0)
    state.history = first.history
    second = run_episode(plain, state, [h.task_completed(T0, 0, '"ok"')], T0)
    pos = replay_position(plain, second.history)
    assert pos.source is not None and pos.source.line == line_of(approval, "@approval")
    assert pos.open_events == {"Approval": 1}
    assert pos.divergence is None and pos.error is None


def test_traced_handles_keep_the_declared_input_type() -> None:
    app = df.DFApp()

    @app.orchestration_trigger(context_name="ctx")
    def typed(ctx: df.DurableOrchestrationContext) -> Orch:
        value = yield ctx.call_activity("Echo", ctx.get_input())
        return value

    handle = app.get_functions()[0].get_user_function()
    tracer = traced(handle)
    assert isinstance(tracer, TracedOrchestrator)
    assert tracer._inner.__dict__.get("_df_input_type") == handle.__dict__.get("_df_input_type")
    state, events = start("typed", json.dumps(json.dumps("in")))
    result = run_episode(tracer, state, events, T0)
    scheduled = [e for e in result.appended if h.etype(e) == h.EventType.TaskScheduled]
    assert json.loads(scheduled[0]["Input"]) == ['"in"']


def test_the_sdk_never_sees_the_host_that_ran_an_activity() -> None:
    from host.durable.replay.orchestrator_call import build_context_json

    done = {**h.task_completed(T0, 0, '"ok"'), h.EXECUTED_BY: "host-a"}
    _, events = start("approval")
    hist = [h.orchestrator_started(T0), *events, h.task_scheduled(T0, 0, "gated", None), done]
    sent = json.loads(build_context_json(hist, instance_id="i1", input_text=None))["history"]
    assert [e for e in sent if h.EXECUTED_BY in e] == []
    assert sent[-1]["Result"] == '"ok"' and done[h.EXECUTED_BY] == "host-a"  # the stored event keeps it
