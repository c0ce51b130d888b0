"""Every shell command of the README's usage sections runs as written.

The commands are read from README.md ("The sample app", "Managing instances", "Run your own app")
and run with bash against a host serving a copy of the sample app, as a reader would run them.
What the test changes, and why:

* port 7071 becomes a free port (in the app's local.settings.json ``Host.LocalHttpPort`` and in
  URLs), so the test never collides with a host someone else runs;
* ``./dev.sh start`` is the host the test already started (dev.sh is tested on its own);
* ``<statusQueryGetUri>`` is the URL the previous command printed; ``/path/to/my-app`` and
  ``/path/to/funchost`` are the app copy and this repository;
* the storage is the session's Azurite (``AzureWebJobsStorage`` in the copy's local.settings.json,
  where the CLI's default ``--connection AzureWebJobsStorage`` finds it) and the task hub a fresh
  one (an ``AzureFunctionsJobHost__`` variable, which wins over host.json as in ``func``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from readme_blocks import REPO, commands, copy_sample_app
from waiting import eventually

from host.storage.azurite import free_port

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def prepare_app(folder: Path, port: int, connection: str) -> Path:
    """A copy of the sample app serving on ``port``."""
    app = copy_sample_app(folder)
    settings = json.loads((app / "local.settings.json").read_text())
    settings["Host"] = {"LocalHttpPort": port}
    settings["Values"]["AzureWebJobsStorage"] = connection  # the CLI must find it here too
    (app / "local.settings.json").write_text(json.dumps(settings))
    return app


def environment(tmp_path: Path, hub: str, python: str = sys.executable) -> dict[str, str]:
    """``python`` on PATH is ``python`` (a wrapper script: a venv interpreter must not be a symlink)."""
    shim = tmp_path / f"shim-{hub}"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
    (shim / "python").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}  # local.settings.json's
    return {
        **env,
        "PATH": f"{shim}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "AzureFunctionsJobHost__extensions__durableTask__hubName": hub,
    }


def sh(command: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command!r} failed ({result.returncode}):\n{output}"
    return result.stdout


async def serving(url: str) -> None:
    async def up() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(up, timeout=90, what=f"{url} to answer 200")


class Host:
    """A host started by a README command line (``python -m host start ...``)."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture
def sample_host(tmp_path: Path, azurite_connection_string: str) -> Iterator[tuple[Path, int, dict[str, str]]]:
    """The sample app served by ``python -m host start`` in its folder (what ./dev.sh start runs)."""
    port = free_port()
    app = prepare_app(tmp_path / "sample", port, azurite_connection_string)
    env = environment(tmp_path, f"Readme{port}")
    host = Host("python -m host start", app, env, tmp_path / "host.log")
    try:
        yield app, port, env
    finally:
        assert host.stop() == 0, host.log.read_text()


async def test_the_sample_app_curl_flow(sample_host: tuple[Path, int, dict[str, str]]) -> None:
    app, port, env = sample_host
    await serving(f"http://127.0.0.1:{port}/admin/host/ping")
    lines = commands("The sample app")
    assert lines[0] == "./dev.sh start" and len(lines) > 1
    previous = ""
    for line in lines[1:]:
        line = line.replace(":7071", f":{port}")
        if "<statusQueryGetUri>" in line:
            line = line.replace("<statusQueryGetUri>", json.loads(previous)["statusQueryGetUri"])
        previous = sh(line, app, env)
    assert json.loads(previous)["runtimeStatus"] in ("Pending", "Running", "Completed")


async def test_managing_instances_commands(sample_host: tuple[Path, int, dict[str, str]]) -> None:
    app, port, env = sample_host
    await serving(f"http://127.0.0.1:{port}/admin/host/ping")
    lines = commands("Managing instances")
    assert any("delete-hub --hub OldHub" in line for line in lines)
    # delete-hub deletes a hub that exists: make OldHub, straight in storage.
    sh("python -m host durable start hello_sequence --connection AzureWebJobsStorage --hub OldHub", app, env)
    outputs = [sh(line, app, env) for line in lines]
    text = "\n".join(outputs)
    assert "Hello Tokyo" in text and "Raised Approval to approval-1" in text and "Rewound empty-order" in text
    assert "Deleted task hub OldHub" in text


async def test_run_your_own_app_commands(tmp_path: Path, azurite_connection_string: str) -> None:
    port = free_port()
    app = prepare_app(tmp_path / "my-app", port, azurite_connection_string)
    (app / "requirements.txt").write_text("azure-functions\nazure-functions-durable\n")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = environment(tmp_path, f"Own{port}", python=str(venv / "bin" / "python"))
    env.pop("PYTHONPATH")  # the host must come from what the commands install
    lines = [
        line.replace("/path/to/my-app", str(app)).replace("/path/to/funchost", str(REPO))
        for line in commands("Run your own app")
    ]
    setup = [line for line in lines if " -m host start" not in line]
    starts = [line for line in lines if " -m host start" in line]
    assert setup and len(starts) == 2
    sh("set -e\n" + "\n".join(setup), tmp_path, env)
    where = sh('python -c "import host; print(host.__file__)"', tmp_path, env)
    assert where.startswith(str(venv)), where
    for i, line in enumerate(starts):
        cwd = app if line.startswith("python") and "--script-root" not in line else tmp_path
        host = Host(line, cwd, env, tmp_path / f"own-{i}.log")
        try:
            await serving(f"http://127.0.0.1:{port}/api/hello/Ada")
        finally:
            assert host.stop() == 0, host.log.read_text()
