"""The DTFx queue-message envelope (``MessageData``) as JSON text, and back (pure).

Events travel as DTFx-shaped dicts with an integer ``EventType``. On the wire every object
carries the .NET ``$type`` that DurableTask.AzureStorage writes (so .NET readers can bind them);
on read every ``$type`` is stripped again. Bodies that do not start with ``{`` are Base64.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from host.errors import DurableError
from host.storage.odata import format_datetime

MESSAGE_DATA_TYPE = "DurableTask.AzureStorage.MessageData"
TASK_MESSAGE_TYPE = "DurableTask.Core.TaskMessage"
ORCHESTRATION_INSTANCE_TYPE = "DurableTask.Core.OrchestrationInstance"

# EventType int -> class name in DurableTask.Core.History (ExecutionFailed has no class).
_EVENT_CLASSES: dict[int, str] = {
    0: "ExecutionStartedEvent",
    1: "ExecutionCompletedEvent",
    3: "ExecutionTerminatedEvent",
    4: "TaskScheduledEvent",
    5: "TaskCompletedEvent",
    6: "TaskFailedEvent",
    7: "SubOrchestrationInstanceCreatedEvent",
    8: "SubOrchestrationInstanceCompletedEvent",
    9: "SubOrchestrationInstanceFailedEvent",
    10: "TimerCreatedEvent",
    11: "TimerFiredEvent",
    12: "OrchestratorStartedEvent",
    13: "OrchestratorCompletedEvent",
    14: "EventSentEvent",
    15: "EventRaisedEvent",
    16: "ContinueAsNewEvent",
    17: "GenericEvent",
    18: "HistoryStateEvent",
    19: "ExecutionSuspendedEvent",
    20: "ExecutionResumedEvent",
    21: "ExecutionRewoundEvent",
}

# Complex members of events and the .NET type each one carries.
_MEMBER_TYPES: dict[str, str] = {
    "OrchestrationInstance": ORCHESTRATION_INSTANCE_TYPE,
    "ParentInstance": "DurableTask.Core.ParentInstance",
    "FailureDetails": "DurableTask.Core.FailureDetails",
    "InnerFailure": "DurableTask.Core.FailureDetails",
    "ParentTraceContext": "DurableTask.Core.Tracing.DistributedTraceContext",
}

_sequence = itertools.count(1)


class MessageFormatError(DurableError):
    """A queue message body is not a DTFx ``MessageData`` this host can read."""


@dataclass
class TaskMessage:
    """One queue message: the event and its routing, plus receive metadata when received."""

    event: dict[str, Any]
    instance_id: str
    execution_id: str | None = None
    sender_instance_id: str = ""
    sender_execution_id: str = ""
    sequence_number: int = 0
    episode: int | None = None
    activity_id: str = ""
    compressed_blob_name: str | None = None
    # set when the message was sent or received
    queue: str | None = None
    message_id: str | None = None
    pop_receipt: str | None = None
    dequeue_count: int = 0
    inserted_on: datetime | None = None
    next_visible_on: datetime | None = None

    @property
    def event_type(self) -> int:
        return int(self.event["EventType"])

    @property
    def is_large(self) -> bool:
        """True for a wrapper whose real content is still in a blob."""
        return self.compressed_blob_name is not None and not self.event


def new_message(
    event: dict[str, Any],
    *,
    instance_id: str,
    execution_id: str | None = None,
    sender_instance_id: str = "",
    sender_execution_id: str = "",
    episode: int | None = None,
) -> TaskMessage:
    """A fresh outbound message with a new activity id and the next process sequence number."""
    return TaskMessage(
        event=event,
        instance_id=instance_id,
        execution_id=execution_id,
        sender_instance_id=sender_instance_id,
        sender_execution_id=sender_execution_id,
        sequence_number=next(_sequence),
        episode=episode,
        activity_id=str(uuid.uuid4()),
    )


# --------------------------------------------------------------------------- encoding


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in a queue message")


def _typed(value: Any, dotnet_type: str | None) -> Any:
    """``value`` with ``$type`` added to it (and to its known complex members)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        if dotnet_type is not None:
            out["$type"] = dotnet_type
        for key, member in value.items():
            if key == "$type":
                continue
            out[key] = _typed(member, _MEMBER_TYPES.get(key)) if isinstance(member, dict) else member
        return out
    return value


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    event_type = int(event["EventType"])
    cls = _EVENT_CLASSES.get(event_type)
    if cls is None:
        raise MessageFormatError(f"event type {event_type} cannot be sent in a queue message")
    typed: dict[str, Any] = _typed(event, f"DurableTask.Core.History.{cls}")
    return typed


def _instance_json(instance_id: str, execution_id: str | None) -> dict[str, Any]:
    return {"$type": ORCHESTRATION_INSTANCE_TYPE, "InstanceId": instance_id, "ExecutionId": execution_id}


