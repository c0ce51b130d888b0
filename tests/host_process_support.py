"""``python -m host start`` as a subprocess on a free port, over the session Azurite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
from waiting import eventually_sync

from host.http.auth import KEY_HEADER, read_keys
from host.storage.azurite import free_port

REPO = Path(__file__).resolve().parents[1]


def start_host(
    script_root: Path,
    port: int,
    env: dict[str, str],
    out: IO[bytes] | IO[str],
    args: Sequence[str] = (),
    *,
    cwd: Path = REPO,
) -> subprocess.Popen[bytes]:
    """``python -m host start`` serving ``script_root`` on ``port`` (no Azurite of its own), run
    in ``cwd``, its output into ``out``; the caller waits for it and stops it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "host",
            "start",
            "--script-root",
            str(script_root),
            "--port",
            str(port),
            "--no-azurite",
            *args,
        ],
        cwd=str(cwd),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def host_env(connection: str, hub: str) -> dict[str, str]:
    """The environment of a host (and of CLI runs) on ``connection`` with task hub ``hub``."""
    return dict(
        os.environ,
        AzureWebJobsStorage=connection,
        FUNCTIONS_WORKER_RUNTIME="python",
        AzureFunctionsJobHost__extensions__durableTask__hubName=hub,
        PYTHONPATH=str(REPO),
    )


def stop_host(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM (a graceful stop), SIGKILL if it still runs after ``grace`` seconds; then reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(10)


@contextmanager
def host_process(
    script_root: Path, env: dict[str, str], *, startup: float = 60.0, args: Sequence[str] = ()
) -> Iterator[str]:
    """Start a host serving ``script_root``; yields its base URL; SIGTERM and wait at the end.

    ``args`` are more ``host start`` options; with ``--enable-auth`` the start-up probe sends the
    master key the host saved (``/admin/host/status`` needs it then).
    """
    port = free_port()
    log = script_root / f"host-{port}.log"
    with log.open("w") as out:
        proc = start_host(script_root, port, env, out, args)
    url = f"http://127.0.0.1:{port}"
    try:

        def running() -> bool:
            assert proc.poll() is None, f"host exited:\n{log.read_text()}"
            try:
                keys = read_keys(script_root)
                headers = {KEY_HEADER: keys.master_key} if keys is not None else {}
                r = httpx.get(f"{url}/admin/host/status", headers=headers, timeout=2)
            except httpx.TransportError:
                return False
            return r.status_code == 200 and r.json().get("state") == "Running"

        try:
            eventually_sync(running, startup, "the host to start", interval=0.1)
        except AssertionError as err:
            raise AssertionError(f"{err}:\n{log.read_text()}") from None
        yield url
    finally:
        stop_host(proc)
