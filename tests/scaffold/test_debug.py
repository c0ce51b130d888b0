"""``start --debug=PORT``: a debugpy listener that answers the Debug Adapter Protocol."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_helpers import REPO, env, host, init_app, set_storage
from waiting import eventually

from host.storage.azurite import free_port

pytestmark = pytest.mark.subprocess


def _dap_request(port: int, command: str, seq: int = 1) -> dict[str, object]:
    """Send one DAP request over the socket; the response to it (events before it are skipped)."""
    body = json.dumps(
        {
            "seq": seq,
            "type": "request",
            "command": command,
            "arguments": {"adapterID": "funchost-test", "clientID": "pytest"},
        }
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                assert chunk, "the debug adapter closed the connection"
                data += chunk
            header, data = data.split(b"\r\n\r\n", 1)
            length = int(header.split(b":")[1])
            while len(data) < length:
                chunk = s.recv(4096)
                assert chunk, "the debug adapter closed the connection"
                data += chunk
            message, data = dict(json.loads(data[:length])), data[length:]
            if message["type"] == "response":
                return message


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
    response = _dap_request(debug_port, "initialize")
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
