"""Replay core: failures, non-determinism, duplicates, management events (synthetic histories)."""

from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df

from host.durable.replay import history as h
from host.durable.replay.episode import run_episode
from host.durable.replay.history import EventType, OrchestrationStatus
from host.durable.replay.model import CompleteParent, OrchestrationState, ReplayOptions, ScheduleActivity
from host.durable.replay.rewind import rewind_history
from host.durable.replay.simulator import T0, Simulator


def orch(fn):
    return df.Orchestrator.create(fn)


def start_event(name="Main", iid="i1"):
    return h.execution_started(T0, instance_id=iid, execution_id="e1", name=name, input_text=None)


def first(handle, name="Main", options=None):
    st = OrchestrationState("i1", "e1", name)
    res = run_episode(handle, st, [start_event(name)], T0, options)
    st.history = res.history
    return st, res


def two_calls(ctx):
    a = yield ctx.call_activity("Hello", 1)
    b = yield ctx.call_activity("Bye", 2)
    return [a, b]


def test_activity_failure_message_reaches_orchestrator():
    def boom(_):
        raise ValueError("bad input")

    def main(ctx):
        try:
            yield ctx.call_activity("Boom", None)
        except Exception as e:
            return str(e)

    sim = Simulator({"Main": orch(main)}, {"Boom": boom})
    i = sim.start("Main")
    sim.run()
    assert sim.output(i).startswith("Activity function 'Boom' failed: ValueError: bad input \n ")
    assert "Traceback" in sim.output(i)


def test_orchestrator_exception_fails_with_message_and_details():
    def main(ctx):
        yield ctx.call_activity("Hello", 1)
        raise KeyError("missing thing")

    sim = Simulator({"Main": orch(main)}, {"Hello": lambda v: v})
    i = sim.start("Main")
    sim.run()
    inst = sim.instances[i]
    assert inst.status == OrchestrationStatus.Failed
    assert inst.output_text == "Orchestrator function 'Main' failed: 'missing thing'"
    assert inst.last is not None
    assert "KeyError" in (inst.last.failure_details or {}).get("StackTrace", "")
    assert inst.state.history[-2]["OrchestrationStatus"] == OrchestrationStatus.Failed


def test_non_determinism_renamed_activity():
    st, _ = first(orch(two_calls))

    def renamed(ctx):
        a = yield ctx.call_activity("Howdy", 1)
        return a

    res = run_episode(orch(renamed), st, [h.task_completed(T0, 0, "1")], T0)
    assert res.status == OrchestrationStatus.Failed
    assert "expected call_activity('Hello')" in (res.output_text or "")
    assert "now calls call_activity('Howdy')" in (res.output_text or "")


def test_non_determinism_order_swapped_and_check_replay():
    from host.durable.replay.check import check_replay

    sim = Simulator({"Main": orch(two_calls)}, {"Hello": lambda v: v, "Bye": lambda v: v})
    i = sim.start("Main")
    sim.run()
    hist = sim.instances[i].state.history
    assert check_replay(orch(two_calls), hist) is None

    def swapped(ctx):
        b = yield ctx.call_activity("Bye", 2)
        a = yield ctx.call_activity("Hello", 1)
        return [a, b]

    d = check_replay(orch(swapped), hist)
    assert d is not None and d.position == 0
    assert d.expected == "call_activity('Hello')" and d.actual == "call_activity('Bye')"


def test_unknown_orchestrator_and_unknown_activity():
    st = OrchestrationState("i1", "e1", "Nope")
    res = run_episode(None, st, [start_event("Nope")], T0)
    assert res.status == OrchestrationStatus.Failed
    assert "'Nope' doesn't exist" in (res.output_text or "")
    opts = ReplayOptions(known_activities={"hello"})
    _, res2 = first(orch(two_calls), options=ReplayOptions(known_activities={"other"}))
    assert res2.status == OrchestrationStatus.Failed
    assert "The function 'Hello' doesn't exist" in res2.output_text
    _, res3 = first(orch(two_calls), options=opts)
    assert res3.status == OrchestrationStatus.Running


