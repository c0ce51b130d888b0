"""What one dashboard reads: a task hub through its management, and the app when it is loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from host.durable.instance_report import EngineView
from host.durable.management import Management
from host.durable.replay.source import OrchestratorHandle
from host.http.auth import KeyStore
from host.indexing.registry import Registry


def _no_keys() -> KeyStore | None:
    return None


@dataclass
class DashboardSource:
    """``management``: the hub (``None`` for an app without durable functions); ``registry``: the
    app's functions (``None`` when the dashboard runs standalone, straight from a task hub);
    ``keys``: the app's keys under ``--enable-auth`` (``None``: no login); ``engine``, ``handles``
    and ``app_root``: what explains where an instance's code waits (the host's engine, the
    app's orchestrator handles, the app folder), ``None`` standalone."""

    management: Management | None
    registry: Registry | None = None
    keys: Callable[[], KeyStore | None] = field(default=_no_keys)
    host_id: str = ""
    standalone: bool = False
    engine: EngineView | None = None
    handles: Callable[[str], OrchestratorHandle | None] | None = None
    app_root: Path | None = None
