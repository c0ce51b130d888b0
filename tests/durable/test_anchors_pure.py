"""The anchor decisions of an episode (engine/anchor_plan.py), on synthetic messages and events."""

from __future__ import annotations

from typing import Any

from host.durable.engine.anchor_plan import (
    AnchorPlan,
    keep_anchor,
    lost_activities,
    plan_anchor,
    plan_recovery,
)
from host.durable.engine.anchors import MAX_ANCHORED_TASKS, NO_RECORD, Anchor
from host.durable.replay.history import EventType, OrchestrationStatus
from host.durable.replay.ledger import scan
from host.durable.replay.model import EpisodeResult
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import RecoveryRecord

CONTROL = "hub-control-00"
CONTROLS = frozenset({CONTROL})
WORKITEMS = "hub-workitems"
EXEC = "exec-1"


def started() -> dict[str, Any]:
    return {"EventType": int(EventType.ExecutionStarted), "EventId": -1, "Name": "orch"}


def scheduled(task: int) -> dict[str, Any]:
    return {"EventType": int(EventType.TaskScheduled), "EventId": task, "Name": "act"}


def timer(task: int) -> dict[str, Any]:
    return {"EventType": int(EventType.TimerCreated), "EventId": task}


def completed(task: int) -> dict[str, Any]:
    return {"EventType": int(EventType.TaskCompleted), "EventId": -1, "TaskScheduledId": task}


def raised() -> dict[str, Any]:
    return {"EventType": int(EventType.EventRaised), "EventId": -1, "Name": "go"}


def msg(event: dict[str, Any], mid: str, queue: str = CONTROL, *, received: bool = True) -> TaskMessage:
    return TaskMessage(
        event=event,
        instance_id="i",
        execution_id=EXEC,
        queue=queue,
        message_id=mid,
        pop_receipt="receipt" if received else None,
    )


def result(
    history: list[dict[str, Any]],
    appended: list[dict[str, Any]],
    *,
    execution_id: str = EXEC,
    status: OrchestrationStatus = OrchestrationStatus.Running,
    rewritten: bool = False,
) -> EpisodeResult:
    return EpisodeResult(
        instance_id="i",
        execution_id=execution_id,
        history=history,
        appended=appended,
        rewritten=rewritten,
        status=status,
    )


def held_anchor(mid: str, tasks: set[int], execution_id: str = EXEC) -> Anchor:
    """An anchor this host holds, as after the checkpoint whose record named it with ``tasks``."""
    anchor = Anchor(msg(started(), mid), execution_id)
    anchor.stand_for(tasks, [scheduled(t) for t in tasks])
    return anchor


def test_first_anchor_is_the_execution_started_of_the_batch() -> None:
    start = msg(started(), "m-start")
    res = result([started(), scheduled(0), scheduled(1)], [started(), scheduled(0), scheduled(1)])
    plan = plan_anchor(None, None, res, fresh=True, consumed=[start], control_queues=CONTROLS)
    assert plan == AnchorPlan(
        same=False, candidate=start, room=MAX_ANCHORED_TASKS, unheld=(), let_go=False, stale=()
    )
    keep = keep_anchor(plan, None, None, res, {0, 1})
    assert keep.anchor is not None and keep.anchor.message is start and keep.anchor.execution_id == EXEC
    assert keep.tasks == {0, 1}
    assert keep.record == RecoveryRecord("m-start", (0, 1))


def test_no_candidate_without_an_anchorable_message() -> None:
    external = msg(raised(), "m-raised")  # an external event cannot be replayed as a duplicate
    workitem = msg(completed(0), "m-wi", queue=WORKITEMS)
    unlocked = msg(completed(0), "m-put", received=False)
    res = result([started(), scheduled(0), raised(), scheduled(1)], [raised(), scheduled(1)])
    for consumed in ([external], [workitem], [unlocked]):
        plan = plan_anchor(None, None, res, fresh=False, consumed=consumed, control_queues=CONTROLS)
        assert plan.candidate is None and plan.room == 0 and not plan.same
        keep = keep_anchor(plan, None, None, res, set())
        assert keep.anchor is None and keep.record == NO_RECORD


def test_a_candidate_with_nothing_run_from_memory_anchors_nothing() -> None:
    start = msg(started(), "m-start")
    res = result([started(), timer(0)], [started(), timer(0)])
    plan = plan_anchor(None, None, res, fresh=True, consumed=[start], control_queues=CONTROLS)
    keep = keep_anchor(plan, None, None, res, set())
    assert plan.candidate is start
    assert keep.anchor is None and keep.tasks == frozenset() and keep.record == NO_RECORD


