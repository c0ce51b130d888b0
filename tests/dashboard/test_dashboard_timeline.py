"""The timeline built from a history (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from host.dashboard.timeline import bars, build_timeline
from host.durable.replay import history as h

T0 = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_activities_pair_by_task_id_including_id_zero() -> None:
    events = [
        h.execution_started(at(0), instance_id="i", execution_id="e", name="flow", input_text='"x"'),
        h.task_scheduled(at(1), 0, "first", '"a"'),
        h.task_scheduled(at(1), 1, "second", '"b"'),
        {**h.task_completed(at(3.5), 0, '"done"'), h.EXECUTED_BY: "host-a"},
        h.task_failed(at(4), 1, "boom", failure_details=h.failure_details("ValueError", "bad input")),
    ]
    items = build_timeline(events)
    first, second = (i for i in items if i.kind == "activity")
    assert (first.name, first.state, first.detail, first.duration) == (
        "first",
        "completed",
        '"done"',
        timedelta(seconds=2.5),
    )
    assert (first.host, second.host) == ("host-a", None)
    assert (second.state, second.detail, second.duration) == (
        "failed",
        "ValueError: bad input",
        timedelta(seconds=3),
    )


def test_timers_sub_orchestrations_events_and_pending_work() -> None:
    fire = at(3600)
    events = [
        h.execution_started(
            at(0), instance_id="i", execution_id="e", name="flow", input_text=None, generation=2
        ),
        h.timer_created(at(1), 0, fire),
        h.sub_orchestration_created(at(1), 1, "child", "child-id", None),
        h.event_raised(at(2), "Approval", '"alice"'),
        h.timer_fired(at(3601), 0, fire),
        h.task_scheduled(at(3602), 2, "still_running", None),
    ]
    items = build_timeline(events)
    kinds = [(i.kind, i.name, i.state) for i in items]
    assert kinds == [
        ("execution", "started flow (generation 2)", "point"),
        ("timer", "timer", "fired"),
        ("sub-orchestration", "child", "pending"),
        ("event", "Approval", "point"),
        ("activity", "still_running", "pending"),
    ]
    assert items[1].fire_at == fire and items[1].duration == timedelta(seconds=3600)
    assert items[2].instance_id == "child-id"
    assert items[3].detail == '"alice"'
    assert items[4].duration is None


def test_execution_end_control_events_and_continue_as_new() -> None:
    events = [
        h.execution_started(at(0), instance_id="i", execution_id="e", name="flow", input_text=None),
        h.execution_suspended(at(1), "pause"),
        h.execution_resumed(at(2), "go"),
        h.execution_completed(at(3), h.OrchestrationStatus.Failed, None, h.failure_details("E", "broke")),
    ]
    items = build_timeline(events)
    assert [(i.name, i.detail) for i in items[1:]] == [
        ("suspended", "pause"),
        ("resumed", "go"),
        ("finished: Failed", "E: broke"),
    ]
    assert items[-1].state == "failed"


def test_continue_as_new_closes_a_generation() -> None:
    events = [
        h.execution_started(
            at(0), instance_id="i", execution_id="e", name="loop", input_text="1", generation=3
        ),
        h.event(h.EventType.ContinueAsNew, at(1), Result="2"),
    ]
    items = build_timeline(events)
    assert [(i.kind, i.name, i.detail) for i in items] == [
        ("execution", "started loop (generation 3)", "1"),
        ("continue-as-new", "continued as new", "2"),
    ]


def test_replay_markers_are_left_out() -> None:
    events = [h.orchestrator_started(at(0)), h.orchestrator_completed(at(0.1))]
    assert build_timeline(events) == []


def test_bars_span_from_first_start_to_now_for_pending_work() -> None:
    events = [
        h.task_scheduled(at(0), 0, "a", None),
        h.task_completed(at(5), 0, None),
        h.task_scheduled(at(5), 1, "b", None),
    ]
    items = build_timeline(events)
    geometry = bars(items, now=at(10))
    assert geometry == [(0.0, 50.0), (50.0, 50.0)]
    assert bars([], now=at(1)) == []
