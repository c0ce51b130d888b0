"""The read-only admin endpoints over the task hub and the functions' counters (for the dashboard
and tools): ``/admin/durable/{instances,entities,hub}`` and ``/admin/host/functions``.

Their bodies are the JSON views of typed values (:mod:`host.json_view`), so the schemas are
derived from those types and cannot drift from what the endpoints answer.
"""

from __future__ import annotations

from host.durable.api.inspect_routes import MAX_PAGE_SIZE, MAX_STUCK_AFTER
from host.durable.inspect.entities import EntityListing, EntitySummary
from host.durable.inspect.health import HubHealth
from host.durable.inspect.instances import InstancePage
from host.invocation_stats import FunctionOverview
from host.json_view import json_schemas
from host.openapi.common import (
    BOOL,
    DATE_TIME,
    RUNTIME_STATUSES,
    SECONDS,
    UNAUTHORIZED,
    UNAVAILABLE,
    Json,
    body,
    error,
    path,
    query,
    ref,
)

TAG = "Admin: task hub and functions"

SCHEMAS: dict[str, Json] = json_schemas(
    InstancePage, EntityListing, EntitySummary, HubHealth, FunctionOverview
)

_PAGE_SIZE = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
_CONTINUATION = query("continuation", {"type": "string"}, "The `continuation` of the previous page.")
_BAD = error("A parameter is invalid (the message names it).")


def _get(operation_id: str, summary: str, parameters: list[Json], ok: Json, **more: Json) -> Json:
    responses = {"200": ok, "400": _BAD, "401": UNAUTHORIZED, **more, "503": UNAVAILABLE}
    return {
        "get": {
            "tags": [TAG],
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": responses,
        }
    }


PATHS: dict[str, Json] = {
    "/admin/durable/instances": _get(
        "listInstancesByUpdate",
        "A page of orchestration instances, newest update first, with counts per status",
        [
            query(
                "status",
                {"type": "string", "enum": RUNTIME_STATUSES},
                "Only these runtime statuses (comma-separated or repeated; case-insensitive). The counts "
                "per status ignore it.",
            ),
            query("name", {"type": "string"}, "Only instances of this orchestrator (exact name)."),
            query("createdFrom", DATE_TIME, "Created at or after."),
            query("createdTo", DATE_TIME, "Created at or before."),
            query("prefix", {"type": "string"}, "Instance ids starting with this."),
            _CONTINUATION,
            query("pageSize", _PAGE_SIZE, "Instances per page (default 50)."),
            query(
                "order",
                {"type": "string", "enum": ["last_updated", "instance_id"]},
                "last_updated (default: sorted, with counts, from one bounded scan) or instance_id "
                "(the table's own paging: no counts).",
            ),
        ],
        body(ref("InstancePage"), "One page; `continuation` is null on the last."),
    ),
    "/admin/durable/entities": _get(
        "listEntitiesWithState",
        "A page of entities with their state, queued operations and lock",
        [
            query("name", {"type": "string"}, "Only entities of this name (case-insensitive)."),
            _CONTINUATION,
            query("pageSize", _PAGE_SIZE, "Entities per page (default 100)."),
            query("includeDeleted", BOOL, "Also entities whose state was deleted."),
        ],
        body(ref("EntityListing"), "One page; `continuation` is null on the last."),
    ),
    "/admin/durable/entities/{name}/{key}": _get(
        "getEntityWithState",
        "One entity with its state",
        [path("name", "Entity name."), path("key", "Entity key (`$` for the empty key).")],
        body(ref("EntitySummary"), "The entity."),
        **{"404": error("The task hub has no such entity.")},
    ),
    "/admin/durable/hub": _get(
        "hubHealth",
        "Partition leases and hosts, queue depths, quarantined messages and stuck instances",
        [
            query(
                "stuckAfter",
                {**SECONDS, "maximum": MAX_STUCK_AFTER},
                "Running instances without a history write for this many seconds are stuck (default 300).",
            )
        ],
        body(ref("HubHealth"), "The task hub's health."),
    ),
    "/admin/host/functions": {
        "get": {
            "tags": [TAG],
            "operationId": "functionCounters",
            "summary": "Functions by trigger: invocations, failures, the last error since start",
            "responses": {"200": body(ref("FunctionOverview"), "Every function."), "401": UNAUTHORIZED},
        }
    },
}
