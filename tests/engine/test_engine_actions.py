"""Every SDK action type through the engine on Azurite (in-process host, one hub per test)."""

from __future__ import annotations

import json

from engine_support import (
    FEATURES,
    event_types,
    output,
    raise_event,
    status_of,
    until_custom_status,
)

from host.durable.replay.history import parse_timestamp
from host.testing.app_host import AppHost

HOST_APP = FEATURES


async def test_retry_succeeds_on_the_third_attempt(host: AppHost) -> None:
    status = await host.run("retry_then_succeed", timeout=30)
    assert status.runtime_status == "Completed", status.output
    assert output(status) == "ok after 3"
    types = event_types(await host.management.get_history(status.instance_id))
    assert types.count("TaskScheduled") == 3
    assert types.count("TaskFailed") == 2
    assert types.count("TaskCompleted") == 1
    assert types.count("TimerFired") == 2  # the retry delays are durable timers


async def test_retry_exhausted_surfaces_the_last_error(host: AppHost) -> None:
    status = await host.run("retry_exhausted", timeout=30)
    assert status.runtime_status == "Completed", status.output
    assert output(status).startswith("gave up:")
    assert "flaky failure 2" in output(status)
    types = event_types(await host.management.get_history(status.instance_id))
    assert types.count("TaskScheduled") == 2 and types.count("TaskFailed") == 2


async def test_sub_orchestrations_explicit_ids_failure_and_retry(host: AppHost) -> None:
    status = await host.run("parent", timeout=45)
    assert status.runtime_status == "Completed", status.output
    result = output(status)
    assert result["first"] == "child got a"
    assert result["both"] == ["child got b", "child got c"]
    assert "child refused its input" in result["failure"]
    assert result["retried"] == "ok after 2"
    iid = status.instance_id
    for suffix, expected in (("child-a", "Completed"), ("child-b", "Completed"), ("child-fail", "Failed")):
        child = await status_of(host, f"{iid}:{suffix}")
        assert child.runtime_status == expected
    failed_child = await status_of(host, f"{iid}:child-fail")
    assert "child refused its input" in (failed_child.output or "")
    types = event_types(await host.management.get_history(iid))
    assert types.count("SubOrchestrationInstanceCreated") == 6  # a, b, c, fail, flaky x2
    assert types.count("SubOrchestrationInstanceFailed") == 2
    assert types.count("SubOrchestrationInstanceCompleted") == 4


async def test_short_timer_fires_after_its_time(host: AppHost) -> None:
    status = await host.run("short_timer", timeout=15)
    assert status.runtime_status == "Completed"
    assert output(status) >= 1.0  # durable time between the timer's creation and its firing
    history = await host.management.get_history(status.instance_id)
    created = next(e for e in history if e["EventType"] == 10)
    fired = next(e for e in history if e["EventType"] == 11)
    assert fired["TimerId"] == created["EventId"]
    assert parse_timestamp(fired["Timestamp"]) >= parse_timestamp(created["FireAt"])


async def test_external_events_before_and_after_waiting(host: AppHost) -> None:
    iid = await host.start("wait_event")
    await raise_event(host, iid, "Go", "early")  # buffered: nobody waits yet
    await until_custom_status(host, iid, "waiting")
    await raise_event(host, iid, "Go", {"late": True})
    status = await host.wait(iid, 20)
    assert status.runtime_status == "Completed", status.output
    assert output(status) == ["early", {"late": True}]


async def test_task_any_event_wins_over_timer(host: AppHost) -> None:
    iid = await host.start("race", 60)
    await until_custom_status(host, iid, "racing")
    await raise_event(host, iid, "Approval", "boss")
    status = await host.wait(iid, 20)
    assert output(status) == {"approved_by": "boss"}


async def test_task_any_timer_wins_over_event(host: AppHost) -> None:
    status = await host.run("race", 1, timeout=20)
    assert output(status) == "timed out"


async def test_continue_as_new_carries_unprocessed_events(host: AppHost) -> None:
    iid = await host.start("counter", 0)
    await until_custom_status(host, iid, {"total": 0})
    for _ in range(3):  # all three at once: two are still unprocessed at the first continue_as_new
        await raise_event(host, iid, "Add", 1)
    status = await host.wait(iid, 30)
    assert status.runtime_status == "Completed", status.output
    assert output(status) == 3
    history = await host.management.get_history(iid)
    assert history[0]["EventType"] == 0 or history[1]["EventType"] == 0  # a fresh execution


async def test_continue_as_new_carries_events_that_arrived_with_the_start(host: AppHost) -> None:
    iid = await host.start("counter", 0)
    for _ in range(3):  # most likely one batch with ExecutionStarted: two wait for later generations
        await raise_event(host, iid, "Add", 1)
    status = await host.wait(iid, 30)
    assert status.runtime_status == "Completed", status.output
    assert output(status) == 3


async def test_custom_status_is_visible_in_the_instances_row(host: AppHost) -> None:
    iid = await host.start("custom_status")
    await until_custom_status(host, iid, {"stage": "one"})
    await raise_event(host, iid, "Next", None)
    await until_custom_status(host, iid, {"stage": "two"})
    await raise_event(host, iid, "Next", None)
    status = await host.wait(iid, 20)
    assert status.runtime_status == "Completed"
    assert json.loads(status.custom_status or "null") == {"stage": "two"}
