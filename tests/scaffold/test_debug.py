"""``start --debug=PORT``: a debugpy listener that answers the Debug Adapter Protocol, and breakpoints
set through it stop in an HTTP function, an orchestrator and an activity."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_helpers import REPO, env, host, init_app, set_storage
from dap import DapClient
from waiting import eventually, eventually_sync

from host.storage.azurite import free_port

pytestmark = pytest.mark.subprocess


@pytest.fixture
def started(tmp_path: Path, azurite_connection_string: str) -> Iterator[tuple[int, int]]:
    app = init_app(tmp_path / "app")
    set_storage(app, azurite_connection_string)
    port, debug_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "host", "start", "--no-azurite", "-p", str(port), f"--debug={debug_port}"],
        cwd=app,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield port, debug_port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_debug_port_answers_dap_initialize_and_the_app_serves(started: tuple[int, int]) -> None:
    port, debug_port = started

    def hello() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/hello?name=Ada", timeout=5).text == "Hello, Ada!"
        except httpx.HTTPError:
            return False

    await eventually(hello, timeout=60, what="the generated app to answer")
    dap = DapClient(debug_port)
    try:
        response = dap.request("initialize", {"adapterID": "debugpy", "clientID": "pytest"})
    finally:
        dap.close()
    assert response["type"] == "response" and response["command"] == "initialize"
    assert response["success"] is True


def test_without_debugpy_the_message_says_what_to_install(tmp_path: Path) -> None:
    app = init_app(tmp_path / "app")
    blocker = tmp_path / "blocker" / "debugpy"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed (simulated)')\n")
    result = subprocess.run(
        [sys.executable, "-m", "host", "start", "--no-azurite", "--debug"],
        cwd=app,
        env={**env(), "PYTHONPATH": f"{blocker.parent}:{REPO}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "--debug needs debugpy: python -m pip install 'funchost[debug]'" in result.stderr
    assert "with --debug: wait for the debugger to attach" in host("start", "--help", cwd=app).stdout


def _line_of(source: Path, text: str) -> int:
    return next(i for i, line in enumerate(source.read_text().splitlines(), 1) if text in line)


def test_breakpoints_stop_in_http_function_orchestrator_and_activity(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    app = init_app(tmp_path / "app")
    assert host("new", "-t", "durable", "-n", "flow", cwd=app).returncode == 0
    set_storage(app, azurite_connection_string, hub=f"Debug{free_port()}")
    script = (app / "function_app.py").resolve()
    lines = {
        "http": _line_of(script, 'await client.start_new("flow")'),
        "orchestrator": _line_of(script, 'result1 = yield context.call_activity("flow_hello"'),
        "activity": _line_of(script, 'return f"Hello {city}"'),
    }
    port, debug_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "host",
            "start",
            "--no-azurite",
            "-p",
            str(port),
            f"--debug={debug_port}",
            "--debug-wait",
        ],
        cwd=app,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dap: DapClient | None = None
    try:
        dap = _attach(debug_port, script, sorted(lines.values()))
        result: dict[str, httpx.Response] = {}
        caller = threading.Thread(
            target=lambda: result.setdefault(
                "start", httpx.post(f"http://127.0.0.1:{port}/api/orchestrators/flow", timeout=120)
            )
        )
        caller.start()
        stopped_at: list[int] = []
        while not set(lines.values()) <= set(stopped_at):
            thread = dap.wait_event("stopped")["body"]["threadId"]
            frames = dap.request("stackTrace", {"threadId": thread, "levels": 1})["body"]["stackFrames"]
            stopped_at.append(frames[0]["line"])
            assert frames[0]["source"]["path"] == str(script)
            if set(lines.values()) <= set(stopped_at):
                dap.request("setBreakpoints", {"source": {"path": str(script)}, "breakpoints": []})
            dap.request("continue", {"threadId": thread})
        assert stopped_at[0] == lines["http"]  # the starter runs first
        caller.join(timeout=120)
        status_url = result["start"].json()["statusQueryGetUri"]

        def completed() -> bool:
            return httpx.get(status_url, timeout=10).json()["runtimeStatus"] == "Completed"

        eventually_sync(completed, timeout=60, what="the orchestration to complete after the breakpoints")
    finally:
        if dap is not None:
            dap.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _attach(port: int, script: Path, lines: list[int]) -> DapClient:
    """Connect as VS Code does: initialize, attach, breakpoints, configurationDone."""

    def connect() -> DapClient | None:
        try:
            return DapClient(port)
        except OSError:
            return None

    dap = eventually_sync(connect, timeout=60, what="the debug port to accept connections")
    dap.request(
        "initialize",
        {
            "adapterID": "debugpy",
            "clientID": "pytest",
            "linesStartAt1": True,
            "columnsStartAt1": True,
            "pathFormat": "path",
        },
    )
    attach = dap.send("attach", {"justMyCode": True, "subProcess": False})
    dap.wait_event("initialized")
    response = dap.request(
        "setBreakpoints", {"source": {"path": str(script)}, "breakpoints": [{"line": n} for n in lines]}
    )
    assert all(b["verified"] for b in response["body"]["breakpoints"]), response
    assert dap.request("configurationDone")["success"]
    assert dap.response(attach)["success"]
    return dap
