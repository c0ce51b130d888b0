"""The JSON the Durable extension answers with (pure).

* :func:`status_json` — an instance's status payload (``StatusResponsePayload``);
* :func:`format_history` — the ``historyEvents`` of ``showHistory=true``;
* :func:`management_urls` / :func:`check_status_payload` — the management URLs;
* :func:`binding_payload` — the JSON string a ``durableClient`` binding receives;
* :func:`client_input_text` — a posted JSON value encoded as the SDK's client encodes an input.

See docs/protocol.md, "The durable client".
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

from host.durable.replay.history import parse_timestamp
from host.durable.replay.ledger import pending_payload
from host.durable.taskhub.rows import EVENT_TYPE_NAMES, RUNTIME_STATUS_NAMES

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"
RPC_KEY_SEGMENT = "code"
"""``/durabletask/code/{key}/…``: the RPC base of a binding under ``--enable-auth`` carries the key."""
DEFAULT_CONNECTION = "Storage"
INSTANCE_PLACEHOLDER = "INSTANCEID"

RUNTIME_STATUSES = RUNTIME_STATUS_NAMES
"""``OrchestrationRuntimeStatus`` names in enum-value order (0 = Running)."""

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Canceled", "Terminated"})

EVENT_TYPES = EVENT_TYPE_NAMES
"""DTFx ``EventType`` names in enum-value order (0 = ExecutionStarted)."""


class StatusLike(Protocol):
    """What an instance status offers (``host.durable.taskhub.rows.InstanceStatus`` fits)."""

    @property
    def name(self) -> str | None: ...
    @property
    def instance_id(self) -> str: ...
    @property
    def runtime_status(self) -> Any: ...  # a name, an int or an enum of either
    @property
    def input(self) -> str | None: ...
    @property
    def output(self) -> str | None: ...
    @property
    def custom_status(self) -> str | None: ...
    @property
    def created_time(self) -> datetime | None: ...
    @property
    def last_updated_time(self) -> datetime | None: ...
    @property
    def version(self) -> str | None: ...


# --------------------------------------------------------------------------- values


def status_name(value: Any) -> str:
    """The ``OrchestrationRuntimeStatus`` name of a name, an int or an enum."""
    return _enum_name(value, RUNTIME_STATUSES)


def event_type_name(value: Any) -> str:
    """The DTFx ``EventType`` name of a name, an int or an enum."""
    return _enum_name(value, EVENT_TYPES)


def _enum_name(value: Any, names: Sequence[str]) -> str:
    if isinstance(value, enum.Enum):
        value = value.value if isinstance(value.value, int | str) else value.name
    if isinstance(value, int) and not isinstance(value, bool):
        return names[value] if 0 <= value < len(names) else str(value)
    text = str(value)
    if text.isdigit():
        return _enum_name(int(text), names)
    lowered = text.replace("_", "").lower()
    return next((n for n in names if n.lower() == lowered), text)


def parse_json_text(text: Any) -> Any:
    """A stored JSON text parsed back to a value; a text that is not JSON stays a string."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def client_input_text(json_text: str) -> str | None:
    """A JSON value's text as the SDK's client sends an input: that text inside a JSON string.

    SDK 1.x ``get_input()`` decodes this form for every JSON type; a bare number, array,
    boolean or string (what the extension stores for a posted body) makes it raise. ``null``
    (and an empty text) is no input, as when the client is given ``None``.
    """
    text = json_text.strip()
    if not text or json.loads(text) is None:
        return None
    return json.dumps(text)


