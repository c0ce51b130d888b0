"""The CLI: bad configuration is one line on stderr and exit code 1; unreachable storage too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from host.cli import build_parser
from host.storage.azurite import free_port

REPO = Path(__file__).resolve().parents[2]

APP = """\
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return "hi"
"""


def run_cli(*args: str, cwd: Path, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "host", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ({"version": "3.0"}, "'3.0' is an invalid value for host.json 'version'"),
        ({"logging": {}}, "missing the required 'version' property"),
    ],
)
def test_bad_host_json_is_one_line_and_exit_1(
    tmp_path: Path, host: dict, fragment: str, make_app: Callable[..., Path]
) -> None:
    make_app(tmp_path, APP, host=host)
    result = run_cli("start", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.subprocess
def test_indexing_error_is_one_line(tmp_path: Path, make_app: Callable[..., Path]) -> None:
    make_app(tmp_path, APP + "import not_installed_anywhere\n")
    result = run_cli("start", "--port", str(free_port()), "--script-root", str(tmp_path), cwd=REPO)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: function_app.py:7: <module>: ModuleNotFoundError: No module named 'not_installed_anywhere'"
    )
    # A missing package gets the hint to install the app's requirements into the host's environment.
    assert f"{sys.executable} -m pip install -r requirements.txt" in lines[0]


@pytest.mark.subprocess
def test_missing_host_json_is_core_tools_error(tmp_path: Path, make_app: Callable[..., Path]) -> None:
    make_app(tmp_path, APP)
    (tmp_path / "host.json").unlink()
    result = run_cli("start", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: Unable to find project root. Expecting to find one of host.json in project root."
    ]


@pytest.mark.subprocess
def test_a_script_root_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "my-app"
    result = run_cli("start", "--script-root", str(missing), "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: --script-root {missing}: no such folder"]


@pytest.mark.subprocess
def test_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"funchost \S+ \(Python [\d.]+, azure-functions \S+, azure-functions-durable \S+\)\n", result.stdout
    ), result.stdout


@pytest.mark.subprocess
def test_an_app_without_functions_says_no_job_functions_found(
    tmp_path: Path, make_app: Callable[..., Path], start_host: Callable[..., Any]
) -> None:
    make_app(tmp_path, "import azure.functions as func\napp = func.FunctionApp()\n")
    host = start_host(["--port", str(free_port())], tmp_path)
    host.wait_for("No job functions found.", timeout=60)
    assert host.terminate() == 0


@pytest.mark.subprocess
def test_extension_bundle_is_acknowledged_with_verbose(
    tmp_path: Path, make_app: Callable[..., Path], start_host: Callable[..., Any]
) -> None:
    bundle = {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    make_app(tmp_path, APP, host={"version": "2.0", "extensionBundle": bundle})
    quiet = start_host(["--port", str(free_port())], tmp_path)
    quiet.wait_for("Host started", timeout=60)
    assert "extensionBundle" not in quiet.output
    assert quiet.terminate() == 0
    verbose = start_host(["--port", str(free_port()), "--verbose"], tmp_path)
    verbose.wait_for("Host started", timeout=60)
    assert (
        "host.json extensionBundle 'Microsoft.Azure.Functions.ExtensionBundle' [4.*, 5.0.0) is not "
        "needed here: the bindings are built in"
    ) in verbose.output
    assert verbose.terminate() == 0


@pytest.mark.subprocess
def test_unreachable_storage_fails_fast(tmp_path: Path, make_app: Callable[..., Path]) -> None:
    port = free_port()
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    make_app(tmp_path, APP, values={"AzureWebJobsStorage": conn})
    result = run_cli("start", "--no-azurite", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "AzureWebJobsStorage is not reachable" in lines[0]
    assert "AccountKey" not in lines[0] and "Eby8" not in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.subprocess
def test_port_in_use(tmp_path: Path, make_app: Callable[..., Path]) -> None:
    import socket

    make_app(tmp_path, APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        result = run_cli("start", "--port", str(s.getsockname()[1]), cwd=tmp_path)
    assert result.returncode == 1
    assert "is unavailable" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_parser_options() -> None:
    args = build_parser().parse_args(
        [
            "start",
            "--script-root",
            "app",
            "-p",
            "7090",
            "--functions",
            "a",
            "b",
            "--cors",
            "*",
            "--verbose",
            "--no-azurite",
            "--enable-auth",
        ]
    )
    assert (args.script_root, args.port, args.functions, args.cors) == ("app", 7090, ["a", "b"], "*")
    assert args.verbose and args.no_azurite and args.enable_auth
