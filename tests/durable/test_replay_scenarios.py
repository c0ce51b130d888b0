"""Replay core scenarios driven by the pure simulator with real SDK handles."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import azure.durable_functions as df

from host.durable.replay import history as h
from host.durable.replay.history import EventType, OrchestrationStatus
from host.durable.replay.model import EntityRequest
from host.durable.replay.simulator import T0, Simulator


def orch(fn):
    return df.Orchestrator.create(fn)


def types(hist):
    return [e["EventType"] for e in hist]


def hello(v):
    return f"Hello {v}!"


def test_chaining_and_fan_out():
    def main(ctx):
        a = yield ctx.call_activity("Hello", ctx.get_input())
        b = yield ctx.task_all([ctx.call_activity("Hello", c) for c in ["x", "y", "z"]])
        return [a, b]

    sim = Simulator({"Main": orch(main)}, {"Hello": hello})
    i = sim.start("Main", "Tokyo")
    sim.run()
    assert sim.instances[i].status == OrchestrationStatus.Completed
    assert sim.output(i) == ["Hello Tokyo!", ["Hello x!", "Hello y!", "Hello z!"]]
    hist = sim.instances[i].state.history
    # the three fan-out completions were batched into one episode
    assert h.episode_count(hist) == 3
    assert [e["EventId"] for e in hist if e["EventType"] == EventType.TaskScheduled] == [0, 1, 2, 3]


def test_task_any_timer_vs_event():
    def main(ctx):
        ev = ctx.wait_for_external_event("Approve")
        t = ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))
        winner = yield ctx.task_any([ev, t])
        if winner == ev:
            t.cancel()
            return ["event", ev.result]
        return ["timeout"]

    sim = Simulator({"Main": orch(main)}, {})
    i = sim.start("Main")
    sim.run(until=T0 + timedelta(minutes=5))
    sim.raise_event(i, "Approve", "yes")
    sim.run()
    assert sim.output(i) == ["event", "yes"]
    j = sim.start("Main")
    sim.run()
    assert sim.output(j) == ["timeout"]


def test_external_events_fifo_before_and_after_waiting():
    def main(ctx):
        yield ctx.call_activity("Hello", "x")
        got = []
        for _ in range(3):
            got.append((yield ctx.wait_for_external_event("E")))
        return got

    sim = Simulator({"Main": orch(main)}, {"Hello": hello})
    i = sim.start("Main")
    sim.raise_event(i, "E", 1)  # arrives before anyone waits (in the start batch)
    sim.raise_event(i, "E", 2)
    sim.run()
    assert sim.instances[i].status == OrchestrationStatus.Running
    sim.raise_event(i, "E", 3)
    sim.run()
    assert sim.output(i) == [1, 2, 3]


def test_custom_status_uuid_and_is_replaying():
    seen = []

    def main(ctx):
        u1 = str(ctx.new_uuid())
        seen.append(ctx.is_replaying)
        ctx.set_custom_status({"stage": 1})
        yield ctx.call_activity("Hello", "a")
        u2 = str(ctx.new_uuid())
        return [u1, u2, str(ctx.current_utc_datetime)]

    sim = Simulator({"Main": orch(main)}, {"Hello": hello})
    i = sim.start("Main")
    first = sim.episode(i)
    assert first.custom_status_text == json.dumps({"stage": 1})
    sim.run()
    out = sim.output(i)
    assert seen == [False, True]
    # replaying the final history again yields the same uuids
    from host.durable.replay.orchestrator_call import build_context_json, call_orchestrator

    st = sim.instances[i].state
    outcome = call_orchestrator(
        orch(main), build_context_json(st.history, instance_id=i, input_text=st.input_text)
    )
    assert outcome.state["output"] == out
    assert out[0] != out[1]


def test_retry_succeeds_on_third_attempt():
    calls = {"n": 0}

    def flaky(_):
        calls["n"] += 1
        if calls["n"] < 3:
            raise ValueError(f"not yet {calls['n']}")
        return "ok"

    def main(ctx):
        r = yield ctx.call_activity_with_retry("Flaky", df.RetryOptions(1000, 3), None)
        s = yield ctx.call_activity("Hello", "after")
        return [r, s]

    sim = Simulator({"Main": orch(main)}, {"Flaky": flaky, "Hello": hello})
    i = sim.start("Main")
    sim.run()
    assert sim.output(i) == ["ok", "Hello after!"]
    hist = sim.instances[i].state.history
    sched = [(e["EventType"], e["EventId"]) for e in hist if e["EventId"] >= 0]
    assert sched == [(4, 0), (10, 1), (4, 2), (10, 3), (4, 4), (4, 5)]


def test_retry_exhausted_with_final_timer():
    def bad(_):
        raise RuntimeError("nope")

    def main(ctx):
        try:
            yield ctx.call_activity_with_retry("Bad", df.RetryOptions(500, 2), None)
        except Exception as e:
            return str(e)

    sim = Simulator({"Main": orch(main)}, {"Bad": bad})
    i = sim.start("Main")
    sim.run()
    out = sim.output(i)
    assert out.startswith("Activity function 'Bad' failed: RuntimeError: nope")
    hist = sim.instances[i].state.history
    # attempt, timer, attempt, final timer
    assert [e["EventType"] for e in hist if e["EventId"] >= 0] == [4, 10, 4, 10]
    assert sim.activity_calls["Bad"] == 2


def test_two_parallel_retries_and_completion_in_same_batch():
    calls: dict[str, int] = {}

    def flaky(v):
        calls[v] = calls.get(v, 0) + 1
        if calls[v] < 2:
            raise ValueError("again")
        return v

    def main(ctx):
        ro = df.RetryOptions(1000, 3)
        r = yield ctx.task_all(
            [
                ctx.call_activity_with_retry("Flaky", ro, "a"),
                ctx.call_activity_with_retry("Flaky", ro, "b"),
                ctx.call_activity("Hello", "c"),
            ]
        )
        return r

    sim = Simulator({"Main": orch(main)}, {"Flaky": flaky, "Hello": hello})
    i = sim.start("Main")
    sim.run()
    assert sim.output(i) == ["a", "b", "Hello c!"]


def test_sub_orchestration_explicit_id_failure_and_retry():
    attempts = {"n": 0}

    def child(ctx):
        attempts["n"] += 1
        if ctx.get_input() == "boom" or (ctx.get_input() == "flaky" and attempts["n"] < 2):
            raise ValueError("child failed")
        r = yield ctx.call_activity("Hello", ctx.get_input())
        return {"r": r, "parent": ctx.parent_instance_id}

    def main(ctx):
        a = yield ctx.call_sub_orchestrator("Child", "Paris", "child-1")
        try:
            yield ctx.call_sub_orchestrator("Child", "boom")
        except Exception as e:
            b = str(e)
        c = yield ctx.call_sub_orchestrator_with_retry("Child", df.RetryOptions(100, 3), "flaky")
        return [a, b, c]

    sim = Simulator({"Main": orch(main), "Child": orch(child)}, {"Hello": hello})
    i = sim.start("Main", instance_id="parent")
    sim.run()
    a, b, c = sim.output(i)
    assert a == {"r": "Hello Paris!", "parent": "parent"}
    assert "child-1" in sim.instances
    assert b.startswith("Orchestrator function 'Child' failed: child failed")
    assert c["r"] == "Hello flaky!"


def test_continue_as_new_with_event_carried_over():
    def main(ctx):
        n = ctx.get_input()
        v = yield ctx.wait_for_external_event("E")
        if n < 2:
            ctx.continue_as_new(n + 1)
            return None
        return [n, v]

    sim = Simulator({"Main": orch(main)}, {})
    i = sim.start("Main", 0)
    sim.run()
    sim.raise_event(i, "E", "a")
    sim.raise_event(i, "E", "b")  # same batch: carried over into generation 1
    sim.raise_event(i, "E", "c")
    res = sim.episode(i)
    assert res.rewritten and res.continued_as_new == 2
    assert res.status == OrchestrationStatus.Completed
    assert sim.output(i) == [2, "c"]
    assert types(res.history)[:2] == [EventType.OrchestratorStarted, EventType.ExecutionStarted]


def test_uuid_and_time_recorded_in_the_first_episode_are_recomputed_alike_at_the_end():
    def main(ctx):
        u1, t1 = str(ctx.new_uuid()), ctx.current_utc_datetime.isoformat()
        seen = yield ctx.call_activity("Echo", [u1, t1])  # recorded in episode 1
        u2 = str(ctx.new_uuid())
        yield ctx.call_activity("Echo", "second")
        return {"first": [u1, t1], "seen": seen, "u2": u2, "replaying_at_end": ctx.is_replaying}

    sim = Simulator({"Main": orch(main)}, {"Echo": lambda v: v})
    i = sim.start("Main")
    sim.run()
    out = sim.output(i)
    assert out["seen"] == out["first"]  # recomputed in the last episode exactly as first recorded
    assert out["u2"] != out["first"][0] and out["replaying_at_end"] is False
    assert datetime.fromisoformat(out["first"][1]) == T0  # the orchestration's start time


def test_long_timer_is_split():
    def main(ctx):
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(days=10))
        return str(ctx.current_utc_datetime)

    sim = Simulator({"Main": orch(main)}, {})
    i = sim.start("Main")
    sim.run()
    hist = sim.instances[i].state.history
    fires = [h.parse_timestamp(e["FireAt"]) - T0 for e in hist if e["EventType"] == EventType.TimerCreated]
    assert fires == [timedelta(days=3), timedelta(days=6), timedelta(days=10)]
    assert sim.output(i).startswith("2024-01-11")


def test_call_http():
    seen = []

    def http(req):
        seen.append(req)
        return 200, {"X": "1"}, "pong"

    def main(ctx):
        r = yield ctx.call_http("POST", "https://example.org/x", content={"a": 1})
        return [r["statusCode"], r["content"]]

    sim = Simulator({"Main": orch(main)}, {}, http=http)
    i = sim.start("Main")
    sim.run()
    assert sim.output(i) == [200, "pong"]
    assert seen[0]["method"] == "POST" and json.loads(seen[0]["content"]) == {"a": 1}
    hist = sim.instances[i].state.history
    assert any(e.get("Name") == h.HTTP_ACTIVITY_NAME for e in hist)


def test_entities_signal_call_and_error():
    def counter(ctx):
        s = ctx.get_state(lambda: 0)
        if ctx.operation_name == "add":
            ctx.set_state(s + ctx.get_input())
        elif ctx.operation_name == "get":
            ctx.set_result(s)
        else:
            raise ValueError("entity says no")

    def main(ctx):
        e = df.EntityId("Counter", "c1")
        ctx.signal_entity(e, "add", 5)
        total = yield ctx.call_entity(e, "get")
        try:
            yield ctx.call_entity(e, "boom")
        except Exception as ex:
            err = str(ex)
        return [total, err]

    sim = Simulator({"Main": orch(main)}, {}, entities={"counter": df.Entity.create(counter)})
    i = sim.start("Main")
    first = sim.episode(i)
    reqs = [m for m in first.messages if isinstance(m, EntityRequest)]
    assert [r.request.is_signal for r in reqs] == [True, False]
    assert reqs[0].instance_id == "@counter@c1" and reqs[0].request.input == json.dumps("5")
    sent = [e for e in first.appended if e["EventType"] == EventType.EventSent]
    assert json.loads(sent[1]["Input"])["id"] == reqs[1].request.id
    sim.run()
    assert sim.output(i) == [5, "entity says no"]


def test_instance_accessors_read_started_events_and_their_parent():
    parent = h.parent_instance(name="Outer", instance_id="outer", execution_id="e0", task_id=3)
    child = h.execution_started(
        T0, instance_id="inner", execution_id="e1", name="Inner", input_text=None, parent=parent
    )
    top = h.execution_started(T0, instance_id="top", execution_id="e2", name="Top", input_text=None)

    def ids(e):
        return h.instance_id_of(e), h.execution_id_of(e), h.parent_instance_id(e)

    assert ids(child) == ("inner", "e1", "outer")
    assert ids(top) == ("top", "e2", None)
    assert h.instance_id_of(h.orchestrator_started(T0)) is None and h.execution_id_of({}) is None
