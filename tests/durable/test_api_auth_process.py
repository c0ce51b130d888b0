"""``python -m host start --enable-auth`` as a user runs it: the start-up probe sends the master key,
and ``python -m host durable`` finds the key (``--key``, ``$FUNCHOST_KEY`` or the app folder's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from client_host_support import FLAKY_APP, unique_hub
from host_process_support import REPO, host_env, host_process

from host.http.auth import DURABLE_SYSTEM_KEY, read_keys

pytestmark = pytest.mark.subprocess


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host", "durable", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=str(cwd),
    )


def test_an_auth_host_starts_and_the_cli_finds_its_key(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    env = host_env(azurite_connection_string, unique_hub("authp"))
    env.pop("FUNCHOST_KEY", None)
    (tmp_path / "function_app.py").write_text(FLAKY_APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    with host_process(tmp_path, env, args=["--enable-auth"]) as url:  # probed with the master key
        keys = read_keys(tmp_path)
        assert keys is not None
        system = keys.system_key(DURABLE_SYSTEM_KEY)
        assert system
        assert httpx.get(f"{url}/admin/host/status").status_code == 401
        assert httpx.get(f"{url}/runtime/webhooks/durabletask/instances/").status_code == 401

        at = ["--host-url", url]
        started = _cli(env, tmp_path, "start", "hello_sequence", "--id", "k1", "--input", '["K"]', *at)
        assert started.returncode == 0, started.stderr  # the app folder's key, found by itself
        assert f"code={system}" in json.loads(started.stdout)["statusQueryGetUri"].replace("%3D", "=")

        elsewhere = _cli(env, REPO, "show", "k1", *at)
        assert elsewhere.returncode == 1 and "401" in elsewhere.stderr and "--key" in elsewhere.stderr
        assert _cli(env, REPO, "show", "k1", *at, "--key", system).returncode == 0
        assert _cli(env, REPO, "show", "k1", *at, "--key", keys.master_key).returncode == 0
        assert _cli(dict(env, FUNCHOST_KEY=system), REPO, "show", "k1", *at).returncode == 0
        wrong = _cli(env, tmp_path, "show", "k1", *at, "--key", "wrong")
        assert wrong.returncode == 1 and "401" in wrong.stderr
