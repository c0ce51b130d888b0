"""The dashboard of a host run with --enable-auth, in Chromium: the login form, then the pages;
actions without the CSRF token are refused. And the standalone dashboard (no app)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from dashboard_support import copy_sample_app
from host_process_support import host_env, host_process
from playwright.sync_api import Page, expect
from waiting import eventually_sync

from host.http.auth import read_keys
from host.storage.azurite import free_port

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

expect.set_options(timeout=30_000)


def test_under_auth_the_login_form_then_the_pages_and_csrf_is_checked(
    page: Page, tmp_path: Path, azurite_connection_string: str, screenshots: Path
) -> None:
    app = copy_sample_app(tmp_path / "app")
    env = host_env(azurite_connection_string, f"DashAuth{uuid.uuid4().hex[:8]}")
    with host_process(app, env, args=["--enable-auth"]) as url:
        keys = read_keys(app)
        assert keys is not None
        started = httpx.post(f"{url}/api/patterns/approval")
        assert started.status_code == 202
        iid = started.json()["id"]

        page.goto(f"{url}/dashboard/instance?id={iid}")
        expect(page.locator("#login-form")).to_be_visible()
        assert keys.master_key not in page.content()
        page.screenshot(path=str(screenshots / "login.png"))
        page.fill('#login-form input[name="key"]', "not-the-key")
        page.click("#login-form button")
        expect(page.locator("#login-error")).to_have_text("That is not the master key.")

        page.fill('#login-form input[name="key"]', keys.master_key)
        page.click("#login-form button")
        expect(page.locator("h1")).to_contain_text("approval_request")  # back where it was going
        cookie = next(c for c in page.context.cookies() if c["name"] == "funchost_dashboard")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert keys.master_key not in cookie["value"] and keys.master_key not in page.content()

        refused = page.evaluate(
            """async (iid) => {
                const r = await fetch('/dashboard/instance/action', {method: 'POST',
                    headers: {'content-type': 'application/x-www-form-urlencoded'},
                    body: new URLSearchParams({id: iid, action: 'terminate'})});
                return [r.status, (await r.json()).message];
            }""",
            iid,
        )
        assert refused[0] == 403 and "CSRF" in refused[1]
        expect(page.locator("#runtime-status")).to_have_text("Running")

        page.click("#suspend-form button")  # the page's own form carries the token
        expect(page.locator("#flash")).to_have_text("Suspend requested.")
        expect(page.locator("#runtime-status")).to_have_text("Suspended")

        page.click("header .logout button")
        expect(page.locator("#login-form")).to_be_visible()


def test_the_standalone_dashboard_reads_a_task_hub_without_the_app(
    page: Page, tmp_path: Path, azurite_connection_string: str
) -> None:
    app = copy_sample_app(tmp_path / "app")
    hub = f"DashAlone{uuid.uuid4().hex[:8]}"
    env = host_env(azurite_connection_string, hub)
    with host_process(app, env) as url:
        iid = httpx.post(f"{url}/api/patterns/approval").json()["id"]

        def waiting() -> bool:
            got = httpx.get(f"{url}/runtime/webhooks/durabletask/instances/{iid}").json()
            return "waiting_until" in str(got.get("customStatus"))

        eventually_sync(waiting, 60, "the approval to wait")
    port = free_port()
    log = tmp_path / "dashboard.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "host",
                "dashboard",
                "--connection",
                "AzureWebJobsStorage",
                "--hub",
                hub,
                "--port",
                str(port),
            ],
            cwd=str(tmp_path),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def serving() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"{base}/dashboard", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        eventually_sync(serving, 60, "the standalone dashboard", interval=0.2)
        assert f"http://localhost:{port}/dashboard" in log.read_text()
        page.goto(f"{base}/dashboard")
        expect(page.locator(f'#instances tr[data-instance="{iid}"]')).to_have_attribute(
            "data-status", "Running"
        )
        expect(page.locator("header .hub")).to_contain_text("standalone")
        page.goto(f"{base}/dashboard/instance?id={iid}")
        expect(page.locator("#why-sentence")).to_contain_text("timer")
        expect(page.locator("#why-source")).to_have_count(0)  # no app, no code lines
        page.goto(f"{base}/dashboard/functions")
        expect(page.locator("main")).to_contain_text("the app is not loaded")
        page.click("header nav a[href$='/hub']")
        expect(page.locator("#partitions tbody tr")).to_have_count(4)
    finally:
        proc.terminate()
        proc.wait(20)
