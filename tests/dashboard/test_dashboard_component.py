"""Where the host serves the dashboard: /dashboard, unless --no-dashboard or a user route takes it."""

from __future__ import annotations

import logging
from pathlib import Path

import azure.functions as func
import httpx
import pytest
from httphost_helpers import registry_from
from starlette.applications import Starlette

from host.config.settings import HostSettings
from host.dashboard.component import create_services, user_route_conflict
from host.runtime import HostRuntime
from host.storage.memory import MemoryStorage


def _app(route: str) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route=route)
    def page(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("mine")

    return app


def _runtime(tmp_path: Path, route: str, *, prefix: str = "api", dashboard: bool = True) -> HostRuntime:
    settings = HostSettings(tmp_path, {}, route_prefix=prefix, dashboard=dashboard)
    return HostRuntime(settings, storage=MemoryStorage(), registry=registry_from(_app(route)), components=())


def test_a_user_route_on_the_dashboard_path_is_found() -> None:
    assert user_route_conflict(registry_from(_app("dashboard/{*rest}")), "") == "page"
    assert user_route_conflict(registry_from(_app("{*anything}")), "") == "page"
    assert user_route_conflict(registry_from(_app("dashboard")), "api") is None  # /api/dashboard
    assert user_route_conflict(registry_from(_app("other")), "") is None


async def test_the_dashboard_is_served_at_its_path(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, "hello")
    await runtime.start()  # the invoker (its counters feed the functions page); no components
    try:
        assert create_services(runtime) == []
        assert runtime.dashboard_path == "/dashboard"
        app = Starlette(routes=runtime.routes)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            page = await c.get("/dashboard/functions")
            assert page.status_code == 200 and 'data-function="page"' in page.text
            assert (await c.get("/dashboard")).status_code == 200
            assert "no durable functions" in (await c.get("/dashboard/hub")).text
    finally:
        await runtime.stop()


def test_no_dashboard_turns_it_off(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, "hello", dashboard=False)
    create_services(runtime)
    assert runtime.routes == [] and runtime.dashboard_path is None


def test_a_user_route_wins_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    runtime = _runtime(tmp_path, "dashboard/{*rest}", prefix="")
    with caplog.at_level(logging.WARNING, logger="host.dashboard"):
        create_services(runtime)
    assert runtime.routes == [] and runtime.dashboard_path is None
    assert "function 'page' has a route at /dashboard (it wins)" in caplog.text


def test_a_missing_browser_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dashboard_support import chromium_path

    monkeypatch.setenv("FUNCHOST_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        chromium_path()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        chromium_path()


async def test_after_a_hot_reload_it_is_served_again_and_the_page_token_still_holds(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, "hello")
    runtime.components = ("host.dashboard.component",)
    await runtime.start()
    try:

        async def client() -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=Starlette(routes=runtime.routes))
            return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

        async with await client() as before:
            page = (await before.get("/dashboard/functions")).text
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        await (await runtime.reload(runtime.settings, registry_from(_app("renamed")))).aclose()
        async with await client() as after:
            assert 'data-function="page"' in (await after.get("/dashboard/functions")).text
            action = await after.post(
                "/dashboard/instance/action", data={"id": "x", "action": "purge", "csrf": token}
            )
            assert action.status_code == 409  # the token passed; there is no task hub to act on
    finally:
        await runtime.stop()


def test_start_takes_no_dashboard(tmp_path: Path) -> None:
    from host.cli import build_parser
    from host.config.settings import load_settings

    args = build_parser(plugins=False).parse_args(["start", "--no-dashboard"])
    assert args.no_dashboard is True
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    assert load_settings(tmp_path, environ={}).dashboard is True
    assert load_settings(tmp_path, dashboard=False, environ={}).dashboard is False
