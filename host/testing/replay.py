"""Replay checks: is a code change safe for instances already in flight?

A recorded history (from a task hub, or a JSON file written by ``python -m host durable
export``) is replayed against the app's current orchestrator code; the first action that
differs from what the history recorded is reported with both actions and its position::

    report = check_file("function_app_dir", "history.json")
    assert report.ok, report.message

or in pytest, ``assert_replay_safe(app.registry, "tests/histories/approval.json")``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from host.durable.app_check import check_history as check_history  # part of the toolkit's API
from host.durable.replay import history as h
from host.durable.replay.ledger import Divergence
from host.errors import ConfigError
from host.indexing.loader import index_folder as index_folder  # part of the toolkit's API
from host.indexing.registry import Registry

EXPORT_FORMAT = "funchost.history/1"


@dataclass
class RecordedHistory:
    """One instance's history as exported: raw DurableTask.Core events."""

    instance_id: str
    name: str
    events: list[dict[str, Any]]
    execution_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": EXPORT_FORMAT,
            "instanceId": self.instance_id,
            "name": self.name,
            "executionId": self.execution_id,
            "history": [_plain(e) for e in self.events],
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "history") -> RecordedHistory:
        if isinstance(data, list):  # a bare event list
            events = data
            data = {}
        elif isinstance(data, Mapping) and isinstance(data.get("history"), list):
            events = data["history"]
        else:
            raise ConfigError(f"{source}: not an exported history (expected {{'history': [...]}})")
        started = h.find_execution_started(events) or {}
        return cls(
            instance_id=str(data.get("instanceId") or h.instance_id_of(started) or ""),
            name=str(data.get("name") or started.get("Name") or ""),
            events=[dict(e) for e in events],
            execution_id=data.get("executionId") or h.execution_id_of(started),
        )


@dataclass
class ReplayReport:
    """The outcome of replaying one history."""

    instance_id: str
    name: str
    divergence: Divergence | None = None
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.divergence is None

    @property
    def message(self) -> str:
        where = f"orchestration {self.name!r} (instance {self.instance_id})"
        d = self.divergence
        if d is None:
            return f"{where}: replays without divergence ({len(self.events)} history events)"
        return (
            f"{where}: the current code diverges from the recorded history at action "
            f"#{d.position} (task id {d.task_id}, history event #{d.history_index}):\n"
            f"  recorded: {d.expected}\n"
            f"  now:      {d.actual}"
        )


def check_recorded(registry: Registry, recorded: RecordedHistory) -> ReplayReport:
    """Replay one recorded history against ``registry``'s code."""
    divergence = check_history(registry, recorded.events, name=recorded.name or None)
    return ReplayReport(recorded.instance_id, recorded.name, divergence, recorded.events)


def load_file(path: str | os.PathLike[str]) -> RecordedHistory:
    """Read a history exported by ``python -m host durable export``."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read {p}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(f"{p} is not JSON: {e}") from None
    return RecordedHistory.from_json(data, str(p))


def write_file(recorded: RecordedHistory, path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps(recorded.to_json(), indent=1) + "\n", encoding="utf-8")


def check_file(app: Registry | str | os.PathLike[str], path: str | os.PathLike[str]) -> ReplayReport:
    """Replay the exported history at ``path`` against the app (a folder or an indexed registry)."""
    return check_recorded(_registry(app), load_file(path))


def assert_replay_safe(
    app: Registry | str | os.PathLike[str],
    histories: str | os.PathLike[str] | RecordedHistory | Iterable[str | os.PathLike[str] | RecordedHistory],
) -> None:
    """AssertionError naming the first diverging action of any of ``histories``."""
    items = [histories] if isinstance(histories, str | os.PathLike | RecordedHistory) else list(histories)
    registry = _registry(app)
    failures = []
    for item in items:
        recorded = item if isinstance(item, RecordedHistory) else load_file(item)
        report = check_recorded(registry, recorded)
        if not report.ok:
            failures.append(report.message)
    if failures:
        raise AssertionError("replay check failed:\n" + "\n".join(failures))


def _registry(app: Registry | str | os.PathLike[str]) -> Registry:
    return app if isinstance(app, Registry) else index_folder(app)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return h.format_timestamp(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
