"""Common orchestrator mistakes end Failed with a message that says what to change."""

from __future__ import annotations

from engine_support import APPS, output

from host.testing.app_host import AppHost

HOST_APP = APPS / "mistakes"


async def test_async_def_orchestrator_is_explained(host: AppHost) -> None:
    status = await host.run("async_orchestrator", timeout=20)
    assert status.runtime_status == "Failed"
    message = status.output or ""
    assert "async" in message and "yield" in message, message


async def test_helper_generator_without_yield_from_is_explained(host: AppHost) -> None:
    status = await host.run("forgets_yield_from", timeout=20)
    assert status.runtime_status == "Failed"
    assert "yield from" in (status.output or ""), status.output


async def test_helper_generator_with_yield_from_works(host: AppHost) -> None:
    status = await host.run("uses_yield_from", timeout=20)
    assert status.runtime_status == "Completed"
    assert output(status) == 2
