"""``python -m host start`` reloads the app on a save: real hosts, real file edits, the session's
Azurite. Each test waits for the reload by polling a route whose answer the edit changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from reload_support import APP, reload_host

pytestmark = pytest.mark.subprocess

HOUR_LOCKS = {
    "extensions": {"durableTask": {"storageProvider": {"controlQueueVisibilityTimeout": "01:00:00"}}}
}


def test_a_route_added_while_running_is_served(tmp_path: Path, azurite_connection_string: str) -> None:
    def version_calls() -> int:
        functions = app.get("/admin/host/functions").json()["functions"]
        return int(next(f["counters"]["invocations"] for f in functions if f["name"] == "version"))

    with reload_host(tmp_path, azurite_connection_string) as app:
        assert app.get("/api/added").status_code == 404
        calls = version_calls()
        assert calls >= 1
        app.edit(
            '@app.orchestration_trigger(context_name="context")\ndef chain',
            '@app.route(route="added")\ndef added(req: func.HttpRequest) -> func.HttpResponse:\n'
            '    return func.HttpResponse("new")\n\n\n'
            '@app.orchestration_trigger(context_name="context")\ndef chain',
        )
        app.logged("+ added:")
        r = app.get("/api/added")
        assert r.status_code == 200 and r.text == "new"
        assert version_calls() >= calls  # the invocation counters survive the reload


def test_an_orchestrator_saved_without_yield_is_pointed_out(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string) as app:
        app.edit(
            '@app.orchestration_trigger(context_name="context")\ndef chain',
            '@app.orchestration_trigger(context_name="context")\ndef plain(context):\n'
            '    context.call_activity("step", "x")\n    return "done"\n\n\n'
            '@app.orchestration_trigger(context_name="context")\ndef chain',
        )
        app.logged("+ plain: orchestrationTrigger")
        app.logged("Orchestrator 'plain' (function_app.py:")
        assert app.log.count("Orchestrator 'plain'") == 1


def test_helper_modules_in_folders_are_imported_afresh(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "words.py").write_text('WORD = "V1"\n')
    code = APP.replace(
        'return func.HttpResponse("V1")',
        "from shared.words import WORD\n\n    return func.HttpResponse(WORD)",
    )
    with reload_host(tmp_path, azurite_connection_string, code=code) as app:
        (tmp_path / "shared" / "words.py").write_text('WORD = "V2"\n')
        app.serves("V2")  # a folder of the app: watched, and its module imported again
        (tmp_path / "later").mkdir()  # a folder made while the host runs
        (tmp_path / "later" / "more.py").write_text('WORD = "V3"\n')
        app.edit("from shared.words import WORD", "from later.more import WORD")
        app.serves("V3")
        (tmp_path / "later" / "more.py").write_text('WORD = "V4"\n')
        app.serves("V4")


def test_an_activity_changed_mid_orchestration_finishes_with_the_new_code(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string) as app:
        iid = app.start("chain")
        app.wait_status(iid, ["Running"])
        from waiting import eventually_sync

        eventually_sync(lambda: app.runs("step") == ["a"], 30, "the first step")
        app.logged("Host started")
        app.edit('return "OLD-" + x', 'return "NEW-" + x')
        app.edit('HttpResponse("V1")', 'HttpResponse("V2")')
        app.serves("V2")
        app.logged("~ step")
        app.raise_event(iid, "go")
        done = app.wait_status(iid, ["Completed", "Failed"])
        assert done["runtimeStatus"] == "Completed", done
        assert done["output"] == ["OLD-a", "OTHER-b", "NEW-c"]  # recorded results stay, new code runs


def test_an_import_error_keeps_the_old_app_until_the_fix(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string) as app:
        app.edit("import os\n", "import os\nimport no_such_module_here\n")
        app.logged("function_app.py:3: <module>: ModuleNotFoundError: No module named 'no_such_module_here'")
        failure = [line for line in app.log.splitlines() if "no_such_module_here" in line]
        assert len(failure) == 1  # one line, no traceback
        assert "keeps serving" in failure[0] or "old app" in app.log
        app.serves("V1")  # still the old app
        app.edit("import no_such_module_here\n", "")
        app.edit('HttpResponse("V1")', 'HttpResponse("V2")')
        app.serves("V2")


def test_a_reload_during_a_fan_out_loses_nothing_and_runs_nothing_twice(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    from waiting import eventually_sync

    # Locks of an hour: work a reload left locked (instead of handing it back) would never finish here.
    with reload_host(tmp_path, azurite_connection_string, host_json={"version": "2.0", **HOUR_LOCKS}) as app:
        iid = app.start("fan_out")
        eventually_sync(lambda: len(app.runs("work")) >= 10, 60, "the fan-out to be running")
        app.edit('HttpResponse("V1")', 'HttpResponse("V2")')
        app.serves("V2")
        assert len(app.runs("work")) < 200, "the reload came too late to test anything"
        done = app.wait_status(iid, ["Completed", "Failed"], timeout=120)
        assert done["runtimeStatus"] == "Completed", done
        assert done["output"] == sum(range(200))
        runs = app.runs("work")
        assert sorted(map(int, runs)) == list(range(200)), "an activity ran twice or never"


def test_a_durable_timer_armed_before_a_reload_fires_on_time(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    from waiting import eventually_sync

    with reload_host(tmp_path, azurite_connection_string, host_json={"version": "2.0", **HOUR_LOCKS}) as app:
        iid = app.start("sleeper")
        eventually_sync(lambda: "TimerCreated" in app.history_types(iid), 30, "the timer to be created")
        app.edit('HttpResponse("V1")', 'HttpResponse("V2")')
        app.serves("V2")
        # The timer was armed in memory by the old engine; with locks of an hour, only a timer
        # handed back at its fire time (not at fire time + lock) lets this finish.
        done = app.wait_status(iid, ["Completed", "Failed"], timeout=60)
        assert done["output"] == "woke", done


def test_fifty_reloads_leak_no_memory_threads_or_sockets(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    with reload_host(tmp_path, azurite_connection_string) as app:
        proc = app.process()
        for i in range(2, 7):  # warm up: first reloads import what later ones reuse
            app.edit(f'HttpResponse("V{i - 1}")', f'HttpResponse("V{i}")')
            app.serves(f"V{i}")
        rss, threads, sockets = proc.memory_info().rss, proc.num_threads(), len(proc.net_connections())
        for i in range(7, 57):
            app.edit(f'HttpResponse("V{i - 1}")', f'HttpResponse("V{i}")')
            app.serves(f"V{i}")
        grown = proc.memory_info().rss - rss
        assert grown < 40 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB over 50 reloads"
        assert proc.num_threads() <= threads + 2, (threads, proc.num_threads())
        assert len(proc.net_connections()) <= sockets + 4, (sockets, proc.net_connections())


def test_a_host_json_change_applies_and_no_reload_turns_it_off(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    import json

    from waiting import eventually_sync

    with reload_host(tmp_path, azurite_connection_string) as app:
        assert app.get("/admin/reload").status_code == 200
        (tmp_path / "host.json").write_text(
            json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": "v"}}})
        )
        eventually_sync(lambda: app.get("/v/version").status_code == 200, 30, "the new route prefix")
        assert app.get("/api/version").status_code == 404
        assert app.get("/admin/reload").json()["changedFiles"] == ["host.json"]
        # A misspelled key saved while the host runs is named on the console, as at start.
        (tmp_path / "host.json").write_text(
            json.dumps({"version": "2.0", "extensions": {"http": {"routePrefx": "w"}}})
        )
        app.logged("host.json: 'extensions.http.routePrefx' is not a setting: did you mean")
    second = tmp_path / "second"
    second.mkdir()
    with reload_host(second, azurite_connection_string, args=["--no-reload"]) as app:
        assert app.get("/admin/reload").status_code == 404  # no reloader: nothing watches the files
