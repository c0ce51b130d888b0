"""Failure paths through the engine on Azurite: activity and orchestrator errors, unknown
names, non-determinism after a code change."""

from __future__ import annotations

import uuid

from engine_support import (
    APPS,
    FEATURES,
    event_types,
    output,
    raise_event,
    until_custom_status,
)

from host.testing.app_host import AppHost

HOST_APP = FEATURES


async def test_activity_exception_message_reaches_the_orchestrator(host: AppHost) -> None:
    status = await host.run("catch_activity_error", timeout=20)
    assert status.runtime_status == "Completed"
    assert "the widget broke" in output(status)
    history = await host.management.get_history(status.instance_id)
    failed = next(e for e in history if e["EventType"] == 6)
    assert "the widget broke" in failed["Reason"] + (failed.get("Details") or "")


async def test_orchestrator_exception_fails_the_instance_with_its_message(host: AppHost) -> None:
    status = await host.run("orchestrator_raises", timeout=20)
    assert status.runtime_status == "Failed"
    assert "orchestrator gave up on purpose" in (status.output or "")
    assert event_types(await host.management.get_history(status.instance_id))[-2:] == [
        "ExecutionCompleted",
        "OrchestratorCompleted",
    ]


async def test_unknown_orchestrator_fails_with_a_clear_message(host: AppHost) -> None:
    # Started as any client can (the toolkit's own start refuses unknown names up front).
    client = host.durable_client
    instance_id = await client.management.start_orchestration("no_such_orchestrator", None, None)
    status = await client.wait_for_completion(instance_id, timeout=20)
    assert status.runtime_status == "Failed"
    assert "no_such_orchestrator" in (status.output or "")


async def test_unknown_activity_fails_with_a_clear_message(host: AppHost) -> None:
    status = await host.run("calls_missing_activity", timeout=20)
    assert status.runtime_status == "Failed"
    assert "no_such_activity" in (status.output or "")


async def test_changed_code_on_an_in_flight_instance_is_non_deterministic(
    azurite_connection_string: str,
) -> None:
    hub = f"nd{uuid.uuid4().hex[:12]}"
    async with AppHost(
        APPS / "nondet_v1", connection_string=azurite_connection_string, hub_name=hub, virtual_time=False
    ) as v1:
        iid = await v1.start("evolving")
        await until_custom_status(v1, iid, "waiting")
    async with AppHost(
        APPS / "nondet_v2", connection_string=azurite_connection_string, hub_name=hub, virtual_time=False
    ) as v2:
        await raise_event(v2, iid, "Go", True)
        status = await v2.wait(iid, 45)
        assert status.runtime_status == "Failed"
        message = status.output or ""
        assert "step_a" in message and "step_b" in message, message
        assert "determinis" in message.lower(), message
