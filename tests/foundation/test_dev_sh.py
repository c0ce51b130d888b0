"""./dev.sh: says what it installs, installs only when pyproject.toml/package-lock.json changed,
and `start` installs no test tools.

dev.sh runs for real in a copy of the repository's set-up files, with stand-ins for the Python
interpreter and npm on PATH that record what they are asked to do (no network, seconds).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

REPO = Path(__file__).resolve().parents[2]

# A stand-in for python3 (and later .venv/bin/python): records every call in $CALLS.
FAKE_PYTHON = """#!/usr/bin/env bash
echo "python $*" >> "$CALLS"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  for tool in ruff mypy; do
    printf '#!/usr/bin/env bash\\necho "%s $*" >> "$CALLS"\\n' "$tool" > "$3/bin/$tool"
    chmod +x "$3/bin/$tool"
  done
fi
if [ "$1 $2 $3" = "-m host start" ]; then echo "Functions:"; fi
exit 0
"""

FAKE_NPM = """#!/usr/bin/env bash
echo "npm $*" >> "$CALLS"
mkdir -p node_modules/.bin
printf '#!/bin/sh\\n' > node_modules/.bin/azurite && chmod +x node_modules/.bin/azurite
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("dev.sh", "pyproject.toml", "package.json", "package-lock.json"):
        shutil.copy2(REPO / name, root / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(bin_dir / "python3", FAKE_PYTHON)
    _executable(bin_dir / "npm", FAKE_NPM)
    return root


def dev(project: Path, *args: str) -> tuple[str, list[str]]:
    """Run ./dev.sh; (its output, the calls the stand-ins recorded during this run)."""
    calls = project.parent / "calls.log"
    calls.write_text("")
    env = {
        **os.environ,
        "PATH": f"{project.parent / 'bin'}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "PYTHON": "python3",
    }
    result = subprocess.run(
        ["bash", "dev.sh", *args], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr, calls.read_text().splitlines()


def pip_installs(calls: list[str]) -> list[str]:
    return [c for c in calls if " -m pip install" in c and "--upgrade pip" not in c]


def test_start_says_what_it_installs_then_skips_it_when_nothing_changed(project: Path) -> None:
    output, calls = dev(project, "start")
    assert "installing" in output and "Azurite" in output
    installs = pip_installs(calls)
    assert len(installs) == 1 and "[test]" not in installs[0], calls
    assert any(c.startswith("npm ci") for c in calls)
    assert "Functions:" in output

    output, calls = dev(project, "start")
    assert pip_installs(calls) == [] and not any(c.startswith("npm") for c in calls), calls
    assert "installing" not in output
    assert calls[-1].endswith("-m host start"), calls


def test_test_installs_the_test_tools_once_and_a_changed_pyproject_reinstalls(project: Path) -> None:
    dev(project, "start")
    output, calls = dev(project, "test", "-q")
    installs = pip_installs(calls)
    assert len(installs) == 1 and "[test]" in installs[0], calls
    assert any("-m pytest -q" in c for c in calls)

    _, calls = dev(project, "test", "-q")
    assert pip_installs(calls) == [], calls
    _, calls = dev(project, "start")  # the test install covers start
    assert pip_installs(calls) == [], calls

    with (project / "pyproject.toml").open("a") as f:
        f.write("\n# changed\n")
    output, calls = dev(project, "start")
    assert len(pip_installs(calls)) == 1 and "installing" in output