def encode_message(msg: TaskMessage) -> str:
    """The ``MessageData`` JSON text of ``msg`` (compact, UTF-8 safe)."""
    body: dict[str, Any] = {
        "$type": MESSAGE_DATA_TYPE,
        "ActivityId": msg.activity_id or str(uuid.uuid4()),
        "TaskMessage": {
            "$type": TASK_MESSAGE_TYPE,
            "Event": _event_json(msg.event),
            "SequenceNumber": 0,
            "OrchestrationInstance": _instance_json(msg.instance_id, msg.execution_id),
        },
        "CompressedBlobName": None,
        "SequenceNumber": msg.sequence_number,
    }
    if msg.episode is not None:
        body["Episode"] = msg.episode
    body["Sender"] = {"InstanceId": msg.sender_instance_id, "ExecutionId": msg.sender_execution_id}
    body["SerializableTraceContext"] = None
    return json.dumps(body, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def encode_wrapper(msg: TaskMessage, blob_name: str) -> str:
    """The small queue body that points at a large message stored in ``blob_name``."""
    body = {
        "$type": MESSAGE_DATA_TYPE,
        "ActivityId": msg.activity_id,
        "TaskMessage": None,
        "CompressedBlobName": blob_name,
        "SequenceNumber": msg.sequence_number,
        "Sender": {"InstanceId": msg.sender_instance_id, "ExecutionId": msg.sender_execution_id},
        "SerializableTraceContext": None,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- decoding


def strip_types(value: Any) -> Any:
    """``value`` with every ``$type`` key removed (recursively)."""
    if isinstance(value, dict):
        return {k: strip_types(v) for k, v in value.items() if k != "$type"}
    if isinstance(value, list):
        return [strip_types(v) for v in value]
    return value


def body_text(content: str) -> str:
    """The JSON text of a queue body (Base64-decoded when it does not start with ``{``)."""
    text = content.lstrip()
    if text.startswith("{"):
        return text
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as err:
        raise MessageFormatError(f"queue message is neither JSON nor Base64 JSON: {content[:60]!r}") from err


# Members of events the engine relies on, and the JSON types each may have (None = null).
_EVENT_MEMBER_TYPES: dict[str, tuple[type, ...]] = {
    "EventId": (int,),
    "IsPlayed": (bool,),
    "Timestamp": (str,),
    "Name": (str,),
    "Version": (str,),
    "Input": (str,),
    "Result": (str,),
    "Reason": (str,),
    "Details": (str,),
    "InstanceId": (str,),
    "FireAt": (str,),
    "ScheduledStartTime": (str,),
    "TaskScheduledId": (int,),
    "TimerId": (int,),
    "Generation": (int,),
    "OrchestrationInstance": (dict,),
    "ParentInstance": (dict,),
    "FailureDetails": (dict,),
    "ParentTraceContext": (dict,),
    "Tags": (dict,),
}
_JSON_NAMES = {int: "an integer", bool: "true or false", str: "a string", dict: "an object"}


def _member(data: dict[str, Any], key: str, kinds: tuple[type, ...], where: str) -> Any:
    """``data[key]`` if it is null or one of ``kinds`` (a bool is no integer), else MessageFormatError."""
    value = data.get(key)
    if value is None or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
        return value
    wanted = " or ".join(_JSON_NAMES[k] for k in kinds)
    raise MessageFormatError(f"{where}{key} must be {wanted} or null, not {json.dumps(value)[:40]}")


def _check_event(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise MessageFormatError("TaskMessage.Event must be an object")
    event_type = event.get("EventType")
    if isinstance(event_type, bool) or not isinstance(event_type, int) or event_type not in _EVENT_CLASSES:
        shown = json.dumps(event_type)[:40]
        raise MessageFormatError(f"TaskMessage.Event.EventType must be a known event type, not {shown}")
    for key, kinds in _EVENT_MEMBER_TYPES.items():
        _member(event, key, kinds, "TaskMessage.Event.")
    return event


def decode_message(content: str) -> TaskMessage:
    """Parse a ``MessageData`` body; a large-message wrapper comes back with an empty event.

    Anything of the wrong shape (unknown ``EventType``, a member of the wrong JSON type) raises
    :class:`MessageFormatError` naming the member, so it never reaches the dispatcher.
    """
    text = body_text(content)
    try:
        data = json.loads(text)
    except ValueError as err:
        raise MessageFormatError(f"queue message is not valid JSON: {text[:60]!r}") from err
    if not isinstance(data, dict):
        raise MessageFormatError(f"queue message is not a JSON object: {text[:60]!r}")
    sender = _member(data, "Sender", (dict,), "") or {}
    task = _member(data, "TaskMessage", (dict,), "")
    sequence = _member(data, "SequenceNumber", (int,), "")
    episode = _member(data, "Episode", (int,), "")
    msg = TaskMessage(
        event={},
        instance_id="",
        sender_instance_id=_member(sender, "InstanceId", (str,), "Sender.") or "",
        sender_execution_id=_member(sender, "ExecutionId", (str,), "Sender.") or "",
        sequence_number=sequence or 0,
        episode=episode,
        activity_id=_member(data, "ActivityId", (str,), "") or "",
        compressed_blob_name=_member(data, "CompressedBlobName", (str,), "") or None,
    )
    if task is None:
        if msg.compressed_blob_name is None:
            raise MessageFormatError("queue message has neither a TaskMessage nor a CompressedBlobName")
        return msg
    if "Event" not in task:
        raise MessageFormatError("queue message has no TaskMessage.Event")
    event = _check_event(task.get("Event"))
    instance = _member(task, "OrchestrationInstance", (dict,), "TaskMessage.") or {}
    instance_id = _member(instance, "InstanceId", (str,), "TaskMessage.OrchestrationInstance.")
    if not instance_id:
        raise MessageFormatError("queue message has no TaskMessage.OrchestrationInstance.InstanceId")
    msg.event = strip_types(event)
    msg.instance_id = instance_id
    msg.execution_id = _member(instance, "ExecutionId", (str,), "TaskMessage.OrchestrationInstance.") or None
    msg.compressed_blob_name = None
    return msg
