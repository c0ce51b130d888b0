"""The engine's notion of time (the host's :mod:`host.clock`, re-exported for the engine)."""

from __future__ import annotations

from host.clock import Cancellable, Clock, WallClock

__all__ = ["Cancellable", "Clock", "WallClock"]
