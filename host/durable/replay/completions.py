"""Completion events the dispatcher sends back to orchestrations (pure builders).

Wording follows the real system (docs/protocol.md, "Failed tasks"): the orchestrator sees
``Exception(f"{Reason} \\n {Details}")`` for a failed task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from host.durable.replay import history as h
from host.durable.replay.decisions import unknown_function_message
from host.failures import format_failure


def activity_failed(now: datetime, task_id: int, name: str, exc: BaseException) -> h.Event:
    """TaskFailed for an activity that raised: ``Activity function 'X' failed: ValueError: msg``."""
    reason = f"Activity function '{name}' failed: {type(exc).__name__}: {exc}"
    details = format_failure(exc)  # the user's frames only: it ends up in the orchestration's output
    return h.task_failed(
        now, task_id, reason, details, h.failure_details(type(exc).__name__, str(exc), details)
    )


def unknown_activity_failed(now: datetime, task_id: int, name: str) -> h.Event:
    """TaskFailed for an activity name nobody registered."""
    text = unknown_function_message(name, "activity")
    return h.task_failed(now, task_id, text, "", h.failure_details("FunctionNotFound", text))


def http_result(status_code: int, headers: Mapping[str, str | list[str]], content: str | None) -> str:
    """``TaskCompleted.Result`` of a durable HTTP call (the SDK's ``DurableHttpResponse`` JSON)."""
    return json.dumps({"statusCode": int(status_code), "headers": dict(headers), "content": content})


def http_completed(
    now: datetime, task_id: int, status_code: int, headers: Mapping[str, str | list[str]], content: str | None
) -> h.Event:
    """TaskCompleted for a finished durable HTTP call."""
    return h.task_completed(now, task_id, http_result(status_code, headers, content))


def http_failed(now: datetime, task_id: int, error: BaseException) -> h.Event:
    """TaskFailed for a durable HTTP call that could not be sent (transport error)."""
    return h.task_failed(now, task_id, f"{type(error).__name__}: {error}", "")
