"""``init`` writes an app that indexes and whose test passes; ``new`` adds each template's
functions (and a test) to it; ``--list``; names already taken are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import env, host, init_app

from host.scaffold.templates import TEMPLATES

pytestmark = pytest.mark.subprocess


def _registry_in_subprocess(app: Path) -> dict[str, str]:
    """{function: trigger type} of the app, indexed by a fresh interpreter."""
    code = (
        "import json, sys; from host.config.settings import load_settings; "
        "from host.indexing.loader import index_app; "
        "r = index_app(load_settings(sys.argv[1], environ={})); "
        "print(json.dumps({f.name: f.trigger_type for f in r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(app)], env=env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.splitlines()[-1]))


def _pytest(app: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=app,
        env=env(),
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_init_writes_a_deployable_app_whose_test_passes(tmp_path: Path) -> None:
    app = init_app(tmp_path / "app")
    for name in (
        "function_app.py",
        "host.json",
        "local.settings.json",
        "requirements.txt",
        ".gitignore",
        ".funcignore",
        "tests/test_function_app.py",
    ):
        assert (app / name).is_file(), name
    host_json = json.loads((app / "host.json").read_text())
    assert host_json["version"] == "2.0"
    assert host_json["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    values = json.loads((app / "local.settings.json").read_text())["Values"]
    assert values == {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    }
    assert "azure-functions" in (app / "requirements.txt").read_text().split()
    assert "local.settings.json" in (app / ".funcignore").read_text().split()
    assert _registry_in_subprocess(app) == {"hello": "httpTrigger"}
    result = _pytest(app)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr
    again = host("init", str(app), cwd=tmp_path)
    assert again.returncode == 1 and "overwrites nothing" in again.stderr


def test_every_template_adds_functions_that_index_and_pass_their_tests(tmp_path: Path) -> None:
    app = init_app(tmp_path / "app")
    expected = {"hello": "httpTrigger"}
    triggers = {
        "http": ["httpTrigger"],
        "timer": ["timerTrigger"],
        "queue": ["queueTrigger"],
        "blob": ["blobTrigger"],
        "durable": ["httpTrigger", "orchestrationTrigger", "activityTrigger"],
        "entity": ["entityTrigger"],
    }
    for template in TEMPLATES:
        name = f"my_{template.name}"
        result = host("new", "--template", template.name, "--name", name, cwd=app)
        assert result.returncode == 0, result.stderr
        expected.update(zip(template.function_names(name), triggers[template.name], strict=True))
        assert (app / "tests" / f"test_{name}.py").is_file()
    assert _registry_in_subprocess(app) == expected
    source = (app / "function_app.py").read_text()
    assert "import azure.durable_functions as df" in source and "app = df.DFApp(" in source
    assert "azure-functions-durable" in (app / "requirements.txt").read_text().split()
    result = _pytest(app)
    assert result.returncode == 0 and f"{len(TEMPLATES) + 1} passed" in result.stdout, (
        result.stdout + result.stderr
    )


def test_new_refuses_a_name_already_taken_and_changes_nothing(tmp_path: Path) -> None:
    app = init_app(tmp_path / "app")
    before = (app / "function_app.py").read_text()
    result = host("new", "--template", "http", "--name", "hello", cwd=app)
    assert result.returncode == 1
    assert "already defines hello" in result.stderr
    assert (app / "function_app.py").read_text() == before
    assert host("new", "-t", "durable", "-n", "flow", cwd=app).returncode == 0
    result = host("new", "-t", "http", "-n", "flow_hello", cwd=app)  # the durable template's activity
    assert result.returncode == 1 and "flow_hello" in result.stderr
    result = host("new", "-t", "nope", "-n", "x", cwd=app)
    assert result.returncode == 1 and "choose one of: http, timer" in result.stderr


def test_new_list_shows_every_template(tmp_path: Path) -> None:
    result = host("new", "--list", cwd=tmp_path)
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == ["http", "timer", "queue", "blob", "durable", "entity"]
