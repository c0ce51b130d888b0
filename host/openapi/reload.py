"""Hot reload's admin endpoints: the last reload and a replay check of the running code."""

from __future__ import annotations

from host.openapi.common import UNAUTHORIZED, Json, body, ref

TAG = "Admin"

_INT = {"type": "integer"}
_STR = {"type": "string"}
_NAMES = {"type": "array", "items": _STR}

SCHEMAS: dict[str, Json] = {
    "ReplayDivergence": {
        "type": "object",
        "required": ["instanceId", "name", "position", "taskId", "historyIndex", "recorded", "now", "source"],
        "properties": {
            "instanceId": _STR,
            "name": _STR,
            "position": _INT,
            "taskId": _INT,
            "historyIndex": _INT,
            "recorded": {"type": "string", "description": "The action the history recorded (the old code)."},
            "now": {"type": "string", "description": "What the new code does there (nothing: it stopped)."},
            "source": {"type": ["string", "null"], "description": "file.py:LINE of the new code's yield."},
        },
    },
    "ReplayCheck": {
        "type": "object",
        "required": ["ok", "checked", "unchecked", "divergences", "errors"],
        "properties": {
            "ok": {"type": "boolean"},
            "checked": _INT,
            "unchecked": _INT,
            "uncheckedIsLowerBound": {"type": "boolean"},
            "divergences": {"type": "array", "items": ref("ReplayDivergence")},
            "errors": _NAMES,
        },
    },
    "ReloadReport": {
        "type": "object",
        "required": ["status", "changedFiles", "error", "functions", "seconds", "replayCheck"],
        "properties": {
            "status": {"type": "string", "enum": ["none", "reloaded", "failed", "refused"]},
            "changedFiles": _NAMES,
            "error": {"type": ["string", "null"]},
            "functions": {
                "type": "object",
                "required": ["added", "removed", "changed"],
                "properties": {"added": _NAMES, "removed": _NAMES, "changed": _NAMES},
            },
            "seconds": {"type": "number"},
            "replayCheck": {"oneOf": [{"type": "null"}, ref("ReplayCheck")]},
        },
    },
}

PATHS: dict[str, Json] = {
    "/admin/reload": {
        "get": {
            "tags": [TAG],
            "operationId": "lastReload",
            "summary": "The last hot reload: changed files and functions, its replay check",
            "responses": {
                "200": body(ref("ReloadReport"), "The last reload (status none before the first)."),
                "401": UNAUTHORIZED,
            },
        }
    },
    "/admin/reload/check": {
        "get": {
            "tags": [TAG],
            "operationId": "replayCheck",
            "summary": "Replay the unfinished instances of the app's orchestrators on the running code",
            "responses": {"200": body(ref("ReplayCheck"), "The check's outcome."), "401": UNAUTHORIZED},
        }
    },
}
