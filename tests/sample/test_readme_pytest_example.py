"""The README's pytest example, run as a reader would: its pyproject.toml settings and test file
next to a copy of the sample app, in a pytest of its own. It passes, and prints no warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from readme_blocks import blocks, copy_sample_app

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_example_passes_without_warnings(tmp_path: Path, azurite_connection_string: str) -> None:
    project = copy_sample_app(tmp_path / "app")
    (setup,) = blocks("Set up", "toml")
    (project / "pyproject.toml").write_text(setup)
    test_file = next(b for b in blocks("A complete example", "python") if b.startswith("# tests/"))
    (project / "tests").mkdir()
    (project / "tests" / "test_approval.py").write_text(test_file)
    env = {**os.environ, "PYTHONPATH": str(REPO), "AzureWebJobsStorage": azurite_connection_string}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_approval.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    tests = len(re.findall(r"^async def test_", test_file, re.M))
    assert re.search(rf"\b{tests} passed\b", output), output
    assert "warning" not in output.lower(), output
