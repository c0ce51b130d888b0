"""The replay-safety check of a reload: an instance waiting in ``chain`` (two activities done, an
external event awaited) is replayed against each saved version; a renamed activity and a swapped
order are reported with both actions and the line the new code yields at, a compatible change is
not; ``--reload-strict`` keeps the old app; the same report as JSON from the admin endpoints."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from reload_support import API, App, reload_host
from waiting import eventually_sync

from host.http.auth import KEY_HEADER, read_keys

pytestmark = pytest.mark.subprocess

RENAME = (
    'second = yield context.call_activity("other", "b")',
    'second = yield context.call_activity("other2", "b")',
)
RENAME_FN = ("def other(x: str)", "def other2(x: str)")
FIRST = '    first = yield context.call_activity("step", "a")\n'
SECOND = '    second = yield context.call_activity("other", "b")\n'
SWAP = (FIRST + SECOND, SECOND + FIRST)


def _line_of(app: App, text: str) -> int:
    return next(i for i, line in enumerate(app.source.splitlines(), 1) if text in line)


def _waiting_instance(app: App) -> str:
    """Start ``chain`` and wait until both activities are in its history (it awaits ``go``)."""
    iid = app.start("chain")

    def two_done() -> bool:
        r = httpx.get(f"{app.url}{API}/instances/{iid}?showHistory=true", timeout=10)
        events = r.json().get("historyEvents") or [] if r.status_code in (200, 202) else []
        return sum(e.get("EventType") == "TaskCompleted" for e in events) == 2

    eventually_sync(two_done, 60, "both activities of chain to complete", interval=0.1)
    return iid


def test_renamed_activity_and_swapped_order_are_reported_a_compatible_change_is_not(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string) as app:
        iid = _waiting_instance(app)

        app.edit('context.call_activity("step", "c")', 'context.call_activity("step", "c2")')
        app.edit('HttpResponse("V1")', 'HttpResponse("V2")')
        app.serves("V2")
        app.logged("Replay check: 1 unfinished instance(s) replay on the new code")
        assert "breaks" not in app.log

        app.edit(*RENAME)
        app.edit(*RENAME_FN)
        app.edit('HttpResponse("V2")', 'HttpResponse("V3")')
        app.serves("V3")
        line = _line_of(app, RENAME[1])
        app.logged(
            f"{iid} (chain): action #1 was call_activity('other'), the new code does "
            f"call_activity('other2') at function_app.py:{line}"
        )
        assert "Replay check: the new code breaks 1 of 1 unfinished instance(s)" in app.log

        app.edit(RENAME[1], RENAME[0])
        app.edit(*SWAP)
        app.edit('HttpResponse("V3")', 'HttpResponse("V4")')
        app.serves("V4")
        line = _line_of(app, 'second = yield context.call_activity("other", "b")')
        app.logged(
            f"{iid} (chain): action #0 was call_activity('step'), the new code does "
            f"call_activity('other') at function_app.py:{line}"
        )


def test_reload_strict_keeps_the_old_app_and_the_admin_endpoints_report(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string, args=["--reload-strict"]) as app:
        assert app.get("/admin/reload").json()["status"] == "none"
        iid = _waiting_instance(app)
        app.edit(*RENAME)
        app.edit(*RENAME_FN)
        app.edit('HttpResponse("V1")', 'HttpResponse("V2")')
        line = _line_of(app, RENAME[1])
        app.logged("Reload refused: --reload-strict")
        app.serves("V1")  # the old code still serves
        report = app.get("/admin/reload").json()
        assert report["status"] == "refused"
        check = report["replayCheck"]
        assert check["ok"] is False and check["checked"] == 1 and check["unchecked"] == 0
        (found,) = check["divergences"]
        assert found["instanceId"] == iid and found["source"] == f"function_app.py:{line}"
        assert (found["recorded"], found["now"]) == ("call_activity('other')", "call_activity('other2')")
        now = app.get("/admin/reload/check").json()  # the code that runs now: the old one
        assert now["ok"] is True and now["checked"] == 1

        app.edit(RENAME[1], RENAME[0])  # compatible again: loads
        app.edit(RENAME_FN[1], RENAME_FN[0])
        app.serves("V2")
        assert app.get("/admin/reload").json()["status"] == "reloaded"
        app.raise_event(iid, "go")
        assert app.wait_status(iid, ["Completed", "Failed"])["runtimeStatus"] == "Completed"


def test_the_reload_admin_endpoints_need_the_master_key_with_auth(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string, args=["--enable-auth"]) as app:
        keys = read_keys(tmp_path)
        assert keys is not None
        for path in ("/admin/reload", "/admin/reload/check"):
            assert app.get(path).status_code == 401
            r = httpx.get(app.url + path, headers={KEY_HEADER: keys.master_key}, timeout=10)
            assert r.status_code == 200, r.text
        assert r.json() == {
            "ok": True,
            "checked": 0,
            "unchecked": 0,
            "uncheckedIsLowerBound": False,
            "divergences": [],
            "errors": [],
        }
