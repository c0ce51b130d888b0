"""Entity request and response messages, as the Durable Functions extension writes them (pure).

A request travels as an ``EventRaised`` on the entity's control queue, named ``op`` (or
``op@<due time>`` for a scheduled signal), whose ``Input`` is the request JSON::

    {"op": "add", "signal": true, "input": "\\"5\\"", "id": "<guid>", "parent": "<instance>",
     "parentExecution": "<execution>", "due": "…", "Timestamp": "…", "Predecessor": "…"}

``input`` is the text the entity handle receives verbatim as ``batch[].input``: the JSON text
*of the JSON text* of the value (``5`` → ``"\\"5\\""``). The answer to a call is an
``EventRaised`` named with the request id whose ``Input`` is ``{"result": "<JSON text>"}``
(plus ``"exceptionType": "Error"`` when the operation failed).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from host.durable.entities.ids import (
    CONTINUE_EVENT,
    RELEASE_EVENT,
    REQUEST_EVENT,
    SCHEDULED_REQUEST_PREFIX,
)
from host.durable.entities.ticks import MIN_TICKS, format_ticks, parse_ticks
from host.errors import DurableError

NULL_INPUT = json.dumps("null")
"""Batch input for an operation without input: ``get_input()`` then returns ``None``."""

_KNOWN_KEYS = frozenset(
    {"op", "signal", "input", "id", "parent", "parentExecution", "due", "Timestamp", "Predecessor"}
)


class EntityMessageError(DurableError):
    """An entity request or response message cannot be parsed."""


@dataclass
class RequestMessage:
    """One operation request (signal or call) to an entity; times are .NET ticks."""

    operation: str | None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    is_signal: bool = False
    input: str | None = None
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    scheduled_time: int | None = None
    timestamp: int = MIN_TICKS
    predecessor: int = MIN_TICKS
    extra: dict[str, Any] = field(default_factory=dict)
    """Members this host does not interpret (``lockset``, ``pos``, trace context…), kept as read."""

    @property
    def is_lock_request(self) -> bool:
        return self.extra.get("lockset") is not None

    def batch_input(self) -> str:
        """The ``input`` of this operation in the batch request (``"\\"null\\""`` when absent)."""
        return self.input if self.input is not None else NULL_INPUT

    def to_json(self) -> dict[str, Any]:
        """The request as a JSON object, members in the extension's order, defaults omitted."""
        d: dict[str, Any] = {"op": self.operation}
        if self.is_signal:
            d["signal"] = True
        if self.input is not None:
            d["input"] = self.input
        d["id"] = self.id
        if self.parent_instance_id is not None:
            d["parent"] = self.parent_instance_id
        if self.parent_execution_id is not None:
            d["parentExecution"] = self.parent_execution_id
        if self.scheduled_time is not None:
            d["due"] = format_ticks(self.scheduled_time)
        d["Timestamp"] = format_ticks(self.timestamp)
        d["Predecessor"] = format_ticks(self.predecessor)
        d.update(self.extra)
        return d

    def to_text(self) -> str:
        """The request as JSON text (an ``EventRaised`` ``Input``)."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RequestMessage:
        """Parse a request object (raises :class:`EntityMessageError`)."""
        if not isinstance(d, dict) or not d.get("id"):
            raise EntityMessageError(f"an entity request needs an 'id': {d!r}")
        try:
            op = d.get("op")
            inp = d.get("input")
            return cls(
                operation=None if op is None else str(op),
                id=str(d["id"]),
                is_signal=bool(d.get("signal", False)),
                input=inp if inp is None or isinstance(inp, str) else json.dumps(inp),
                parent_instance_id=d.get("parent"),
                parent_execution_id=d.get("parentExecution"),
                scheduled_time=parse_ticks(d["due"]) if d.get("due") else None,
                timestamp=parse_ticks(d.get("Timestamp")),
                predecessor=parse_ticks(d.get("Predecessor")),
                extra={k: v for k, v in d.items() if k not in _KNOWN_KEYS},
            )
        except ValueError as exc:
            raise EntityMessageError(f"bad entity request {d!r}: {exc}") from exc

    @classmethod
    def from_text(cls, text: str | None) -> RequestMessage:
        """Parse request JSON text."""
        try:
            d = json.loads(text or "")
        except ValueError as exc:
            raise EntityMessageError(f"entity request is not JSON: {text!r}") from exc
        return cls.from_json(d)


@dataclass(frozen=True)
class IncomingEvent:
    """What an ``EventRaised`` on an entity's control queue means."""

    kind: str
    """``"request"``, ``"release"``, ``"continue"`` or ``"other"``."""
    request: RequestMessage | None = None
    release_parent: str | None = None


def parse_entity_event(name: str, input_text: str | None) -> IncomingEvent:
    """Classify an ``EventRaised`` (``Name``, ``Input``) delivered to an entity.

    ``op`` and ``op@<time>`` carry a request (for ``op@…`` the due time comes from the
    request's ``due`` member, else from the event name). Raises :class:`EntityMessageError`
    for a malformed request.
    """
    if name == REQUEST_EVENT or name.startswith(SCHEDULED_REQUEST_PREFIX):
        request = RequestMessage.from_text(input_text)
        if name.startswith(SCHEDULED_REQUEST_PREFIX) and request.scheduled_time is None:
            try:
                request.scheduled_time = parse_ticks(name[len(SCHEDULED_REQUEST_PREFIX) :])
            except ValueError as exc:
                raise EntityMessageError(f"bad scheduled request event name {name!r}") from exc
        return IncomingEvent("request", request)
    if name == RELEASE_EVENT:
        parent = None
        try:
            parent = (json.loads(input_text or "null") or {}).get("parent")
        except (ValueError, AttributeError):
            parent = None
        return IncomingEvent("release", release_parent=parent)
    if name == CONTINUE_EVENT:
        return IncomingEvent("continue")
    return IncomingEvent("other")


def request_event_name(request: RequestMessage) -> str:
    """The ``EventRaised`` name for sending ``request``: ``op`` or ``op@<due>``."""
    if request.scheduled_time is None:
        return REQUEST_EVENT
    return f"{SCHEDULED_REQUEST_PREFIX}{format_ticks(request.scheduled_time)}"


def input_from_json_text(json_text: str | None) -> str | None:
    """Request ``input`` for a value given as JSON text (orchestrator action ``input``)."""
    return None if json_text is None else json.dumps(json_text)


def input_from_value(value: Any) -> str | None:
    """Request ``input`` for a parsed JSON value (HTTP ``POST /entities`` body, client RPC).

    Like the extension's ``JToken.ToString()``: the compact JSON of the value. The Python
    client's body is already a JSON string holding JSON text, so it arrives double-encoded.
    """
    return None if value is None else json.dumps(value, separators=(",", ":"))


def response_message(result_text: str, is_error: bool) -> str:
    """The ``Input`` of the response event for a call: ``{"result": …[, "exceptionType"]}``."""
    d: dict[str, Any] = {"result": result_text}
    if is_error:
        d["exceptionType"] = "Error"
    return json.dumps(d, separators=(",", ":"))
