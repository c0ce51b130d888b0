"""Calling the SDK's orchestrator handle once (pure: no I/O, no clock).

:func:`build_context_json` builds the context the Durable extension would send
(docs/protocol.md, "The context JSON"); :func:`call_orchestrator` invokes the handle and turns whatever comes
back (state JSON, an exception carrying ``$OutOfProcData$``, a plain exception) into an
:class:`SdkOutcome`, with clear messages for the common authoring mistakes.
"""

from __future__ import annotations

import inspect
import json
import re
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from host.durable.replay.actions import Action, flatten
from host.durable.replay.history import EXECUTED_BY, Event, EventType, etype, format_timespan
from host.durable.replay.model import ReplayOptions
from host.durable.replay.sdk_speedups import install as _install_sdk_speedups
from host.durable.replay.source import OrchestratorHandle, SourceLine, TracedOrchestrator
from host.failures import format_failure, is_user_frame, not_serializable

__all__ = ["OrchestratorHandle", "SdkOutcome", "build_context_json", "call_orchestrator", "sdk_view"]

_OOP_LABEL = "\n\n$OutOfProcData$:"
_NOT_JSON = re.compile(r"Object of type (\w+) is not JSON serializable")

_install_sdk_speedups()


def sdk_view(history: Sequence[Event]) -> list[Event]:
    """History as the SDK must see it: everything before the last OrchestratorStarted played,
    without the host's own members (:data:`~host.durable.replay.history.EXECUTED_BY`)."""
    last = max((i for i, e in enumerate(history) if etype(e) == EventType.OrchestratorStarted), default=-1)
    out: list[Event] = []
    for i, e in enumerate(history):
        played = i < last
        if EXECUTED_BY in e:
            e = {k: v for k, v in e.items() if k != EXECUTED_BY}
        out.append(e if bool(e.get("IsPlayed")) == played else {**e, "IsPlayed": played})
    return out


def context_input(stored_input: str | None) -> Any:
    """The context ``input`` for a stored ExecutionStarted ``Input`` (the stored text parsed)."""
    if stored_input is None:
        return None
    try:
        return json.loads(stored_input)
    except ValueError:
        return stored_input


def build_context_json(
    history: Sequence[Event],
    *,
    instance_id: str,
    input_text: str | None,
    parent_instance_id: str | None = None,
    options: ReplayOptions | None = None,
) -> str:
    """The orchestrator context JSON for ``history`` (``input_text`` = stored ExecutionStarted.Input)."""
    opts = options or ReplayOptions()
    view = sdk_view(history)
    started = next((e for e in view if etype(e) == EventType.ExecutionStarted), None)
    return json.dumps(
        {
            "history": view,
            "input": context_input(input_text),
            "instanceId": instance_id,
            "isReplaying": bool(started and started.get("IsPlayed")),
            "parentInstanceId": parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": format_timespan(opts.long_timer_interval),
            "maximumShortTimerDuration": format_timespan(opts.max_short_timer),
            "defaultHttpAsyncRequestSleepTimeMillseconds": opts.http_poll_interval_ms,
        }
    )


@dataclass
class SdkOutcome:
    """What one call of the handle produced."""

    state: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    """The failure message (user exception text or a host explanation); None on success."""
    details: str | None = None
    """The user's frames of the failure (or other details), as stored in the instance."""
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception the orchestrator raised (for a verbose log), when there was one."""
    source: SourceLine | None = None
    """The ``yield`` the generator is suspended at (handles wrapped by ``source.traced`` only)."""

    @property
    def flat_actions(self) -> list[Action]:
        return flatten(self.state.get("actions") or [])

    @property
    def is_done(self) -> bool:
        return bool(self.state.get("isDone"))


def authoring_error(handle: OrchestratorHandle) -> str | None:
    """A message for orchestrators that can never work (``async def``), checked before calling."""
    fn = getattr(handle, "orchestrator_function", handle)
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return (
            "orchestrator functions must be generator functions ('def' with 'yield'), not "
            "'async def': write 'def' and replace 'await task' with 'yield task'"
        )
    return None


def call_orchestrator(handle: OrchestratorHandle, context_json: str) -> SdkOutcome:
    """Invoke ``handle`` with the context; never raises for user-code problems."""
    mistake = authoring_error(handle)
    if mistake is not None:
        return SdkOutcome(state={"isDone": False, "actions": []}, error=mistake)
    out = _call(handle, context_json)
    if isinstance(handle, TracedOrchestrator):
        out.source = handle.take_position()
    return out


def _call(handle: OrchestratorHandle, context_json: str) -> SdkOutcome:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = handle(_orchestration_context(context_json))
        state = json.loads(text)
    except Exception as exc:  # user code or SDK failure: classify it
        return _outcome_of_exception(exc)
    out = SdkOutcome(state=state)
    if state.get("error"):
        out.error = _return_not_json(str(state["error"])) or str(state["error"])
    return out


def _return_not_json(message: str) -> str | None:
    """The message for an orchestrator output the SDK could not serialize (None: not that)."""
    found = _NOT_JSON.search(message)
    if found is None:
        return None
    return not_serializable(found.group(1), "the orchestrator")


def _orchestration_context(context_json: str) -> Any:
    try:
        import azure.functions as func

        return func.OrchestrationContext(context_json)
    except Exception:  # pragma: no cover - azure.functions is a dependency
        return context_json


def _outcome_of_exception(exc: Exception) -> SdkOutcome:
    msg = str(exc)
    cause = exc.__cause__ or exc
    details = format_failure(cause)
    if _OOP_LABEL in msg:
        friendly, _, state_text = msg.rpartition(_OOP_LABEL)
        try:
            state = json.loads(state_text)
        except ValueError:
            state = {"isDone": False, "actions": []}
        error = state.get("error") or friendly or type(cause).__name__
        user_code = any(is_user_frame(f.filename) for f in traceback.extract_tb(cause.__traceback__))
        if not user_code:  # raised by the SDK itself: serializing the orchestrator's output
            error = _return_not_json(str(cause)) or error
        return SdkOutcome(state=state, error=str(error), details=details, exception=cause)
    if isinstance(exc, AttributeError) and "_is_scheduled" in msg:
        kind = msg.split("'")[1] if msg.count("'") >= 2 else "value"
        if kind == "generator":
            error = (
                "the orchestrator yielded a generator instead of a task: call helper generators "
                "with 'yield from helper(...)', not 'yield helper(...)'"
            )
        else:
            error = (
                f"the orchestrator yielded a {kind!r} object; only tasks from the context "
                "(call_activity, create_timer, task_all, ...) can be yielded"
            )
        return SdkOutcome(
            state={"isDone": False, "actions": []}, error=error, details=details, exception=cause
        )
    return SdkOutcome(
        state={"isDone": False, "actions": []},
        error=f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__,
        details=details,
        exception=cause,
    )
