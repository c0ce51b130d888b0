"""Where an orchestrator's generator is suspended: its source line (pure, no I/O).

:class:`TracedOrchestrator` wraps an SDK orchestrator handle (``Orchestrator.create``) once,
when the app is loaded: the user's generator function is called through a recorder that keeps
the generator, so after each call of the handle :meth:`TracedOrchestrator.take_position`
reads the line of the ``yield`` it is suspended at (following ``yield from`` into helpers).
That costs one extra Python call per episode; the SDK sees the same function results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, GeneratorType
from typing import Any

#: The SDK's handle: context in, orchestrator state JSON out.
OrchestratorHandle = Callable[[Any], str]


@dataclass(frozen=True)
class SourceLine:
    """A line of the orchestrator's source: ``file`` as the code object names it."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def relative_to(self, root: Path) -> SourceLine:
        """The same line with ``file`` relative to ``root`` when it lies under it."""
        try:
            rel = Path(self.file).resolve().relative_to(root.resolve())
        except (ValueError, OSError):
            return self
        return SourceLine(rel.as_posix(), self.line, self.function)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function}


@dataclass(frozen=True)
class CodePosition:
    """Where the code of an instance stopped after its last run, and what it waits for."""

    source: SourceLine | None
    open_events: dict[str, int]
    """External event names the code waits for, with how many waits."""
    history_length: int
    """The length of the history this holds for (a longer history means it is out of date)."""


def suspended_at(generator: GeneratorType[Any, Any, Any]) -> SourceLine | None:
    """The innermost frame of a suspended generator (None once it has finished)."""
    frame: FrameType | None = generator.gi_frame
    inner: Any = generator.gi_yieldfrom
    while isinstance(inner, GeneratorType) and inner.gi_frame is not None:
        frame, inner = inner.gi_frame, inner.gi_yieldfrom
    if frame is None:
        return None
    code = frame.f_code
    return SourceLine(os.path.normpath(code.co_filename), frame.f_lineno, code.co_name)


class TracedOrchestrator:
    """An orchestrator handle that remembers where its generator stopped after each call."""

    def __init__(self, handle: OrchestratorHandle, user_function: Callable[..., Any]) -> None:
        from azure.durable_functions import Orchestrator

        self.orchestrator_function = user_function
        """The user's generator function (the name the SDK's handle uses for it)."""
        self._last: GeneratorType[Any, Any, Any] | None = None
        inner = Orchestrator.create(self._record)
        # What the decorator declared for context.get_input() (the SDK's own handle attribute).
        inner._df_input_type = handle.__dict__.get("_df_input_type")
        self._inner = inner

    def _record(self, context: Any) -> Any:
        result = self.orchestrator_function(context)
        if isinstance(result, GeneratorType):
            self._last = result
        return result

    def __call__(self, context: Any) -> str:
        self._last = None
        return str(self._inner(context))

    def take_position(self) -> SourceLine | None:
        """Where the generator of the last call is suspended; forgets the generator."""
        gen, self._last = self._last, None
        return None if gen is None else suspended_at(gen)


def traced(handle: OrchestratorHandle) -> OrchestratorHandle:
    """``handle`` as a :class:`TracedOrchestrator` when it is an SDK orchestrator handle."""
    if isinstance(handle, TracedOrchestrator):
        return handle
    user = handle.__dict__.get("orchestrator_function") if hasattr(handle, "__dict__") else None
    if user is None or not callable(user):
        return handle
    return TracedOrchestrator(handle, user)
