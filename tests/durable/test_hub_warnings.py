"""What the host tells about instances it cannot help: refused management operations (the
extension's wording), orchestrations whose orchestrator is not in this app, and, at start-up,
unfinished instances in the task hub of orchestrators this app does not define."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from waiting import eventually

from host.errors import InvalidInstanceStateError
from host.testing.app_host import AppHost

INPUTS_APP = Path(__file__).parent / "apps" / "inputs"
OTHER_APP = Path(__file__).parents[1] / "testing" / "apps" / "toolkit"


async def _status(host: AppHost, instance_id: str, wanted: str) -> None:
    async def check() -> bool:
        status = await host.management.get_status(instance_id)
        return status is not None and status.runtime_status == wanted

    await eventually(check, what=f"{instance_id} to be {wanted}")


async def test_refused_suspend_and_resume_are_logged_with_the_extension_wording(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with AppHost(INPUTS_APP, connection_string=azurite_connection_string, virtual_time=False) as host:
        iid = await host.start("echo_event", instance_id="waiting")
        await _status(host, iid, "Running")
        with pytest.raises(InvalidInstanceStateError):
            await host.management.resume(iid)
        await host.management.suspend(iid)
        await _status(host, iid, "Suspended")
        with pytest.raises(InvalidInstanceStateError):
            await host.management.suspend(iid)
        await host.management.terminate(iid)
        await _status(host, iid, "Terminated")
        with pytest.raises(InvalidInstanceStateError):
            await host.management.terminate(iid)
        with pytest.raises(InvalidInstanceStateError):
            await host.management.raise_event(iid, "E", "1")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    suffix = f". InstanceId: waiting. Function: echo_event. HubName: {host.hub_name}."
    for message in (
        "Cannot resume orchestration instance in the Running state.",
        "Cannot suspend orchestration instance in the Suspended state.",
        "Cannot terminate orchestration instance in the Terminated state.",
        "Cannot raise event for instance in Terminated state.",
    ):
        assert message[:-1] + suffix in warnings, warnings


async def test_an_orchestration_not_in_this_app_fails_and_is_logged(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with AppHost(INPUTS_APP, connection_string=azurite_connection_string, virtual_time=False) as host:
        iid = await host.management.start_orchestration("elsewhere", "lost-1", None)
        status = await host.wait(iid)
        assert status.runtime_status == "Failed"
    [line] = [r for r in caplog.records if "lost-1" in r.getMessage() and r.levelno >= logging.WARNING]
    message = line.getMessage()
    assert message.startswith(
        "The function 'elsewhere' doesn't exist, is disabled, or is not an orchestrator function. "
        "Additional info: The following are the known orchestrator functions: 'echo_event', 'echo_input'. "
        f"InstanceId: lost-1. Function: elsewhere. HubName: {host.hub_name}."
    ), message
    assert "hubName" in message  # how to give this app its own task hub


async def test_start_up_warns_once_about_unfinished_instances_of_unknown_orchestrators(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with AppHost(INPUTS_APP, connection_string=azurite_connection_string, virtual_time=False) as first:
        hub = first.hub_name
        for n in range(3):
            await _status(first, await first.start("echo_event", instance_id=f"waits-{n}"), "Running")
        await first.run("echo_input", 1, expect="Completed")  # finished instances are no concern
    caplog.set_level(logging.INFO)
    # another app on the same task hub (two apps on the default TestHubName)
    async with AppHost(
        OTHER_APP, connection_string=azurite_connection_string, hub_name=hub, virtual_time=False
    ) as second:
        found = await eventually(
            lambda: [r for r in caplog.records if "does not define" in r.getMessage()],
            what="the start-up warning",
        )
        await second.settle()
    [line] = [r for r in caplog.records if "does not define" in r.getMessage()]
    assert line.levelno == logging.WARNING and found == [line]
    message = line.getMessage()
    assert f"Task hub '{hub}'" in message
    assert "echo_event (3 instances)" in message and "echo_input" not in message
    assert "extensions.durableTask.hubName" in message and "host.json" in message
