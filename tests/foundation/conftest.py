"""Helpers for foundation tests that run the host as a subprocess (``python -m host start``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def write_app(
    root: Path, code: str, *, values: dict[str, str] | None = None, host: dict | None = None
) -> Path:
    """An app folder: host.json, local.settings.json (``values``) and function_app.py."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "host.json").write_text(json.dumps(host or {"version": "2.0"}))
    (root / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **(values or {})}})
    )
    (root / "function_app.py").write_text(code)
    return root


class HostProcess:
    """A ``python -m host start`` child whose output is collected line by line."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
        env["PYTHONPATH"] = str(REPO)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host", "start", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.eof = False
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.eof = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        """Until a line contains ``text``; fails with the output so far on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.eof:
                    raise AssertionError(f"no line with {text!r} (exit {self.proc.poll()}):\n{self.output}")
                self._changed.wait(min(remaining, 0.2))

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def make_app() -> Callable[..., Path]:
    """:func:`write_app`."""
    return write_app


@pytest.fixture
def start_host() -> Iterator[Callable[..., HostProcess]]:
    """``start_host(args, cwd)`` starts a host child; any still running is killed at the end."""
    started: list[HostProcess] = []

    def start(args: list[str], cwd: Path) -> HostProcess:
        started.append(HostProcess(args, cwd))
        return started[-1]

    yield start
    for p in started:
        p.kill()