def test_the_held_anchor_continues_with_its_tasks_less_completed_plus_new() -> None:
    held = held_anchor("m-start", {0, 1, 2})
    record = RecoveryRecord("m-start", (0, 1, 2))
    history = [started(), scheduled(0), scheduled(1), scheduled(2), completed(1), scheduled(3)]
    res = result(history, [completed(1), scheduled(3)])
    done = msg(completed(1), "m-done")
    plan = plan_anchor(held, record, res, fresh=False, consumed=[done], control_queues=CONTROLS)
    assert plan.same and plan.candidate is None and plan.unheld == () and plan.stale == ()
    assert plan.room == MAX_ANCHORED_TASKS - 3
    keep = keep_anchor(plan, held, record, res, {3})
    assert keep.anchor is held
    assert keep.tasks == {0, 2, 3}
    assert keep.record == RecoveryRecord("m-start", (0, 2, 3))
    assert held.tasks == {0, 1, 2}  # deciding changes nothing


def test_a_held_anchor_whose_tasks_all_completed_is_not_kept() -> None:
    held = held_anchor("m-start", {0})
    res = result([started(), scheduled(0), completed(0)], [completed(0)])
    plan = plan_anchor(
        held, RecoveryRecord("m-start", (0,)), res, fresh=False, consumed=[], control_queues=CONTROLS
    )
    keep = keep_anchor(plan, held, RecoveryRecord("m-start", (0,)), res, set())
    assert plan.same and keep.anchor is None and keep.record == NO_RECORD


def test_the_room_left_on_the_held_anchor_is_the_maximum_less_its_tasks() -> None:
    full = held_anchor("m-start", set(range(MAX_ANCHORED_TASKS)))
    history = [started(), *(scheduled(t) for t in range(MAX_ANCHORED_TASKS))]
    res = result(history, [raised()])
    plan = plan_anchor(full, full.record(), res, fresh=False, consumed=[], control_queues=CONTROLS)
    assert plan.same and plan.room == 0
    nearly = held_anchor("m-start", set(range(MAX_ANCHORED_TASKS - 2)))
    plan = plan_anchor(nearly, nearly.record(), res, fresh=False, consumed=[], control_queues=CONTROLS)
    assert plan.room == 2


def test_an_unheld_record_with_outstanding_tasks_is_kept_trimmed_and_nothing_new_anchored() -> None:
    record = RecoveryRecord("m-other", (0, 1, 2))  # another host's anchor (it died)
    history = [started(), scheduled(0), scheduled(1), scheduled(2), completed(0), scheduled(3)]
    res = result(history, [completed(0), scheduled(3)])
    done = msg(completed(0), "m-done")
    plan = plan_anchor(None, record, res, fresh=False, consumed=[done], control_queues=CONTROLS)
    assert plan.unheld == (1, 2)
    assert plan.candidate is None and plan.room == 0 and not plan.same and plan.stale == ()
    keep = keep_anchor(plan, None, record, res, set())
    assert keep.anchor is None
    assert keep.record == RecoveryRecord("m-other", (1, 2))


def test_a_spent_unheld_record_is_overwritten_by_a_new_anchor() -> None:
    record = RecoveryRecord("m-other", (0, 1))
    history = [started(), scheduled(0), scheduled(1), completed(0), completed(1), scheduled(2)]
    res = result(history, [completed(1), scheduled(2)])
    done = msg(completed(1), "m-done")
    plan = plan_anchor(None, record, res, fresh=False, consumed=[done], control_queues=CONTROLS)
    assert plan.unheld == () and plan.candidate is done and plan.room == MAX_ANCHORED_TASKS
    keep = keep_anchor(plan, None, record, res, {2})
    assert keep.anchor is not None and keep.anchor.message is done
    assert keep.record == RecoveryRecord("m-done", (2,))
    assert keep_anchor(plan, None, record, res, set()).record == NO_RECORD


def test_an_unheld_record_while_an_anchor_is_held_resends_the_held_tasks() -> None:
    held = held_anchor("m-mine", {4, 5})
    record = RecoveryRecord("m-other", (0,))
    history = [started(), scheduled(0), scheduled(4), scheduled(5), completed(5)]
    res = result(history, [completed(5)])
    plan = plan_anchor(held, record, res, fresh=False, consumed=[], control_queues=CONTROLS)
    assert plan.let_go and plan.stale == (4,)
    assert plan.unheld == (0,) and not plan.same and plan.room == 0
    keep = keep_anchor(plan, held, record, res, set())
    assert keep.anchor is None and keep.record == RecoveryRecord("m-other", (0,))


def test_the_record_of_the_held_anchor_is_not_unheld() -> None:
    held = held_anchor("m-start", {0})
    record = RecoveryRecord("m-start", (0,))
    res = result([started(), scheduled(0), raised()], [raised()])
    plan = plan_anchor(held, record, res, fresh=False, consumed=[], control_queues=CONTROLS)
    assert plan.unheld == () and plan.same


