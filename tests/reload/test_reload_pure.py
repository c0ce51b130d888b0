"""Pure parts of hot reload: which saved files reload the app, the listing diff, app modules in
sys.modules, and the replay-safety lines (the source line where the new code now yields)."""

from __future__ import annotations

import json
import sys
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from host.config.settings import load_settings
from host.durable.replay import history as h
from host.indexing.registry import Binding, FunctionInfo
from host.reload.diff import diff_functions, format_diff
from host.reload.modules import app_module_names
from host.reload.reloader import restart_needed
from host.reload.safety import InstanceDivergence, SafetyReport, check_instance
from host.reload.watch import is_relevant, watch_options


def _http(name: str, func: Any, route: str | None = None) -> FunctionInfo:
    trigger = Binding(name="req", type="httpTrigger", direction="in", settings={"route": route or name})
    return FunctionInfo(name=name, trigger=trigger, bindings=[trigger], func=func)


def test_relevant_files(tmp_path: Path) -> None:
    root = tmp_path
    assert is_relevant(root / "function_app.py", root, ())
    assert is_relevant(root / "pkg" / "helpers.py", root, ())
    assert is_relevant(root / "host.json", root, ())
    assert is_relevant(root / "local.settings.json", root, ())
    assert not is_relevant(root / "notes.txt", root, ())
    assert not is_relevant(root / "host-7071.log", root, ())
    assert not is_relevant(root / "sub" / "host.json", root, ())  # only the app's own host.json
    for ignored in (".venv", "__pycache__", ".azurite", ".git", "node_modules", ".funchost"):
        assert not is_relevant(root / ignored / "x.py", root, ()), ignored
    assert not is_relevant(root / ".funchost" / "secrets" / "host.json", root, ())
    assert not is_relevant(tmp_path.parent / "elsewhere.py", root, ())
    # watchDirectories: every file under them counts, not only Python
    assert is_relevant(root / "templates" / "mail.html", root, (root / "templates",))
    assert not is_relevant(root / "templates" / "__pycache__" / "x.pyc", root, (root / "templates",))


def test_a_virtualenv_of_any_name_is_ignored(tmp_path: Path) -> None:
    # `python -m venv venv` (or env, .env-3.11, ...): pip installing into it must not reload the app.
    root = tmp_path
    (root / "venv").mkdir()
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert not is_relevant(root / "venv" / "lib" / "python3.11" / "site-packages" / "pkg" / "m.py", root, ())
    assert not is_relevant(root / "venv" / "bin" / "activate_this.py", root, ())
    assert not is_relevant(root / "vendor" / "site-packages" / "m.py", root, ())
    assert is_relevant(root / "env" / "settings.py", root, ())  # a package named env is app code


def test_watch_options_from_host_json(tmp_path: Path) -> None:
    assert watch_options({}, tmp_path) == (True, ())
    assert watch_options({"fileWatchingEnabled": False}, tmp_path) == (False, ())
    enabled, dirs = watch_options({"watchDirectories": ["shared", "../outside"]}, tmp_path)
    assert enabled and dirs == ((tmp_path / "shared").resolve(), (tmp_path / "../outside").resolve())


def test_listing_diff_names_added_removed_and_changed_functions() -> None:
    def a(req: Any) -> str:
        return "a"

    def b1(req: Any) -> str:
        return "one"

    def b2(req: Any) -> str:
        return "two"

    def c(req: Any) -> str:
        return "c"

    def b1_moved(req: Any) -> str:
        return "one"

    old = [_http("a", a), _http("b", b1), _http("c", c)]
    new = [_http("a", a), _http("b", b2), _http("d", c)]
    diff = diff_functions(old, new)
    assert (diff.added, diff.removed, diff.changed) == (["d"], ["c"], ["b"])
    same_code_new_route = diff_functions([_http("a", a)], [_http("a", a, route="other")])
    assert same_code_new_route.changed == ["a"]
    assert diff_functions([_http("b", b1)], [_http("b", b1_moved)]).empty  # same code, other place
    text = format_diff(diff, new, "http://localhost:7071", "api")
    assert "+ d: http://localhost:7071/api/d" in " ".join(text.split())
    assert "- c" in text and "~ b" in text


