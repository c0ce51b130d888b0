"""The "why is it waiting" sentence over synthetic histories (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from host.durable.replay import history as h
from host.durable.replay.ledger import pending_marker
from host.durable.replay.source import SourceLine
from host.durable.replay.waiting import ActivityRun, WaitFacts, WaitKind, WaitState, explain_waiting

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
SRC = SourceLine("function_app.py", 188, "approval")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def started() -> list[h.Event]:
    return [
        h.orchestrator_started(at(0)),
        h.execution_started(at(0), instance_id="i1", execution_id="e1", name="orch", input_text=None),
    ]


def test_pending_without_history() -> None:
    w = explain_waiting(WaitFacts([], status="Pending", created_at=at(0)))
    assert w.state is WaitState.PENDING
    assert w.sentence == (
        "pending: not started yet (created 2026-01-01T10:00:00Z; its start message is queued)"
    )


def test_pending_with_a_scheduled_start() -> None:
    w = explain_waiting(WaitFacts([], scheduled_start=at(60)))
    assert w.sentence == "pending: scheduled to start at 2026-01-01T10:01:00Z"


def test_finished_instances_do_not_wait() -> None:
    hist = [*started(), h.execution_completed(at(1), h.OrchestrationStatus.Completed, "1")]
    w = explain_waiting(WaitFacts(hist))
    assert w.state is WaitState.FINISHED
    assert w.sentence == "not waiting: the instance is Completed"


def test_continued_as_new_explains_the_next_generation() -> None:
    hist = [*started(), h.timer_created(at(0), 0, at(60)), h.orchestrator_completed(at(0))]
    w = explain_waiting(WaitFacts(hist, status="ContinuedAsNew"))
    assert w.sentence == "waiting for a timer until 2026-01-01T10:01:00Z"


def test_queued_activity_with_the_source_line() -> None:
    hist = [*started(), h.task_scheduled(at(1), 0, "SendEmail", '"x"'), h.orchestrator_completed(at(1))]
    w = explain_waiting(WaitFacts(hist, source=SRC, activity_hosts=()))
    assert w.state is WaitState.WAITING
    assert w.sentence == (
        'waiting for activity "SendEmail" (queued since 2026-01-01T10:00:01Z) at function_app.py:188'
    )
    assert [i.kind for i in w.items] == [WaitKind.ACTIVITY]
    assert w.to_json()["source"] == {"file": "function_app.py", "line": 188, "function": "approval"}


def test_running_activity_names_its_host() -> None:
    hist = [*started(), h.task_scheduled(at(1), 0, "SendEmail", None), h.orchestrator_completed(at(1))]
    w = explain_waiting(WaitFacts(hist, activities={0: ActivityRun("host-a", at(2))}))
    assert w.sentence == (
        'waiting for activity "SendEmail" (running on host host-a since 2026-01-01T10:00:02Z)'
    )
    assert w.items[0].to_json()["host"] == "host-a"


def test_activities_not_running_here_as_far_as_known() -> None:
    hist = [*started(), h.task_scheduled(at(1), 0, "A", None), h.orchestrator_completed(at(1))]
    unknown = explain_waiting(WaitFacts(hist))  # straight from storage: nobody knows who runs what
    assert unknown.sentence == 'waiting for activity "A" (scheduled since 2026-01-01T10:00:01Z)'
    other = explain_waiting(WaitFacts(hist, activity_hosts=("host-b",)))
    assert other.sentence == (
        'waiting for activity "A" (scheduled since 2026-01-01T10:00:01Z; queued, or running on host host-b)'
    )
    two = explain_waiting(WaitFacts(hist, activity_hosts=("host-b", "host-c")))
    assert two.sentence.endswith("queued, or running on one of the hosts host-b, host-c)")


def test_completed_activities_are_not_waited_for() -> None:
    hist = [
        *started(),
        h.task_scheduled(at(1), 0, "A", None),
        h.orchestrator_completed(at(1)),
        h.orchestrator_started(at(2)),
        h.task_completed(at(2), 0, "1"),
        h.timer_created(at(2), 1, at(3600)),
        h.orchestrator_completed(at(2)),
    ]
    w = explain_waiting(WaitFacts(hist))
    assert w.sentence == "waiting for a timer until 2026-01-01T11:00:00Z"
    assert w.items[0].until == at(3600)


def test_event_with_other_events_buffered() -> None:
    buffered = h.event_raised(at(2), "Cancel", '"no"')
    hist = [
        *started(),
        h.orchestrator_completed(at(1)),
        h.orchestrator_started(at(2)),
        h.generic_event(at(2), pending_marker("buffered", buffered)),
        h.orchestrator_completed(at(2)),
    ]
    w = explain_waiting(WaitFacts(hist, open_events={"Approval": 1}, source=SRC))
    # buffering "Cancel" (at 10:00:02) did not move the code on: it waits since its first episode
    assert w.sentence == (
        'waiting for event "Approval" since 2026-01-01T10:00:00Z (other events buffered: "Cancel") '
        "at function_app.py:188"
    )
    assert w.buffered == ("Cancel",)


def test_released_buffered_events_are_not_listed() -> None:
    raised = h.event_raised(at(2), "Approval", "true")
    hist = [
        *started(),
        h.orchestrator_completed(at(1)),
        h.orchestrator_started(at(2)),
        h.generic_event(at(2), pending_marker("buffered", raised)),
        h.orchestrator_completed(at(2)),
        h.orchestrator_started(at(3)),
        raised,
        h.orchestrator_completed(at(3)),
    ]
    w = explain_waiting(WaitFacts(hist, open_events={"Next": 1}))
    assert w.buffered == ()
    assert w.sentence == 'waiting for event "Next" since 2026-01-01T10:00:03Z'


def test_event_name_unknown_without_the_code() -> None:
    hist = [*started(), h.orchestrator_completed(at(0))]
    w = explain_waiting(WaitFacts(hist))
    assert w.state is WaitState.WAITING
    assert w.sentence == "waiting for an external event since 2026-01-01T10:00:00Z"


def test_known_code_with_nothing_open_is_busy() -> None:
    hist = [*started(), h.orchestrator_completed(at(0))]
    w = explain_waiting(WaitFacts(hist, open_events={}))
    assert w.state is WaitState.BUSY


def test_event_or_timer() -> None:
    hist = [*started(), h.timer_created(at(0), 0, at(86400)), h.orchestrator_completed(at(0))]
    w = explain_waiting(WaitFacts(hist, open_events={"Approval": 1}))
    assert w.sentence == (
        'waiting for event "Approval" since 2026-01-01T10:00:00Z and a timer until 2026-01-02T10:00:00Z'
    )


def test_sub_orchestration_with_its_status() -> None:
    hist = [
        *started(),
        h.sub_orchestration_created(at(1), 0, "Child", "i1:0", None),
        h.orchestrator_completed(at(1)),
    ]
    w = explain_waiting(WaitFacts(hist, children={"i1:0": "Running"}))
    assert w.sentence == 'waiting for sub-orchestration "Child" (i1:0: Running)'
    assert w.items[0].instance_id == "i1:0"


def test_fan_out_is_counted_and_capped() -> None:
    scheduled = [h.task_scheduled(at(1), i, "Hello", None) for i in range(5)]
    scheduled += [h.task_scheduled(at(1), 5 + i, f"Other{i}", None) for i in range(4)]
    hist = [*started(), *scheduled, h.orchestrator_completed(at(1))]
    w = explain_waiting(WaitFacts(hist, activity_hosts=()))
    assert len(w.items) == 9
    assert w.sentence.startswith('waiting for 5 × activity "Hello" (queued since 2026-01-01T10:00:01Z), ')
    assert w.sentence.endswith(" and 2 more")


def test_entity_call_waits_but_signal_does_not() -> None:
    call = {"op": "get", "id": "r1", "parent": "i1"}
    signal = {"op": "add", "signal": True, "id": "r2", "parent": "i1"}
    hist = [
        *started(),
        h.event_sent(at(1), 0, "@counter@k", "op", json.dumps(signal)),
        h.event_sent(at(1), 1, "@counter@k", "op", json.dumps(call)),
        h.orchestrator_completed(at(1)),
    ]
    w = explain_waiting(WaitFacts(hist))
    assert w.sentence == 'waiting for entity operation "get" on @counter@k (since 2026-01-01T10:00:01Z)'
    answered = [*hist, h.orchestrator_started(at(2)), h.event_raised(at(2), "r1", "{}")]
    assert explain_waiting(WaitFacts(answered, open_events={})).state is WaitState.BUSY


def test_suspended_since_with_reason_and_held_events() -> None:
    held = h.event_raised(at(3), "Approval", "true")
    hist = [
        *started(),
        h.task_scheduled(at(0), 0, "A", None),
        h.orchestrator_completed(at(0)),
        h.orchestrator_started(at(2)),
        h.execution_suspended(at(2), "maintenance"),
        h.orchestrator_completed(at(2)),
        h.orchestrator_started(at(3)),
        h.generic_event(at(3), pending_marker("suspended", held)),
        h.orchestrator_completed(at(3)),
    ]
    w = explain_waiting(WaitFacts(hist, status="Suspended", source=SRC))
    assert w.state is WaitState.SUSPENDED
    assert w.since == at(2)
    assert w.sentence == (
        'suspended since 2026-01-01T10:00:02Z (maintenance); events held: "Approval" at function_app.py:188'
    )


def test_source_line_relative_to_the_app_root(tmp_path: Path) -> None:
    line = SourceLine(str(tmp_path / "pkg" / "function_app.py"), 12, "orch")
    assert str(line.relative_to(tmp_path)) == "pkg/function_app.py:12"
    assert line.relative_to(tmp_path / "elsewhere") == line
