"""Entity requests sent by orchestrations and the responses they get back (pure).

The message format itself lives in :mod:`host.durable.entities_requests` (shared with the
entity engine); this module adds what the orchestration side needs (df-protocol.md §1.11):

* a *deterministic* request id per (instance, execution, task id), so that an episode that is
  re-run after a crash sends the same id and a response to the first attempt still matches;
* building the request for a ``call_entity``/``signal_entity`` action;
* recognising a response event.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from host.durable.entities_requests import RequestMessage, input_from_json_text
from host.durable.entities_time import ticks_from_datetime

_NAMESPACE = uuid.UUID("6f1c3b9e-8d52-4c4f-9a53-0f2b7f0c1d11")


def request_id(instance_id: str, execution_id: str, task_id: int) -> str:
    """The GUID of the request an orchestration sends for task ``task_id`` (deterministic)."""
    return str(uuid.uuid5(_NAMESPACE, f"{instance_id}\n{execution_id}\n{task_id}"))


def orchestration_request(*, operation: str, input_text: str | None, is_signal: bool,
                          instance_id: str, execution_id: str, task_id: int,
                          now: datetime) -> RequestMessage:
    """The request for a CallEntity/SignalEntity action (``input_text`` = the action's JSON text)."""
    return RequestMessage(
        operation=operation,
        id=request_id(instance_id, execution_id, task_id),
        is_signal=is_signal,
        input=input_from_json_text(input_text),
        parent_instance_id=instance_id,
        parent_execution_id=execution_id,
        timestamp=ticks_from_datetime(now),
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