def test_app_modules_are_the_app_folders_only(tmp_path: Path) -> None:
    def module(name: str, file: Path | None) -> types.ModuleType:
        m = types.ModuleType(name)
        if file is not None:
            m.__file__ = str(file)
        return m

    modules = {
        "function_app": module("function_app", tmp_path / "function_app.py"),
        "shared.util": module("shared.util", tmp_path / "shared" / "util.py"),
        "vendored": module("vendored", tmp_path / ".venv" / "lib" / "site-packages" / "vendored.py"),
        "json": json,
        "builtin_like": module("builtin_like", None),
        "host.cli": module("host.cli", tmp_path / "host" / "cli.py"),
    }
    found = app_module_names(modules, tmp_path, keep=(tmp_path / "host",))
    assert sorted(found) == ["function_app", "shared.util"]
    # By default this host's own package is kept even when the app folder holds it (the sample app).
    import host.reload.modules as own

    repo = Path(own.__file__).resolve().parents[2]
    assert not [n for n in app_module_names(sys.modules, repo) if n.split(".")[0] == "host"]


ORCH_V2 = """
import azure.durable_functions as df

def orch(context):
    first = yield context.call_activity("one", 1)
    second = yield context.call_activity("renamed", 2)
    return [first, second]

main = df.Orchestrator.create(orch)
"""


def _history(*names: str) -> list[dict[str, Any]]:
    """One episode per activity; the instance waits for the last one (as a hub records it)."""
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        h.orchestrator_started(ts),
        h.execution_started(ts, instance_id="i1", execution_id="e1", name="orch", input_text="null"),
    ]
    for i, name in enumerate(names):
        if i:
            events += [h.orchestrator_started(ts), h.task_completed(ts, i - 1, "1")]
        events += [h.task_scheduled(ts, i, name, "[1]"), h.orchestrator_completed(ts)]
    return events


def test_divergence_names_both_actions_and_the_line_the_new_code_yields_at(tmp_path: Path) -> None:
    (tmp_path / "orch_app.py").write_text(ORCH_V2)
    sys.path.insert(0, str(tmp_path))
    try:
        import orch_app
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("orch_app", None)
    trigger = Binding(name="context", type="orchestrationTrigger", direction="in", settings={})
    fn = FunctionInfo(name="orch", trigger=trigger, bindings=[trigger], func=orch_app.main)
    from host.indexing.registry import Registry

    registry = Registry([fn])
    found = check_instance(registry, "i1", "orch", _history("one", "two"), tmp_path)
    assert found is not None
    assert found.recorded == "call_activity('two')" and found.now == "call_activity('renamed')"
    assert found.source == "orch_app.py:6"  # the line of `yield context.call_activity("renamed", 2)`
    assert check_instance(registry, "i1", "orch", _history("one"), tmp_path) is None  # compatible
    report = SafetyReport(checked=3, unchecked=2, divergences=[found])
    lines = report.lines()
    assert any("i1" in line and "orch_app.py:6" in line for line in lines)
    assert any("call_activity('two')" in line and "call_activity('renamed')" in line for line in lines)
    assert "2 " in lines[-1] and "not checked" in lines[-1]
    data = report.to_json()
    assert data["checked"] == 3 and data["unchecked"] == 2 and data["ok"] is False
    assert data["divergences"][0]["source"] == "orch_app.py:6"
    assert SafetyReport(checked=1, unchecked=0, divergences=[]).to_json()["ok"] is True


def test_divergence_json_round_trip() -> None:
    d = InstanceDivergence("x", "orch", 1, 1, 4, "call_activity('a')", "call_activity('b')", "f.py:3")
    assert d.to_json()["instanceId"] == "x" and d.to_json()["recorded"] == "call_activity('a')"


def test_only_the_app_folders_get_a_recursive_watch(tmp_path: Path) -> None:
    from host.reload.watch import watched_folders

    for folder in (".venv", "venv", "node_modules", "__pycache__", ".git", "shared", "pkg"):
        (tmp_path / folder).mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "function_app.py").write_text("")
    assert watched_folders(tmp_path) == [tmp_path / "pkg", tmp_path / "shared"]


def test_a_change_of_the_storage_account_needs_a_restart_also_with_identity_settings(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    identity = {"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsStorage__accountName": "first"}
    old = load_settings(tmp_path, azurite=False, environ=dict(identity))
    same = load_settings(tmp_path, azurite=False, environ=dict(identity))
    assert restart_needed(old, same) == []
    other = load_settings(
        tmp_path, azurite=False, environ={**identity, "AzureWebJobsStorage__accountName": "second"}
    )
    assert restart_needed(old, other) == ["AzureWebJobsStorage"]
    moved = load_settings(tmp_path, port=7999, azurite=False, environ=dict(identity))
    assert restart_needed(old, moved) == ["the port"]
