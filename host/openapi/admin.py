"""The host's admin endpoints under ``/admin`` (master key with --enable-auth, ping excepted)."""

from __future__ import annotations

from host.openapi.common import UNAUTHORIZED, UNAVAILABLE, Json, body, empty, error, path, query, ref

TAG = "Admin"
_NAME = path("name", "Function name.")
_NO_FUNCTION = error("No function with this name.")

SCHEMAS: dict[str, Json] = {
    "HostStatus": {
        "type": "object",
        "required": ["id", "state", "version", "versionDetails", "processUptime"],
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string"},
            "version": {"type": "string"},
            "versionDetails": {"type": "string"},
            "processUptime": {"type": "integer"},
            "functionAppContentEditingState": {"type": "string"},
            "storage": {"type": "object"},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
    },
    "FunctionMetadata": {
        "type": "object",
        "required": ["name", "config", "isDisabled"],
        "properties": {
            "name": {"type": "string"},
            "href": {"type": "string"},
            "invoke_url_template": {"type": ["string", "null"]},
            "language": {"type": "string"},
            "config": {"type": "object"},
            "isDisabled": {"type": "boolean"},
        },
    },
    "WaitItem": {
        "type": "object",
        "required": ["kind", "name", "description"],
        "properties": {
            "kind": {
                "type": "string",
                "enum": ["activity", "http", "timer", "event", "subOrchestration", "entity"],
            },
            "name": {"type": "string"},
            "description": {"type": "string"},
            "since": {"type": "string"},
            "taskId": {"type": "integer"},
            "until": {"type": "string"},
            "host": {"type": "string"},
            "runningSince": {"type": "string"},
            "instanceId": {"type": "string"},
            "detail": {"type": "string"},
            "elsewhere": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Waiting": {
        "type": "object",
        "required": ["state", "sentence", "items", "buffered", "since", "source"],
        "properties": {
            "state": {"type": "string", "enum": ["pending", "waiting", "busy", "suspended", "finished"]},
            "sentence": {"type": "string"},
            "items": {"type": "array", "items": ref("WaitItem")},
            "buffered": {"type": "array", "items": {"type": "string"}},
            "since": {"type": ["string", "null"]},
            "source": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["file", "line", "function"],
                        "properties": {
                            "file": {"type": "string"},
                            "line": {"type": "integer"},
                            "function": {"type": "string"},
                        },
                    },
                ]
            },
        },
    },
    "InstanceReport": {
        "allOf": [
            ref("InstanceStatus"),
            {
                "type": "object",
                "required": ["history", "waiting", "sourceFrom"],
                "properties": {
                    "history": {
                        "type": "object",
                        "required": [
                            "events",
                            "episodes",
                            "executionId",
                            "generation",
                            "lastEventTime",
                            "byType",
                        ],
                        "properties": {
                            "events": {"type": "integer"},
                            "episodes": {"type": "integer"},
                            "executionId": {"type": ["string", "null"]},
                            "generation": {"type": "integer"},
                            "lastEventTime": {"type": ["string", "null"]},
                            "byType": {"type": "object", "additionalProperties": {"type": "integer"}},
                        },
                    },
                    "waiting": ref("Waiting"),
                    "sourceFrom": {"type": "string", "enum": ["episode", "replay", "none"]},
                },
            },
        ]
    },
}

PATHS: dict[str, Json] = {
    "/admin/host/status": {
        "get": {
            "tags": [TAG],
            "operationId": "hostStatus",
            "summary": "The host's state (and storage trouble, if any)",
            "responses": {"200": body(ref("HostStatus"), "The host's state."), "401": UNAUTHORIZED},
        }
    },
    "/admin/host/ping": {
        "get": {
            "tags": [TAG],
            "operationId": "ping",
            "summary": "Liveness (anonymous)",
            "security": [{}],
            "responses": {"200": empty("Alive.")},
        },
        "post": {
            "tags": [TAG],
            "operationId": "pingPost",
            "summary": "Liveness (anonymous)",
            "security": [{}],
            "responses": {"200": empty("Alive.")},
        },
    },
    "/admin/functions": {
        "get": {
            "tags": [TAG],
            "operationId": "listFunctions",
            "summary": "Every function's metadata",
            "responses": {
                "200": body({"type": "array", "items": ref("FunctionMetadata")}, "The functions."),
                "401": UNAUTHORIZED,
            },
        }
    },
    "/admin/functions/{name}": {
        "get": {
            "tags": [TAG],
            "operationId": "getFunction",
            "summary": "A function's metadata",
            "parameters": [_NAME],
            "responses": {
                "200": body(ref("FunctionMetadata"), "The function."),
                "401": UNAUTHORIZED,
                "404": _NO_FUNCTION,
            },
        },
        "post": {
            "tags": [TAG],
            "operationId": "invokeFunction",
            "summary": "Invoke a function in the background (any trigger)",
            "parameters": [_NAME],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["input"],
                            "properties": {"input": {"description": "The trigger input (text, or JSON)."}},
                        }
                    }
                },
            },
            "responses": {
                "202": empty("Invocation started."),
                "400": error('The body is not {"input": …}, or the trigger value cannot be built from it.'),
                "401": UNAUTHORIZED,
                "404": _NO_FUNCTION,
            },
        },
    },
    "/admin/functions/{name}/status": {
        "get": {
            "tags": [TAG],
            "operationId": "functionStatus",
            "summary": "A function's errors",
            "parameters": [_NAME],
            "responses": {
                "200": body(
                    {
                        "type": "object",
                        "properties": {"errors": {"type": "array", "items": {"type": "string"}}},
                    },
                    "Its errors (none once indexed).",
                ),
                "401": UNAUTHORIZED,
                "404": _NO_FUNCTION,
            },
        }
    },
    "/admin/durable/instances/{instanceId}": {
        "get": {
            "tags": [TAG],
            "operationId": "explainInstance",
            "summary": "An instance's status, history summary and why it waits",
            "parameters": [
                path("instanceId", "Orchestration instance id."),
                query("showHistory", {"type": "string", "enum": ["true", "false"]}, "Include historyEvents."),
                query("taskHub", {"type": "string"}, "Must be the host's own task hub when given."),
            ],
            "responses": {
                "200": body(ref("InstanceReport"), "The report."),
                "400": error(
                    "The instance id cannot exist, showHistory is not true/false, or taskHub is another hub."
                ),
                "401": UNAUTHORIZED,
                "404": error("No such instance."),
                "503": UNAVAILABLE,
            },
        }
    },
    "/admin/openapi.json": {
        "get": {
            "tags": [TAG],
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": body({"type": "object"}, "The OpenAPI 3.1 document."), "401": UNAUTHORIZED},
        }
    },
}