def format_seconds(value: datetime | str | None) -> str | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` (UTC, seconds precision), as the status payload has it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_timestamp(value)
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_ticks(value: datetime | str | None) -> str | None:
    """.NET round-trip format with 7 fractional digits (``…:52.2895622Z``), for history events."""
    if value is None or isinstance(value, str):
        return value
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def format_millis(value: datetime | None) -> str | None:
    """``…:00.123Z`` (entity ``lastOperationTime``)."""
    if value is None:
        return None
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------- status


def status_json(
    status: StatusLike,
    history: Sequence[Mapping[str, Any]] | None = None,
    *,
    show_input: bool = True,
    show_history_output: bool = False,
) -> dict[str, Any]:
    """The extension's status payload; ``historyEvents`` only when ``history`` is given."""
    runtime = status_name(status.runtime_status)
    payload: dict[str, Any] = {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": runtime,
        "input": parse_json_text(status.input) if show_input else None,
        "customStatus": parse_json_text(status.custom_status),
        "output": parse_json_text(status.output),
        "createdTime": format_seconds(status.created_time),
        "lastUpdatedTime": format_seconds(status.last_updated_time),
    }
    if status.version:  # only versioned instances: an unversioned status stays the extension's shape
        payload["version"] = status.version
    if history is not None:
        payload["historyEvents"] = (
            []
            if runtime == "Pending"
            else format_history(history, show_input=show_input, show_history_output=show_history_output)
        )
    return payload


_SCHEDULING = {
    "TaskScheduled": ("TaskCompleted", "TaskFailed"),
    "SubOrchestrationInstanceCreated": (
        "SubOrchestrationInstanceCompleted",
        "SubOrchestrationInstanceFailed",
    ),
}
_COMPLETION_OF = {c: s for s, cs in _SCHEDULING.items() for c in cs}
_RESULT_EVENTS = {"TaskCompleted", "SubOrchestrationInstanceCompleted", "ExecutionCompleted"}


def format_history(
    events: Iterable[Mapping[str, Any]], *, show_input: bool = True, show_history_output: bool = False
) -> list[dict[str, Any]]:
    """``historyEvents`` as the extension renders them (``ConvertHistoryToJsonArray``).

    Scheduling events are merged into their completions (``FunctionName``, ``ScheduledTime``,
    ``Input``), ``OrchestratorStarted``/``Completed`` are dropped, enums become names and
    results are included (parsed as JSON) only with ``show_history_output``.
    """
    items = [dict(e) for e in events]
    held = {
        i
        for i, e in enumerate(items)
        if event_type_name(e.get("EventType")) == "GenericEvent"
        and pending_payload({**e, "EventType": 17}) is not None
    }
    scheduled: dict[tuple[str, Any], int] = {}
    dropped: set[int] = set()
    for i, item in enumerate(items):
        kind = event_type_name(item.get("EventType"))
        item["EventType"] = kind
        if "Timestamp" in item:
            item["Timestamp"] = format_ticks(item["Timestamp"])
        if kind in _SCHEDULING:
            scheduled[(kind, item.get("EventId"))] = i
        elif kind in _COMPLETION_OF:
            source = scheduled.get((_COMPLETION_OF[kind], item.get("TaskScheduledId")))
            if source is not None:
                sched = items[source]
                item["FunctionName"] = sched.get("Name")
                item["ScheduledTime"] = sched.get("Timestamp")
                if show_input and sched.get("Input") is not None:
                    item["Input"] = sched.get("Input")
                dropped.add(source)
            item.pop("TaskScheduledId", None)
        elif kind in ("OrchestratorStarted", "OrchestratorCompleted"):
            dropped.add(i)
        elif i in held:
            dropped.add(i)  # this host's record of an event held back; shown once delivered
        elif kind == "ExecutionStarted":
            item["FunctionName"] = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                item.pop(key, None)
        elif kind == "TimerFired":
            item.pop("TimerId", None)
        if "OrchestrationStatus" in item:
            item["OrchestrationStatus"] = status_name(item["OrchestrationStatus"])
        if kind in _RESULT_EVENTS:
            if show_history_output:
                item["Result"] = parse_json_text(item.get("Result"))
            else:
                item.pop("Result", None)
        for key in ("EventId", "IsPlayed", "ExecutionId"):
            item.pop(key, None)
    for item in items:
        if item["EventType"] in _SCHEDULING:
            item.pop("Version", None)
        if not show_input:
            item.pop("Input", None)
    return [item for i, item in enumerate(items) if i not in dropped]


# --------------------------------------------------------------------------- URLs


def _query(task_hub: str, connection: str | None, code: str | None) -> str:
    parts = [
        f"taskHub={quote(task_hub, safe='')}",
        f"connection={quote(connection or DEFAULT_CONNECTION, safe='')}",
    ]
    if code:
        parts.append(f"code={quote(code, safe='')}")
    return "&".join(parts)


def management_urls(
    origin: str,
    instance_id: str,
    *,
    task_hub: str,
    connection: str | None = None,
    code: str | None = None,
    encode_id: bool = True,
) -> dict[str, str]:
    """``id`` and the eight management URLs of ``instance_id`` (``HttpManagementPayload``).

    ``origin`` is ``scheme://host:port``; ``{eventName}`` and ``{text}`` stay placeholders,
    as the extension leaves them.
    """
    q = _query(task_hub, connection, code)
    iid = quote(instance_id, safe="") if encode_id else instance_id
    inst = f"{origin.rstrip('/')}{WEBHOOK_PATH}/instances/{iid}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{inst}?{q}",
        "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{q}",
        "terminatePostUri": f"{inst}/terminate?reason={{text}}&{q}",
        "rewindPostUri": f"{inst}/rewind?reason={{text}}&{q}",
        "purgeHistoryDeleteUri": f"{inst}?{q}",
        "restartPostUri": f"{inst}/restart?{q}",
        "suspendPostUri": f"{inst}/suspend?reason={{text}}&{q}",
        "resumePostUri": f"{inst}/resume?reason={{text}}&{q}",
    }


def check_status_payload(
    origin: str,
    instance_id: str,
    *,
    task_hub: str,
    connection: str | None = None,
    code: str | None = None,
) -> dict[str, str]:
    """The body of the HTTP API's 202 after a start/restart (no ``rewindPostUri``)."""
    urls = management_urls(origin, instance_id, task_hub=task_hub, connection=connection, code=code)
    del urls["rewindPostUri"]
    return urls


def rpc_base_url(
    origin: str, task_hub: str | None = None, connection: str | None = None, *, code: str | None = None
) -> str:
    """The ``rpcBaseUrl`` the SDK's client calls (always ending in ``/``).

    The SDK sends no ``taskHub`` on most calls, so a binding for another hub or account gets
    a base that names them: ``…/durabletask/hubs/{hub}/{connection}/``. The SDK adds no key to
    its requests either, so a ``code`` goes into the path: ``…/durabletask/code/{code}/…``.
    """
    base = f"{origin.rstrip('/')}{RPC_PATH}/"
    if code:
        base += f"{RPC_KEY_SEGMENT}/{quote(code, safe='')}/"
    if task_hub is None and connection is None:
        return base
    hub = quote(task_hub or "-", safe="")
    conn = quote(connection or "-", safe="")
    return f"{base}hubs/{hub}/{conn}/"


def binding_payload(
    origin: str,
    *,
    task_hub: str,
    connection: str | None = None,
    code: str | None = None,
    rpc_base: str | None = None,
) -> dict[str, Any]:
    """The ``durableClient`` binding data (``DurableOrchestrationClientToString``)."""
    base = f"{origin.rstrip('/')}{WEBHOOK_PATH}"
    key = f"code={quote(code, safe='')}" if code else ""
    create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    wait = "timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}"
    return {
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{create}?{key}" if key else create,
            "createAndWaitOnNewInstancePostUri": f"{create}?{wait}" + (f"&{key}" if key else ""),
        },
        "managementUrls": management_urls(
            origin, INSTANCE_PLACEHOLDER, task_hub=task_hub, connection=connection, code=code, encode_id=False
        ),
        "baseUrl": base,
        "requiredQueryStringParameters": key,
        "rpcBaseUrl": rpc_base or rpc_base_url(origin),
        "connectionName": connection,
        "httpBaseUrl": None,
    }
