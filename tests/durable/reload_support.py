"""A host subprocess on a durable test app whose files the tests edit (tests/reload)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from client_host_support import unique_hub
from host_process_support import host_env, host_process
from waiting import eventually_sync

API = "/runtime/webhooks/durabletask"

APP = """
import os
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
HERE = os.path.dirname(os.path.abspath(__file__))


@app.route(route="version")
def version(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("V1")


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("step", "a")
    second = yield context.call_activity("other", "b")
    yield context.wait_for_external_event("go")
    third = yield context.call_activity("step", "c")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("work", i) for i in range(200)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=4))
    return "woke"


@app.activity_trigger(input_name="x")
def step(x: str) -> str:
    with open(os.path.join(HERE, "runs-step.txt"), "a") as f:
        f.write(x + "\\n")
    return "OLD-" + x


@app.activity_trigger(input_name="x")
def other(x: str) -> str:
    return "OTHER-" + x


@app.activity_trigger(input_name="i")
def work(i: int) -> int:
    import time

    time.sleep(0.05)
    with open(os.path.join(HERE, "runs-work.txt"), "a") as f:
        f.write(f"{i}\\n")
    return i
"""


@dataclass
class App:
    """The app folder, its host's base URL and the host's console log."""

    root: Path
    url: str

    @property
    def log(self) -> str:
        return "".join(p.read_text() for p in self.root.glob("host-*.log"))

    @property
    def source(self) -> str:
        return (self.root / "function_app.py").read_text()

    def edit(self, old: str, new: str) -> None:
        text = self.source
        assert old in text, old
        (self.root / "function_app.py").write_text(text.replace(old, new))

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def serves(self, marker: str, timeout: float = 30.0) -> None:
        """Wait until /api/version answers ``marker`` (the edit that set it is served)."""

        def check() -> bool:
            r = self.get("/api/version")
            return r.status_code == 200 and r.text == marker

        eventually_sync(check, timeout, f"version {marker}", interval=0.05)

    def logged(self, text: str, timeout: float = 30.0) -> None:
        eventually_sync(lambda: text in self.log, timeout, f"{text!r} in the log:\n{self.log}", interval=0.1)

    def start(self, name: str, input_: Any = None) -> str:
        r = httpx.post(f"{self.url}{API}/orchestrators/{name}", json=input_, timeout=10)
        assert r.status_code == 202, r.text
        return str(r.json()["id"])

    def status(self, iid: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}{API}/instances/{iid}", timeout=10)
        return dict(r.json()) if r.status_code in (200, 202) else {}

    def wait_status(self, iid: str, statuses: Sequence[str], timeout: float = 60.0) -> dict[str, Any]:
        return dict(
            eventually_sync(
                lambda: (s := self.status(iid)) and s.get("runtimeStatus") in statuses and s,
                timeout,
                f"{iid} to be {statuses}",
                interval=0.1,
            )
        )

    def history_types(self, iid: str) -> list[str]:
        r = httpx.get(f"{self.url}{API}/instances/{iid}?showHistory=true", timeout=10)
        events = r.json().get("historyEvents") or [] if r.status_code in (200, 202) else []
        return [str(e.get("EventType")) for e in events]

    def raise_event(self, iid: str, name: str, data: Any = True) -> None:
        r = httpx.post(f"{self.url}{API}/instances/{iid}/raiseEvent/{name}", json=data, timeout=10)
        assert r.status_code == 202, r.text

    def runs(self, activity: str) -> list[str]:
        path = self.root / f"runs-{activity}.txt"
        return path.read_text().split() if path.exists() else []

    def process(self) -> psutil.Process:
        port = self.url.rsplit(":", 1)[1]
        found = [
            p
            for p in psutil.Process().children(recursive=True)
            if port in " ".join(p.cmdline()) and "host" in p.cmdline()
        ]
        assert len(found) == 1, found
        return found[0]


@contextmanager
def reload_host(
    tmp_path: Path,
    connection: str,
    *,
    code: str = APP,
    args: Sequence[str] = (),
    hub_prefix: str = "reload",
    host_json: dict[str, Any] | None = None,
) -> Iterator[App]:
    """Write the app (and ``host_json``) into ``tmp_path`` and serve it with hot reload on."""
    (tmp_path / "function_app.py").write_text(code)
    (tmp_path / "host.json").write_text(json.dumps(host_json or {"version": "2.0"}))
    env = host_env(connection, unique_hub(hub_prefix))
    with host_process(tmp_path, env, args=args) as url:
        app = App(tmp_path, url)
        app.serves("V1")
        yield app
