"""History and Instances table rows ↔ events and instance statuses (pure).

Column conventions follow DurableTask.AzureStorage (docs/taskhub.md, "Tables"): ``EventType`` and
``OrchestrationStatus`` as enum *names* (integers in the event dicts), ``Timestamp`` as
``_Timestamp``, complex members as JSON text (``"null"`` when null), DateTime columns as
datetimes. Properties longer than 30,720 characters are "spilled": the column becomes ``""``,
a ``{Prop}BlobName`` column names a gzip blob in the large-message container, and the caller
uploads/downloads the blob (see :mod:`host.durable.taskhub.hub`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from host.durable.replay.history import parse_timestamp
from host.durable.taskhub.names import escape_key, unescape_key
from host.storage.odata import format_datetime

EVENT_TYPE_NAMES: tuple[str, ...] = (
    "ExecutionStarted",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionTerminated",
    "TaskScheduled",
    "TaskCompleted",
    "TaskFailed",
    "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted",
    "SubOrchestrationInstanceFailed",
    "TimerCreated",
    "TimerFired",
    "OrchestratorStarted",
    "OrchestratorCompleted",
    "EventSent",
    "EventRaised",
    "ContinueAsNew",
    "GenericEvent",
    "HistoryState",
    "ExecutionSuspended",
    "ExecutionResumed",
    "ExecutionRewound",
)
"""DTFx ``EventType`` names by integer value."""

RUNTIME_STATUS_NAMES: tuple[str, ...] = (
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Pending",
    "Suspended",
)
"""DTFx ``OrchestrationStatus`` names by integer value."""

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
RUNNING_STATUSES = frozenset({"Running", "Pending", "Suspended", "ContinuedAsNew"})

SENTINEL_ROW_KEY = "sentinel"
MAX_INLINE_CHARS = 30_720
"""DTFx spills a string column above 60 KiB measured as UTF-16."""

SPILLABLE = (
    "Name",
    "Input",
    "Result",
    "Output",
    "Reason",
    "Details",
    "Correlation",
    "FailureDetails",
    "Tags",
)
_COMPLEX = frozenset(
    {"OrchestrationInstance", "ParentInstance", "Tags", "ParentTraceContext", "FailureDetails", "State"}
)
_DATETIMES = frozenset({"FireAt", "ScheduledStartTime"})
_COMMON = ("EventType", "EventId", "IsPlayed", "Timestamp")
_SKIP_COLUMNS = frozenset({"PartitionKey", "RowKey", "Timestamp", "ExecutionId", "EventType", "_Timestamp"})

_COMPLETED_FIELDS = ("OrchestrationStatus", "Result", "FailureDetails")
EVENT_FIELDS: dict[int, tuple[str, ...]] = {
    0: (
        "OrchestrationInstance",
        "ParentInstance",
        "Name",
        "Version",
        "Input",
        "Tags",
        "Correlation",
        "ParentTraceContext",
        "ScheduledStartTime",
        "Generation",
    ),
    1: _COMPLETED_FIELDS,
    3: ("Input",),
    4: ("Name", "Version", "Input"),
    5: ("TaskScheduledId", "Result"),
    6: ("TaskScheduledId", "Reason", "Details", "FailureDetails"),
    7: ("Name", "Version", "InstanceId", "Input"),
    8: ("TaskScheduledId", "Result"),
    9: ("TaskScheduledId", "Reason", "Details", "FailureDetails"),
    10: ("FireAt",),
    11: ("TimerId", "FireAt"),
    14: ("InstanceId", "Name", "Input"),
    15: ("Name", "Input"),
    16: _COMPLETED_FIELDS,
    17: ("Data",),
    19: ("Reason",),
    20: ("Reason",),
    21: ("Reason",),
}
"""Members every event of a type carries after loading (``None`` when the row lacks them)."""


def event_type_name(event_type: int) -> str:
    return EVENT_TYPE_NAMES[event_type]


def history_row_key(sequence: int) -> str:
    """RowKey of the event at ``sequence``: 16 upper-case hex digits."""
    return f"{sequence:016X}"


# --------------------------------------------------------------------------- datetimes


def parse_datetime(value: Any) -> datetime:
    """A tz-aware UTC datetime from a datetime or an ISO-8601 string (up to 7 fraction digits)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return parse_timestamp(str(value))


def format_event_time(value: datetime) -> str:
    """How event dicts carry DateTimes: ISO-8601 UTC, 7 fraction digits, ``Z`` (as DTFx JSON)."""
    return format_datetime(value)


# --------------------------------------------------------------------------- spills


@dataclass(frozen=True)
class Spill:
    """A property moved to a blob: upload ``text`` (gzip) as ``blob_name`` before writing the row."""

    prop: str
    blob_name: str
    text: str


def history_blob_name(instance_id: str, row_key: str, event_type: int, prop: str) -> str:
    """DTFx name of a spilled history property blob."""
    return (
        f"{escape_key(instance_id)}/history-{row_key}-{event_type_name(event_type)}-"
        f"{secrets.token_hex(4)}-{prop}.json.gz"
    )


