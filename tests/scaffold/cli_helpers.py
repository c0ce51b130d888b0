"""Running ``python -m host ...`` of this repository in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
    return {**clean, "PYTHONPATH": str(REPO)}


def host(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def init_app(folder: Path) -> Path:
    result = host("init", str(folder), cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    return folder


def set_storage(app: Path, connection: str, hub: str | None = None) -> None:
    settings = json.loads((app / "local.settings.json").read_text())
    settings["Values"]["AzureWebJobsStorage"] = connection
    (app / "local.settings.json").write_text(json.dumps(settings))
    if hub is not None:
        host_json: dict[str, Any] = json.loads((app / "host.json").read_text())
        host_json["extensions"] = {"durableTask": {"hubName": hub}}
        (app / "host.json").write_text(json.dumps(host_json))
