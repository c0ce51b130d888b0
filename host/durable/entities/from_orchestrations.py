"""Entity requests sent by orchestrations and the responses they get back (pure).

The message format itself lives in :mod:`host.durable.entities.requests` (shared with the
entity engine); this module adds what the orchestration side needs (docs/protocol.md, "Entities"):

* a *deterministic* request id per (instance, execution, task id), so that an episode that is
  re-run after a crash sends the same id and a response to the first attempt still matches;
* per-target ordering labels: every request an execution sends to one entity gets a strictly
  larger ``Timestamp`` than the previous one and names it as ``Predecessor`` (the entity's
  message sorter delivers in that order and drops anything not newer). The labels are
  recomputed from the ``EventSent`` events in history, so they are the same on replay;
* building the request for a ``call_entity``/``signal_entity`` action;
* recognising a response event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from host.durable.entities.ids import REQUEST_EVENT
from host.durable.entities.requests import RequestMessage, input_from_json_text
from host.durable.entities.ticks import MIN_TICKS, parse_ticks, ticks_from_datetime

_NAMESPACE = uuid.UUID("6f1c3b9e-8d52-4c4f-9a53-0f2b7f0c1d11")
_EVENT_SENT = 14


def request_id(instance_id: str, execution_id: str, task_id: int) -> str:
    """The GUID of the request an orchestration sends for task ``task_id`` (deterministic)."""
    return str(uuid.uuid5(_NAMESPACE, f"{instance_id}\n{execution_id}\n{task_id}"))


def last_request_times(events: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Ticks of the last unscheduled request sent to each entity, from ``EventSent`` events."""
    last: dict[str, int] = {}
    for e in events:
        if e.get("EventType") != _EVENT_SENT or e.get("Name") != REQUEST_EVENT:
            continue
        try:
            body = json.loads(e.get("Input") or "null")
            ticks = parse_ticks(body.get("Timestamp")) if isinstance(body, dict) else MIN_TICKS
        except (ValueError, AttributeError):
            continue
        target = str(e.get("InstanceId") or "")
        if ticks > last.get(target, MIN_TICKS):
            last[target] = ticks
    return last


def orchestration_request(
    *,
    operation: str,
    input_text: str | None,
    is_signal: bool,
    instance_id: str,
    execution_id: str,
    task_id: int,
    now: datetime,
    target: str | None = None,
    last_sent: dict[str, int] | None = None,
) -> RequestMessage:
    """The request for a CallEntity/SignalEntity action (``input_text`` = the action's JSON text).

    ``Timestamp`` is ``now`` plus ``task_id`` ticks (strictly increasing within an episode);
    with ``target`` and ``last_sent`` (see :func:`last_request_times`, updated here) it is also
    above the previous request to that entity, which becomes the ``Predecessor``.
    """
    timestamp = ticks_from_datetime(now) + task_id
    predecessor = MIN_TICKS
    if target is not None and last_sent is not None:
        previous = last_sent.get(target, MIN_TICKS)
        if previous != MIN_TICKS:
            predecessor = previous
            timestamp = max(timestamp, previous + 1)
        last_sent[target] = timestamp
    return RequestMessage(
        operation=operation,
        id=request_id(instance_id, execution_id, task_id),
        is_signal=is_signal,
        input=input_from_json_text(input_text),
        parent_instance_id=instance_id,
        parent_execution_id=execution_id,
        timestamp=timestamp,
        predecessor=predecessor,
    )


def request_id_of(event_sent_input: str | None) -> str | None:
    """The request id inside an ``EventSent.Input`` (None if it is not a request)."""
    try:
        body = json.loads(event_sent_input or "null")
    except ValueError:
        return None
    rid = body.get("id") if isinstance(body, dict) else None
    return str(rid) if rid else None


def looks_like_response(name: str, input_text: str | None) -> bool:
    """Whether an ``EventRaised`` is (most likely) an entity response: GUID name, ``{"result": …}``."""
    try:
        uuid.UUID(name)
        body = json.loads(input_text or "null")
    except ValueError:
        return False
    return isinstance(body, dict) and "result" in body
