"""Trigger values built as the Python worker builds them, with ``azure.functions``' own converters.

The worker wraps host data in ``Datum`` objects and calls the converter registered for the
binding type, unless the parameter is annotated ``str``/``bytes`` (then the generic binding
passes the raw value through). Trigger metadata goes to the converters as ``Datum``s shaped like
the host sends them (non-string scalars and dates as JSON).
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.functions.blob import InputStream
from azure.functions.meta import Datum, get_binding_registry
from azure.functions.timer import TimerRequest

from host.indexing.registry import FunctionInfo


def annotation_of(fn: FunctionInfo, param: str) -> Any:
    """The (evaluated) annotation of one parameter of the user function, or ``None``."""
    try:
        hints = typing.get_type_hints(fn.func)
    except Exception:
        hints = {}
    if param in hints:
        return hints[param]
    try:
        p = inspect.signature(fn.func).parameters.get(param)
    except (TypeError, ValueError):
        return None
    if p is None or p.annotation is inspect.Parameter.empty:
        return None
    return p.annotation


def _raw_kind(annotation: Any) -> type | None:
    """``str``/``bytes`` when the parameter asks for the raw value (generic binding)."""
    if annotation in (str, bytes):
        return typing.cast(type, annotation)
    if isinstance(annotation, str) and annotation in ("str", "bytes"):
        return str if annotation == "str" else bytes
    return None


def raw_json_trigger(fn: FunctionInfo, text: str) -> str | bytes | None:
    """The trigger's JSON ``text`` as is (``str``) or encoded (``bytes``) when the trigger parameter
    asks for the raw value; ``None`` when the library's converter should build it."""
    raw = _raw_kind(annotation_of(fn, fn.trigger.name))
    if raw is str:
        return text
    return text.encode() if raw is bytes else None


def _json_datum(value: Any) -> Datum:
    if isinstance(value, datetime):
        value = value.isoformat()
    return Datum(json.dumps(value), "json")


def _metadata_datums(meta: Mapping[str, Any]) -> dict[str, Datum]:
    out: dict[str, Datum] = {}
    for key, value in meta.items():
        if isinstance(value, str):
            out[key] = Datum(value, "string")
        elif isinstance(value, bytes):
            out[key] = Datum(value, "bytes")
        else:
            out[key] = _json_datum(value)
    return out


def _body_datum(body: bytes) -> Datum:
    try:
        return Datum(body.decode("utf-8"), "string")
    except UnicodeDecodeError:
        return Datum(body, "bytes")


def queue_trigger_value(fn: FunctionInfo, body: bytes, meta: Mapping[str, Any]) -> Any:
    """``func.QueueMessage`` (or the raw ``str``/``bytes`` body) for a queue-triggered function."""
    raw = _raw_kind(annotation_of(fn, fn.trigger.name))
    if raw is bytes:
        return body
    if raw is str:
        return body.decode("utf-8", errors="replace")
    converter = get_binding_registry().get("queueTrigger")
    return converter.decode(_body_datum(body), trigger_metadata=_metadata_datums(meta))


def timer_payload(past_due: bool, status: Mapping[str, str] | None) -> dict[str, Any]:
    """The JSON the host sends for a timer invocation."""
    return {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": dict(status) if status is not None else None,
        "IsPastDue": past_due,
    }


def timer_trigger_value(fn: FunctionInfo, payload: Mapping[str, Any]) -> Any:
    """``func.TimerRequest`` built by the library's converter (raw JSON for ``str`` parameters)."""
    text = json.dumps(payload)
    if (raw := raw_json_trigger(fn, text)) is not None:
        return raw
    value = get_binding_registry().get("timerTrigger").decode(Datum(text, "json"), trigger_metadata={})
    return value if isinstance(value, TimerRequest) else TimerRequest(past_due=bool(payload["IsPastDue"]))


def blob_value(
    fn: FunctionInfo, param: str, data: bytes | None, meta: Mapping[str, Any] | None, *, trigger: bool
) -> Any:
    """A blob as the parameter's annotation wants it: ``InputStream`` (default), ``str`` or ``bytes``.

    ``meta`` (``BlobTrigger``, ``Uri``, ``Properties``, ``Metadata``) is given to the converter
    for the trigger only, as the worker does (an input blob's stream has no name/uri).
    """
    if data is None:
        return None
    raw = _raw_kind(annotation_of(fn, param))
    if raw is bytes:
        return data
    if raw is str:
        return data.decode("utf-8", errors="replace")
    binding_type = "blobTrigger" if trigger else "blob"
    converter = get_binding_registry().get(binding_type)
    value = converter.decode(
        Datum(data, "bytes"), trigger_metadata=_metadata_datums(meta) if (trigger and meta) else None
    )
    return value if value is not None else InputStream(data=data)