def test_async_def_and_yielded_generator_messages():
    async def main(ctx):
        return 1

    _, res = first(orch(main))
    assert res.status == OrchestrationStatus.Failed and "not 'async def'" in res.output_text

    def helper(ctx):
        yield ctx.call_activity("Hello", 1)

    def bad(ctx):
        yield helper(ctx)

    _, res = first(orch(bad))
    assert res.status == OrchestrationStatus.Failed and "yield from" in res.output_text

    def returning_helper(ctx):
        return (yield ctx.call_activity("Hello", 1))

    def good(ctx):
        return (yield from returning_helper(ctx))

    sim = Simulator({"Main": orch(good)}, {"Hello": lambda v: v})
    i = sim.start("Main")
    sim.run()
    assert sim.instances[i].status == OrchestrationStatus.Completed and sim.output(i) == 1


def test_duplicate_dropped_and_out_of_order_deferred():
    st, res = first(orch(two_calls))
    early = h.task_completed(T0, 5, '"x"')
    done = h.task_completed(T0, 0, '"a"')
    res = run_episode(orch(two_calls), st, [done, early], T0)
    assert res.deferred == [early]
    st.history = res.history
    res2 = run_episode(orch(two_calls), st, [h.task_completed(T0, 0, '"a"')], T0)
    assert len(res2.dropped) == 1 and not res2.appended[1:-1]


def test_terminate_and_parent_notified():
    def main(ctx):
        yield ctx.wait_for_external_event("never")

    st = OrchestrationState("c1", "e1", "Main")
    parent = h.parent_instance(name="P", instance_id="p1", execution_id="pe", task_id=4)
    started = h.execution_started(
        T0, instance_id="c1", execution_id="e1", name="Main", input_text=None, parent=parent
    )
    res = run_episode(orch(main), st, [started], T0)
    st.history = res.history
    res = run_episode(orch(main), st, [h.execution_terminated(T0, "enough")], T0)
    assert res.status == OrchestrationStatus.Terminated and res.output_text == "enough"
    msg = res.messages[0]
    assert isinstance(msg, CompleteParent)
    assert msg.parent_instance_id == "p1" and msg.task_id == 4 and not msg.completed
    assert msg.event["EventType"] == EventType.SubOrchestrationInstanceFailed


def test_suspend_holds_events_until_resume():
    def main(ctx):
        v = yield ctx.wait_for_external_event("E")
        w = yield ctx.call_activity("Hello", v)
        return w

    sim = Simulator({"Main": orch(main)}, {"Hello": lambda v: f"hi {v}"})
    i = sim.start("Main")
    sim.run()
    sim.suspend(i, "pause")
    sim.raise_event(i, "E", "x")
    sim.run()
    assert sim.instances[i].status == OrchestrationStatus.Suspended
    assert h.runtime_status(sim.instances[i].state.history) == OrchestrationStatus.Suspended
    sim.resume(i)
    sim.run()
    assert sim.output(i) == "hi x"


def test_rewound_history_replays():
    calls = {"n": 0}

    def flaky(_):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("first time")
        return "fine"

    def main(ctx):
        r = yield ctx.call_activity("Flaky", None)
        return r

    sim = Simulator({"Main": orch(main)}, {"Flaky": flaky})
    i = sim.start("Main")
    sim.run()
    inst = sim.instances[i]
    assert inst.status == OrchestrationStatus.Failed
    new_hist, reissue = rewind_history(inst.state.history, T0 + timedelta(seconds=1), "retry it")
    assert [e["EventId"] for e in reissue] == [0]
    inst.state.history = new_hist
    assert h.runtime_status(new_hist) == OrchestrationStatus.Running
    sim.send(i, sim._run_activity(ScheduleActivity(0, "Flaky", None, reissue[0])))
    sim.run()
    assert sim.output(i) == "fine"


def test_terminal_instance_drops_events():
    sim = Simulator({"Main": orch(two_calls)}, {"Hello": lambda v: v, "Bye": lambda v: v})
    i = sim.start("Main")
    sim.run()
    res = run_episode(orch(two_calls), sim.instances[i].state, [h.event_raised(T0, "x", "1")], T0)
    assert len(res.dropped) == 1 and res.appended == []
    assert json.loads(res.output_text or "") == [1, 2]
