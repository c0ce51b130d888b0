"""Helpers of the dashboard's browser tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def copy_sample_app(target: Path) -> Path:
    """The repository's sample app (function_app.py, samples/, host.json) in ``target``."""
    repo = Path(__file__).resolve().parents[2]
    target.mkdir(parents=True, exist_ok=True)
    for name in ("function_app.py", "host.json"):
        shutil.copy(repo / name, target / name)
    shutil.copytree(repo / "samples", target / "samples", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def chromium_path() -> str:
    """The browser the tests drive; skips (locally) or fails (in CI) when it is missing."""
    path = os.environ.get("FUNCHOST_CHROMIUM", "/usr/bin/chromium")
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    reason = f"Chromium is not installed at {path} (apt-get install chromium; .ci/run does it)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)
