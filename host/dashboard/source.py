"""What one dashboard reads: a task hub through its management, and the app when it is loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from host.durable.inspect.inspector import HubInspector
from host.durable.instance_report import EngineView
from host.durable.management import Management
from host.durable.replay.source import OrchestratorHandle
from host.http.auth import KeyStore
from host.indexing.registry import Registry
from host.invocation_stats import FunctionOverview


def _no_keys() -> KeyStore | None:
    return None


@dataclass
class DashboardSource:
    """``management`` and ``inspector``: the hub's operations and its read-only views (``None``
    for an app without durable functions); ``functions``: the app's functions with their
    invocation counters (``None`` when the dashboard runs standalone, straight from a task hub);
    ``keys``: the app's keys under ``--enable-auth`` (``None``: no login); ``engine``, ``handles``
    and ``app_root``: what explains where an instance's code waits (the host's engine, the
    app's orchestrator handles, the app folder), ``None`` standalone."""

    management: Management | None
    inspector: HubInspector | None = None
    functions: Callable[[], FunctionOverview] | None = None
    registry: Registry | None = None
    keys: Callable[[], KeyStore | None] = field(default=_no_keys)
    standalone: bool = False
    engine: EngineView | None = None
    handles: Callable[[str], OrchestratorHandle | None] | None = None
    app_root: Path | None = None
