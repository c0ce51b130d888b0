"""Building blocks of the OpenAPI document: JSON bodies, errors, parameters (pure data)."""

from __future__ import annotations

from typing import Any

from host.durable.taskhub.rows import RUNTIME_STATUS_NAMES

Json = dict[str, Any]

RUNTIME_STATUSES = list(RUNTIME_STATUS_NAMES)
"""The runtime statuses the API names (the task hub's own list, as a JSON array)."""


def ref(name: str) -> Json:
    """``$ref`` to a schema of ``components/schemas``."""
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: Json, description: str, headers: Json | None = None) -> Json:
    """A response with a JSON body."""
    out: Json = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def empty(description: str) -> Json:
    """A response without a body."""
    return {"description": description}


def error(description: str) -> Json:
    """An error response: a JSON object whose ``Message`` names the problem."""
    return body(ref("Error"), description)


UNAUTHORIZED = empty("With --enable-auth: the key is missing or wrong (no body).")
UNAVAILABLE = error("Storage does not answer (an outage); the client may retry.")


def query(name: str, schema: Json, description: str, *, required: bool = False) -> Json:
    """A query-string parameter."""
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def path(name: str, description: str, schema: Json | None = None) -> Json:
    """A path parameter (a string unless ``schema`` says otherwise)."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema or {"type": "string"},
        "description": description,
    }


def header(name: str, description: str) -> Json:
    """An optional request header (a string)."""
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


BOOL = {"type": "string", "enum": ["true", "false"]}
"""Boolean query flags as the extension reads them (``true``/``false``; anything else = the default)."""
DATE_TIME = {"type": "string", "format": "date-time"}
SECONDS = {"type": "number", "minimum": 0}