def instance_blob_name(instance_id: str, prop: str) -> str:
    """Name of a spilled Instances ``Input``/``Output`` blob."""
    return f"{escape_key(instance_id)}/instance-{secrets.token_hex(4)}-{prop}.json.gz"


def message_blob_name(instance_id: str, activity_id: str, event_type: int) -> str:
    """DTFx name of a large queue message blob (activity id as 32 hex digits)."""
    return (
        f"{escape_key(instance_id)}/message-{activity_id.replace('-', '')}-"
        f"{event_type_name(event_type)}.json.gz"
    )


# --------------------------------------------------------------------------- history rows


def _column_value(key: str, value: Any) -> Any:
    if key in _COMPLEX:
        return "null" if value is None else (value if isinstance(value, str) else json.dumps(value))
    if key in _DATETIMES or key == "Timestamp":
        return None if value is None else parse_datetime(value)
    if key == "OrchestrationStatus" and isinstance(value, int) and not isinstance(value, bool):
        return RUNTIME_STATUS_NAMES[value]
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def event_to_row(
    event: dict[str, Any],
    instance_id: str,
    execution_id: str,
    sequence: int,
    *,
    max_chars: int = MAX_INLINE_CHARS,
) -> tuple[dict[str, Any], list[Spill]]:
    """The History row of ``event`` at ``sequence`` and the properties to upload as blobs."""
    event_type = int(event["EventType"])
    row_key = history_row_key(sequence)
    row: dict[str, Any] = {
        "PartitionKey": escape_key(instance_id),
        "RowKey": row_key,
        "ExecutionId": execution_id,
        "EventType": event_type_name(event_type),
    }
    spills: list[Spill] = []
    for key, value in event.items():
        if key == "EventType":
            continue
        column = "_Timestamp" if key == "Timestamp" else key
        stored = _column_value(key, value)
        if stored is None:
            continue
        if isinstance(stored, str) and len(stored) > max_chars and key in SPILLABLE:
            spill = Spill(key, history_blob_name(instance_id, row_key, event_type, key), stored)
            spills.append(spill)
            row[column] = ""
            row[f"{key}BlobName"] = spill.blob_name
        else:
            row[column] = stored
    return row, spills


