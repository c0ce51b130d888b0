"""The Durable HTTP API under ``/runtime/webhooks/durabletask`` (the extension's routes and answers).

The same routes are served under ``/durabletask`` (the SDK client's ``rpcBaseUrl``); the
document lists the public base only.
"""

from __future__ import annotations

from host.openapi.common import (
    BOOL,
    DATE_TIME,
    RUNTIME_STATUSES,
    SECONDS,
    UNAUTHORIZED,
    UNAVAILABLE,
    Json,
    body,
    empty,
    error,
    header,
    path,
    query,
    ref,
)

BASE = "/runtime/webhooks/durabletask"
TAG = "Durable HTTP API"

INSTANCE_ID = path("instanceId", "Orchestration instance id (at most 256 characters).")
CONTINUATION = header("x-ms-continuation-token", "Continuation token of the previous page.")
PAGE_HEADERS = {
    "x-ms-continuation-token": {
        "description": "The next page's token; empty on the last page.",
        "schema": {"type": "string"},
    }
}
TIMEOUT = query(
    "timeout", SECONDS, "Wait up to this many seconds for the instance to finish (with pollingInterval)."
)
POLLING = query("pollingInterval", SECONDS, "Seconds between status reads while waiting (with timeout).")
STATUS_FILTER = query(
    "runtimeStatus",
    {"type": "string"},
    "Runtime statuses, comma-separated, case-insensitive: " + ", ".join(RUNTIME_STATUSES) + ".",
)

ANY_JSON: Json = {}
"""Any JSON value."""

