"""De-duplication of queued ExecutionStarted messages (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from host.durable.engine.start_check import MAX_START_DEFERRALS, StartVerdict, judge_start
from host.durable.replay import history as h
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def start(
    execution_id: str, generation: int = 0, dequeue_count: int = 1, parent: bool = False
) -> TaskMessage:
    event = h.execution_started(
        NOW, instance_id="i", execution_id=execution_id, name="o", input_text=None, generation=generation
    )
    if parent:
        event["ParentInstance"] = {"OrchestrationInstance": {"InstanceId": "p"}}
    return TaskMessage(event=event, instance_id="i", execution_id=execution_id, dequeue_count=dequeue_count)


def row(execution_id: str, status: str = "Pending", generation: int = 0) -> InstanceStatus:
    return InstanceStatus("i", execution_id=execution_id, runtime_status=status, generation=generation)


def test_start_before_its_row_is_deferred_then_dropped_after_many_tries() -> None:
    assert judge_start(start("e1"), None) is StartVerdict.DEFER
    assert judge_start(start("e1", dequeue_count=MAX_START_DEFERRALS), None) is StartVerdict.DROP


def test_start_matching_the_row_is_accepted() -> None:
    assert judge_start(start("e1"), row("e1")) is StartVerdict.ACCEPT


def test_start_of_an_instance_terminated_while_pending_is_dropped() -> None:
    assert judge_start(start("e1"), row("e1", "Terminated")) is StartVerdict.DROP


def test_newer_generation_waits_for_its_row_and_stale_one_is_dropped() -> None:
    assert judge_start(start("e2", generation=1), row("e1", "Completed", generation=0)) is StartVerdict.DEFER
    assert judge_start(start("e1", generation=0), row("e2", "Running", generation=1)) is StartVerdict.DROP


def test_sub_orchestration_starts_are_never_deduplicated() -> None:
    assert judge_start(start("e1", parent=True), None) is StartVerdict.ACCEPT