def test_terminal_rewritten_and_fresh_episodes_keep_no_record() -> None:
    record = RecoveryRecord("m-other", (0,))
    held = held_anchor("m-start", {0})
    start = msg(started(), "m-new-start")
    history = [started(), scheduled(0)]
    cases = {
        "terminal": (result([*history, raised()], [raised()], status=OrchestrationStatus.Completed), False),
        "rewritten": (result([started()], [started()], execution_id="exec-2", rewritten=True), False),
        "fresh": (result([started()], [started()], execution_id="exec-2"), True),
    }
    for name, (res, fresh) in cases.items():
        plan = plan_anchor(held, record, res, fresh=fresh, consumed=[start], control_queues=CONTROLS)
        assert plan.unheld == () and plan.stale == () and not plan.same, name
        keep = keep_anchor(plan, held, record, res, set())
        assert keep.anchor is None and keep.record == NO_RECORD, name
    terminal = cases["terminal"][0]
    plan = plan_anchor(held, record, terminal, fresh=False, consumed=[start], control_queues=CONTROLS)
    assert plan.candidate is None and plan.room == 0  # a finished execution runs nothing more
    continued = cases["rewritten"][0]
    plan = plan_anchor(held, record, continued, fresh=False, consumed=[start], control_queues=CONTROLS)
    assert plan.candidate is start  # the new execution may anchor on the batch's message
    keep = keep_anchor(plan, held, record, continued, {0})
    assert keep.anchor is not None and keep.anchor.execution_id == "exec-2"
    assert keep.record == RecoveryRecord("m-new-start", (0,))


def test_recovery_sends_the_record_tasks_when_its_anchor_comes_back() -> None:
    record = RecoveryRecord("m-other", (1, 2))
    back = msg(completed(0), "m-other")
    plan = plan_recovery(record, None, [back], reloaded=False, unsure={7})
    assert plan.came_back and plan.wanted == {1, 2}
    plan = plan_recovery(record, None, [back], reloaded=True, unsure={7})
    assert plan.came_back and plan.wanted == {1, 2, 7}


def test_recovery_ignores_a_record_of_the_held_anchor_or_one_not_in_the_batch() -> None:
    record = RecoveryRecord("m-start", (1,))
    mine = held_anchor("m-start", {1})
    copy = msg(started(), "m-start")
    assert plan_recovery(record, mine, [copy], reloaded=False, unsure=set()).wanted == frozenset()
    other = msg(completed(0), "m-x")
    plan = plan_recovery(record, None, [other], reloaded=False, unsure=set())
    assert not plan.came_back and plan.wanted == frozenset()
    assert not plan_recovery(NO_RECORD, None, [msg(started(), "")], reloaded=False, unsure=set()).came_back
    plan = plan_recovery(None, None, [other], reloaded=True, unsure={3})
    assert not plan.came_back and plan.wanted == {3}


def test_lost_activities_are_the_scheduled_and_uncompleted_activities_in_order() -> None:
    history = [started(), scheduled(0), timer(1), scheduled(2), completed(0), scheduled(3)]
    lost = lost_activities(scan(history), {3, 0, 1, 2, 9})
    assert [e["EventId"] for e in lost] == [2, 3]  # not completed 0, not timer 1, not unknown 9


def test_stand_for_keeps_the_events_of_the_tasks_it_stands_for() -> None:
    anchor = held_anchor("m-start", {0, 1})
    anchor.stand_for(frozenset({1, 2}), [scheduled(2), scheduled(5)])
    assert anchor.tasks == {1, 2} and isinstance(anchor.tasks, set)
    assert set(anchor.events) == {1, 2}


def test_a_held_anchor_stays_while_the_record_is_its_claim_or_a_subset_of_it() -> None:
    held = held_anchor("m-mine", {1, 2})
    res = result([started(), scheduled(1), scheduled(2), completed(1)], [completed(1)])
    for record in (RecoveryRecord("m-mine", (1, 2)), RecoveryRecord("m-mine", (2,))):
        plan = plan_anchor(held, record, res, fresh=False, consumed=[], control_queues=CONTROLS)
        assert not plan.let_go and plan.same and plan.stale == (), record


def test_a_held_anchor_another_host_named_since_is_let_go() -> None:
    # Another host received the anchor (its lock lapsed), re-sent task 1 and ran task 3 on it.
    held = held_anchor("m-mine", {1})
    record = RecoveryRecord("m-mine", (1, 3))
    history = [started(), scheduled(1), scheduled(3), completed(2)]
    res = result(history, [completed(2)])
    done = msg(completed(2), "m-done")
    plan = plan_anchor(held, record, res, fresh=False, consumed=[done], control_queues=CONTROLS)
    assert plan.let_go and plan.stale == (1,) and not plan.same
    assert plan.unheld == (1, 3) and plan.candidate is None and plan.room == 0
    keep = keep_anchor(plan, None, record, res, set())
    assert keep.anchor is None and keep.record == record