SCHEMAS: dict[str, Json] = {
    "Error": {
        "type": "object",
        "required": ["Message"],
        "properties": {
            "Message": {"type": "string"},
            "ExceptionMessage": {"type": "string"},
            "ExceptionType": {"type": "string"},
            "StackTrace": {"type": ["string", "null"]},
        },
        "description": "The extension's error body: Message names the problem.",
    },
    "CheckStatus": {
        "type": "object",
        "required": [
            "id",
            "statusQueryGetUri",
            "sendEventPostUri",
            "terminatePostUri",
            "purgeHistoryDeleteUri",
            "restartPostUri",
            "suspendPostUri",
            "resumePostUri",
        ],
        "properties": {
            "id": {"type": "string"},
            "statusQueryGetUri": {"type": "string"},
            "sendEventPostUri": {"type": "string"},
            "terminatePostUri": {"type": "string"},
            "purgeHistoryDeleteUri": {"type": "string"},
            "restartPostUri": {"type": "string"},
            "suspendPostUri": {"type": "string"},
            "resumePostUri": {"type": "string"},
        },
    },
    "InstanceStatus": {
        "type": "object",
        "required": ["name", "instanceId", "runtimeStatus", "createdTime", "lastUpdatedTime"],
        "properties": {
            "name": {"type": ["string", "null"]},
            "instanceId": {"type": "string"},
            "runtimeStatus": {"type": "string", "enum": RUNTIME_STATUSES},
            "input": ANY_JSON,
            "customStatus": ANY_JSON,
            "output": ANY_JSON,
            "createdTime": {"type": ["string", "null"]},
            "lastUpdatedTime": {"type": ["string", "null"]},
            "version": {"type": "string", "description": "Versioned instances only."},
            "historyEvents": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Purged": {
        "type": "object",
        "required": ["instancesDeleted"],
        "properties": {"instancesDeleted": {"type": "integer", "minimum": 0}},
    },
    "EntityListItem": {
        "type": "object",
        "required": ["entityId", "lastOperationTime"],
        "properties": {
            "entityId": {
                "type": "object",
                "required": ["name", "key"],
                "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
            },
            "lastOperationTime": {"type": ["string", "null"]},
            "state": ANY_JSON,
        },
    },
}

_STARTED = body(
    ref("CheckStatus"),
    "Started: the management URLs of the instance.",
    {"Location": {"description": "statusQueryGetUri", "schema": {"type": "string"}}},
)
_FINISHED_IN_TIME = body(
    ANY_JSON,
    "With timeout and pollingInterval: finished in time (the output, or the status when not Completed).",
)
_BAD = error("The request is invalid; Message/ExceptionMessage name the problem.")
_NOT_FOUND = error("No such instance.")
_GONE = error("The instance has finished: it cannot do this any more.")
_STATE = error(
    "The instance's state does not allow this (as the extension answers: InvalidOperationException)."
)
_TOO_LARGE = error("The body is larger than the host accepts.")
_SLOW_BODY = error("The body did not arrive in time.")


def _start(with_id: bool) -> Json:
    params = [path("functionName", "Orchestrator function name.")]
    if with_id:
        params.append(INSTANCE_ID)
    params += [TIMEOUT, POLLING, query("version", {"type": "string"}, "Orchestration version.")]
    return {
        "post": {
            "tags": [TAG],
            "operationId": "startOrchestration" + ("WithId" if with_id else ""),
            "summary": "Start an orchestration" + (" with this instance id" if with_id else ""),
            "parameters": params,
            "requestBody": {
                "required": False,
                "description": "The input: any JSON value.",
                "content": {"application/json": {"schema": ANY_JSON}},
            },
            "responses": {
                "202": _STARTED,
                "200": _FINISHED_IN_TIME,
                "400": _BAD,
                "401": UNAUTHORIZED,
                "408": _SLOW_BODY,
                "413": _TOO_LARGE,
                "500": _STATE,
                "503": UNAVAILABLE,
            },
        }
    }


def _operation(op: str, summary: str) -> Json:
    responses: Json = {
        "202": empty("Accepted: the instance will act on it."),
        "400": _BAD,
        "401": UNAUTHORIZED,
        "404": _NOT_FOUND,
        "410": _GONE,
        "500": _STATE,
        "503": UNAVAILABLE,
    }
    return {
        "post": {
            "tags": [TAG],
            "operationId": f"{op}Instance",
            "summary": summary,
            "parameters": [INSTANCE_ID, query("reason", {"type": "string"}, "Recorded in the history.")],
            "responses": responses,
        }
    }


_ENTITY_PARAMS = [path("entityName", "Entity name."), path("entityKey", "Entity key ($ for an empty key).")]
_LIST_ENTITIES = {
    "tags": [TAG],
    "summary": "List entities",
    "parameters": [
        query("fetchState", BOOL, "Include each entity's state."),
        query("top", {"type": "integer", "minimum": 1}, "Page size."),
        query("lastOperationTimeFrom", DATE_TIME, "Last operation at or after."),
        query("lastOperationTimeTo", DATE_TIME, "Last operation at or before."),
        CONTINUATION,
    ],
    "responses": {
        "200": body({"type": "array", "items": ref("EntityListItem")}, "One page.", PAGE_HEADERS),
        "400": _BAD,
        "401": UNAUTHORIZED,
        "503": UNAVAILABLE,
    },
}

PATHS: dict[str, Json] = {
    f"{BASE}/orchestrators/{{functionName}}": _start(False),
    f"{BASE}/orchestrators/{{functionName}}/{{instanceId}}": _start(True),
    f"{BASE}/instances/": {
        "get": {
            "tags": [TAG],
            "operationId": "listInstances",
            "summary": "Query instances (one page)",
            "parameters": [
                STATUS_FILTER,
                query("createdTimeFrom", DATE_TIME, "Created at or after."),
                query("createdTimeTo", DATE_TIME, "Created at or before."),
                query("instanceIdPrefix", {"type": "string"}, "Instance id prefix."),
                query("top", {"type": "integer", "minimum": 1}, "Page size."),
                query("showInput", BOOL, "Include inputs (default true)."),
                CONTINUATION,
            ],
            "responses": {
                "200": body({"type": "array", "items": ref("InstanceStatus")}, "One page.", PAGE_HEADERS),
                "400": _BAD,
                "401": UNAUTHORIZED,
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "tags": [TAG],
            "operationId": "purgeInstances",
            "summary": "Purge the history of every instance matching a filter",
            "parameters": [
                query("createdTimeFrom", DATE_TIME, "Created at or after (required)."),
                query("createdTimeTo", DATE_TIME, "Created at or before (default: now)."),
                STATUS_FILTER,
            ],
            "responses": {
                "200": body(ref("Purged"), "How many instances were purged."),
                "400": body(
                    {"oneOf": [ref("Error"), {"type": "string"}]},
                    "Invalid filter; without createdTimeFrom the body is the extension's message string.",
                ),
                "401": UNAUTHORIZED,
                "404": body(
                    {"allOf": [ref("Error"), ref("Purged")]},
                    "Nothing matched the filter (instancesDeleted 0).",
                ),
                "503": UNAVAILABLE,
            },
        },
    },
    f"{BASE}/instances/{{instanceId}}": {
        "get": {
            "tags": [TAG],
            "operationId": "getInstanceStatus",
            "summary": "An instance's status",
            "parameters": [
                INSTANCE_ID,
                query("showHistory", BOOL, "Include historyEvents."),
                query("showHistoryOutput", BOOL, "Include results in historyEvents."),
                query("showInput", BOOL, "Include the input (default true)."),
                query("returnInternalServerErrorOnFailure", BOOL, "Answer 500 for a Failed instance."),
            ],
            "responses": {
                "200": body(ref("InstanceStatus"), "Finished (Completed, Failed, Terminated, Canceled)."),
                "202": body(
                    ref("InstanceStatus"),
                    "Not finished (Running, Pending, Suspended, ContinuedAsNew).",
                    {"Location": {"description": "This URL.", "schema": {"type": "string"}}},
                ),
                "400": _BAD,
                "401": UNAUTHORIZED,
                "404": _NOT_FOUND,
                "500": body(ref("InstanceStatus"), "Failed, with returnInternalServerErrorOnFailure=true."),
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "tags": [TAG],
            "operationId": "purgeInstance",
            "summary": "Purge an instance's history",
            "parameters": [INSTANCE_ID],
            "responses": {
                "200": body(ref("Purged"), "Purged."),
                "400": _BAD,
                "401": UNAUTHORIZED,
                "404": _NOT_FOUND,
                "503": UNAVAILABLE,
            },
        },
    },
    f"{BASE}/instances/{{instanceId}}/raiseEvent/{{eventName}}": {
        "post": {
            "tags": [TAG],
            "operationId": "raiseEvent",
            "summary": "Raise an external event",
            "parameters": [INSTANCE_ID, path("eventName", "Event name.")],
            "requestBody": {
                "required": True,
                "description": "The event data: any JSON value (Content-Type application/json).",
                "content": {"application/json": {"schema": ANY_JSON}},
            },
            "responses": {
                "202": empty("Delivered to the instance's queue."),
                "400": _BAD,
                "401": UNAUTHORIZED,
                "404": _NOT_FOUND,
                "408": _SLOW_BODY,
                "410": _GONE,
                "413": _TOO_LARGE,
                "503": UNAVAILABLE,
            },
        }
    },
    f"{BASE}/instances/{{instanceId}}/terminate": _operation("terminate", "Terminate an instance"),
    f"{BASE}/instances/{{instanceId}}/suspend": _operation("suspend", "Suspend an instance"),
    f"{BASE}/instances/{{instanceId}}/resume": _operation("resume", "Resume a suspended instance"),
    f"{BASE}/instances/{{instanceId}}/rewind": _operation("rewind", "Rewind a failed instance"),
    f"{BASE}/instances/{{instanceId}}/restart": {
        "post": {
            "tags": [TAG],
            "operationId": "restartInstance",
            "summary": "Restart an instance with its original input",
            "parameters": [
                INSTANCE_ID,
                query("restartWithNewInstanceId", BOOL, "Use a new instance id (default true)."),
                TIMEOUT,
                POLLING,
            ],
            "responses": {
                "202": _STARTED,
                "200": _FINISHED_IN_TIME,
                "400": _BAD,
                "401": UNAUTHORIZED,
                "500": _STATE,
                "503": UNAVAILABLE,
            },
        }
    },
    f"{BASE}/entities/": {"get": {**_LIST_ENTITIES, "operationId": "listEntities"}},
    f"{BASE}/entities/{{entityName}}": {
        "get": {
            **_LIST_ENTITIES,
            "operationId": "listEntitiesByName",
            "parameters": [path("entityName", "Entity name."), *_LIST_ENTITIES["parameters"]],
        }
    },
    f"{BASE}/entities/{{entityName}}/{{entityKey}}": {
        "get": {
            "tags": [TAG],
            "operationId": "getEntityState",
            "summary": "An entity's state",
            "parameters": _ENTITY_PARAMS,
            "responses": {
                "200": body(ANY_JSON, "The state (any JSON value)."),
                "400": _BAD,
                "401": UNAUTHORIZED,
                "404": error("The entity does not exist."),
                "503": UNAVAILABLE,
            },
        },
        "post": {
            "tags": [TAG],
            "operationId": "signalEntity",
            "summary": "Signal an entity operation",
            "parameters": [*_ENTITY_PARAMS, query("op", {"type": "string"}, "Operation name.")],
            "requestBody": {
                "required": False,
                "description": "The operation's input (JSON, or any text as a string).",
                "content": {"application/json": {"schema": ANY_JSON}},
            },
            "responses": {
                "202": empty("Signalled."),
                "400": _BAD,
                "401": UNAUTHORIZED,
                "408": _SLOW_BODY,
                "413": _TOO_LARGE,
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "tags": [TAG],
            "operationId": "deleteEntity",
            "summary": "Signal the entity's delete operation",
            "parameters": _ENTITY_PARAMS,
            "responses": {"202": empty("Signalled."), "400": _BAD, "401": UNAUTHORIZED, "503": UNAVAILABLE},
        },
    },
}
