"""Helpers of the dashboard's browser tests."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_sample_app(target: Path) -> Path:
    """The repository's sample app (function_app.py, samples/, host.json) in ``target``."""
    repo = Path(__file__).resolve().parents[2]
    target.mkdir(parents=True, exist_ok=True)
    for name in ("function_app.py", "host.json"):
        shutil.copy(repo / name, target / name)
    shutil.copytree(repo / "samples", target / "samples", ignore=shutil.ignore_patterns("__pycache__"))
    return target
