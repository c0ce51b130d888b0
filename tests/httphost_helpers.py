"""Helpers for in-process HTTP tests: a registry from a ``func.FunctionApp``, a minimal runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.functions as func
from starlette.routing import BaseRoute

from host.config.settings import HostSettings
from host.http.auth import load_keys
from host.indexing.registry import Binding, FunctionInfo, Registry
from host.invocation import Invoker
from host.invocation_stats import InvocationStats

_INDEXED: dict[int, tuple[func.FunctionApp, Registry]] = {}


def registry_from(app: func.FunctionApp) -> Registry:
    """The registry the loader would build (``get_functions()`` is not idempotent: once per app)."""
    cached = _INDEXED.get(id(app))
    if cached is not None and cached[0] is app:
        return cached[1]
    infos = []
    for fn in app.get_functions():
        bindings = []
        for raw in fn.get_raw_bindings():
            data = json.loads(raw)
            btype, name = str(data.pop("type")), str(data.pop("name"))
            bindings.append(Binding(name, btype, str(data.pop("direction", "IN")).lower(), data))
        trigger = next(b for b in bindings if b.type.endswith("Trigger"))
        infos.append(
            FunctionInfo(
                str(fn.get_function_name()), trigger, bindings, fn.get_user_function(), sdk_function=fn
            )
        )
    registry = Registry(infos)
    _INDEXED[id(app)] = (app, registry)
    return registry


class Runtime:
    """The part of ``HostRuntime`` the HTTP layer reads."""

    def __init__(
        self, app: func.FunctionApp, root: Path, *, environ: dict[str, str] | None = None, **settings: Any
    ) -> None:
        self.settings = HostSettings(script_root=root, host_json={}, environ=environ or {}, **settings)
        self.registry = registry_from(app)
        self.invoker = Invoker(self.registry, settings=self.settings)
        self.base_url = "http://127.0.0.1:7071"
        self.routes: list[BaseRoute] = []
        self.state = "Running"
        self.host_id = "testhost-1"
        self.errors: list[str] = []
        self.storage_problem: str | None = None
        self.uptime_ms = 5
        self.keys = load_keys(self.settings, self.registry)

    @property
    def function_stats(self) -> InvocationStats:
        """The invoker's per-function counters (``GET /admin/host/functions``)."""
        return self.invoker.stats
