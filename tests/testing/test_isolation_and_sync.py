"""Apps running side by side stay isolated; the synchronous context manager works from plain tests."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from host.testing import AppHost, function_app

APP = Path(__file__).parent / "apps" / "toolkit"


async def test_parallel_apps_have_their_own_hub_clock_stubs_and_instances(
    funchost_storage: str, azurite_connection_string: str
) -> None:
    conn = azurite_connection_string if funchost_storage == "azurite" else None
    apps = [
        AppHost(APP, storage=funchost_storage, connection_string=conn, virtual_time=True) for _ in range(3)
    ]
    await asyncio.gather(*(a.start_app() for a in apps))
    try:
        assert len({a.hub_name for a in apps}) == 3
        apps[0].stub("greet", result="stubbed")
        outcomes = await asyncio.gather(
            *(a.run("chain", [f"app{i}"], expect="Completed") for i, a in enumerate(apps))
        )
        assert [a.output(s) for a, s in zip(apps, outcomes, strict=True)] == [
            ["stubbed"],
            ["Hello app1"],
            ["Hello app2"],
        ]
        for app, status in zip(apps, outcomes, strict=True):
            page, _ = await app.management.query_instances()
            assert [s.instance_id for s in page] == [status.instance_id]
            assert [c.input for c in app.calls()] == [f"app{apps.index(app)}"]
        await apps[1].advance(hours=5)
        assert apps[0].now() - apps[1].now() < -timedelta(hours=4)
        assert apps[1].invocations("hourly") and not apps[0].invocations("hourly")
    finally:
        await asyncio.gather(*(a.stop_app() for a in apps))


def test_sync_context_manager_runs_the_human_interaction_both_ways() -> None:
    with function_app(APP) as app:
        iid = app.start("approval")
        app.raise_event(iid, "Approval", "bob")
        assert app.output(app.wait(iid)) == "approved by bob"
        status = app.run("approval", expect="Completed")
        assert app.output(status) == "escalated: no answer in 72 hours"
        assert [c.name for c in app.calls()] == ["record", "escalate"]
        assert app.client is not None
        resp = app.client.post("/api/start/chain", json=["S"])
        assert resp.status_code == 202
        assert app.wait(resp.json()["id"]).output == '["Hello S"]'