def row_to_event(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The event dict of a History row and ``{prop: blob name}`` of properties still to download."""
    name = row["EventType"]
    event_type = EVENT_TYPE_NAMES.index(name) if isinstance(name, str) else int(name)
    event: dict[str, Any] = {"EventType": event_type, "EventId": -1, "IsPlayed": False}
    stamp = row.get("_Timestamp")
    event["Timestamp"] = format_event_time(parse_datetime(stamp)) if stamp is not None else None
    pending: dict[str, str] = {}
    for key, value in row.items():
        if key in _SKIP_COLUMNS:
            continue
        if key.endswith("BlobName") and key[: -len("BlobName")] in SPILLABLE:
            pending[key[: -len("BlobName")]] = str(value)
            continue
        event[key] = decode_member(key, value)
    for key in EVENT_FIELDS.get(event_type, ()):
        event.setdefault(key, None)
    for prop in pending:
        event[prop] = None
    return event, pending


def decode_member(key: str, value: Any) -> Any:
    """One event member from its column value (JSON text parsed for complex members)."""
    if key in _COMPLEX and isinstance(value, str):
        if value in ("", "null"):
            return None
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _DATETIMES and value is not None:
        return format_event_time(parse_datetime(value))
    if key == "OrchestrationStatus" and isinstance(value, str) and value in RUNTIME_STATUS_NAMES:
        return RUNTIME_STATUS_NAMES.index(value)
    return value


@dataclass(frozen=True)
class RecoveryRecord:
    """The sentinel's note of activities a host runs from memory without a work-item message.

    ``message_id`` names the control message the host keeps locked for them (its *anchor*);
    ``tasks`` are their TaskScheduled ids. Whoever receives that message again (the host died)
    sends the ones the history has not completed to the work-item queue.
    """

    message_id: str
    tasks: tuple[int, ...]

    def to_columns(self) -> dict[str, str]:
        return {RECOVERY_MESSAGE: self.message_id, RECOVERY_TASKS: json.dumps(list(self.tasks))}

    @staticmethod
    def from_columns(row: Mapping[str, Any]) -> RecoveryRecord | None:
        """The record on a sentinel row (``None`` when it has none or it is unreadable)."""
        message_id, tasks = row.get(RECOVERY_MESSAGE), row.get(RECOVERY_TASKS)
        if not message_id or not isinstance(tasks, str):
            return None
        try:
            ids = json.loads(tasks)
        except ValueError:
            return None
        if not isinstance(ids, list) or not all(isinstance(t, int) for t in ids):
            return None
        return RecoveryRecord(str(message_id), tuple(ids))


RECOVERY_MESSAGE = "RecoveryMessageId"
RECOVERY_TASKS = "RecoveryTasks"


def sentinel_row(
    instance_id: str,
    execution_id: str,
    *,
    complete: bool,
    now: datetime | None,
    recovery: RecoveryRecord | None = None,
) -> dict[str, Any]:
    """The sentinel row written with each checkpoint batch (with the recovery record, if any)."""
    row: dict[str, Any] = {
        "PartitionKey": escape_key(instance_id),
        "RowKey": SENTINEL_ROW_KEY,
        "ExecutionId": execution_id,
        "IsCheckpointComplete": complete,
    }
    if complete and now is not None:
        row["CheckpointCompletedTimestamp"] = now
    if recovery is not None:
        row.update(recovery.to_columns())
    return row


def estimate_row_bytes(row: dict[str, Any]) -> int:
    """Rough request size of a row as DTFx estimates it (1 KiB + UTF-16 size of strings)."""
    return 1024 + sum(2 * len(v) for v in row.values() if isinstance(v, str))


# --------------------------------------------------------------------------- instance rows


@dataclass
class InstanceStatus:
    """One Instances row. ``None`` fields are not written (so a merge leaves them alone)."""

    instance_id: str
    name: str | None = None
    version: str | None = None
    execution_id: str | None = None
    runtime_status: str | None = None
    created_time: datetime | None = None
    last_updated_time: datetime | None = None
    completed_time: datetime | None = None
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    """JSON text; ``None`` = unset (read) / untouched (merge). Write ``"null"`` to clear it."""
    generation: int | None = None
    tags: dict[str, str] | None = None
    scheduled_start_time: datetime | None = None
    etag: str | None = field(default=None, compare=False)
    input_blob: str | None = field(default=None, compare=False)
    output_blob: str | None = field(default=None, compare=False)

    @property
    def is_terminal(self) -> bool:
        return self.runtime_status in TERMINAL_STATUSES

    @property
    def is_running(self) -> bool:
        """Running, Pending, Suspended or ContinuedAsNew (an instance a start must not replace)."""
        return self.runtime_status in RUNNING_STATUSES

    @property
    def is_entity(self) -> bool:
        return self.instance_id.startswith("@")


_INSTANCE_COLUMNS = {
    "name": "Name",
    "version": "Version",
    "execution_id": "ExecutionId",
    "runtime_status": "RuntimeStatus",
    "created_time": "CreatedTime",
    "last_updated_time": "LastUpdatedTime",
    "completed_time": "CompletedTime",
    "input": "Input",
    "output": "Output",
    "custom_status": "CustomStatus",
    "generation": "Generation",
    "scheduled_start_time": "ScheduledStartTime",
}
INSTANCE_SELECT_NO_IO: tuple[str, ...] = (
    "PartitionKey",
    "RowKey",
    "Name",
    "Version",
    "ExecutionId",
    "RuntimeStatus",
    "CreatedTime",
    "LastUpdatedTime",
    "CompletedTime",
    "CustomStatus",
    "Generation",
    "Tags",
    "ScheduledStartTime",
)


def instance_to_row(
    status: InstanceStatus, hub: str, *, full: bool, max_chars: int = MAX_INLINE_CHARS
) -> tuple[dict[str, Any], list[Spill]]:
    """The Instances row of ``status``; ``full`` writes DTFx defaults (``"null"`` custom status/tags)."""
    row: dict[str, Any] = {"PartitionKey": escape_key(status.instance_id), "RowKey": "", "TaskHubName": hub}
    spills: list[Spill] = []
    for attr, column in _INSTANCE_COLUMNS.items():
        value = getattr(status, attr)
        if value is None:
            continue
        if column in ("Input", "Output") and isinstance(value, str) and len(value) > max_chars:
            spill = Spill(column, instance_blob_name(status.instance_id, column), value)
            spills.append(spill)
            value = ""
            row[f"{column}BlobName"] = spill.blob_name
        row[column] = value
    if status.tags is not None:
        row["Tags"] = json.dumps(status.tags)
    if full:
        row.setdefault("CustomStatus", "null")
        row.setdefault("Tags", "null")
    return row, spills


def row_to_instance(row: dict[str, Any], etag: str | None = None) -> InstanceStatus:
    """An :class:`InstanceStatus` from an Instances row (spilled Input/Output still as blob names)."""
    status = InstanceStatus(instance_id=unescape_key(str(row["PartitionKey"])), etag=etag)
    for attr, column in _INSTANCE_COLUMNS.items():
        value = row.get(column)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = parse_datetime(value)
        setattr(status, attr, value)
    if status.custom_status == "null":
        status.custom_status = None
    tags = row.get("Tags")
    if isinstance(tags, str) and tags not in ("", "null"):
        try:
            parsed = json.loads(tags)
            status.tags = parsed if isinstance(parsed, dict) else None
        except ValueError:
            status.tags = None
    status.input_blob = row.get("InputBlobName") or _blob_from_url(status.input)
    status.output_blob = row.get("OutputBlobName") or _blob_from_url(status.output)
    return status


def _blob_from_url(value: str | None) -> str | None:
    """The blob path of an absolute large-message URL (``…/{hub}-largemessages/{name}``)."""
    if not value or not value.startswith(("http://", "https://")):
        return None
    marker = "-largemessages/"
    at = value.find(marker)
    return unquote(value[at + len(marker) :].split("?", 1)[0]) if at >= 0 else None
