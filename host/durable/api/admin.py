"""``GET /admin/durable/instances/{instanceId}``: an instance's status, history summary and why it waits.

An admin endpoint of this host (not part of the Durable HTTP API): with ``--enable-auth`` it
needs the master key, like every ``/admin`` endpoint. It reads the host's own task hub; the
explanation uses what the engine knows (the source line its last episode stopped at, the
activities it runs) and otherwise replays the history against the loaded code.

Answers: 200 with the JSON below, 400 for an instance id that cannot exist (too long) or a
``taskHub`` other than the host's, 401
without the master key, 404 for an unknown instance, 503 while storage does not answer::

    {<the Durable HTTP API's status fields>, "history": {events, episodes, executionId,
     generation, lastEventTime, byType}, "waiting": {state, sentence, items, buffered, since,
     source}, "sourceFrom": "episode" | "replay" | "none"[, "historyEvents": [...]]}
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from host.durable.api.limits import check_instance_id_length
from host.durable.api.parsing import BadRequest, error_response, json_response
from host.durable.api.payloads import format_history, status_json
from host.durable.instance_report import EngineView, InstanceReport, instance_report
from host.durable.management import Management
from host.durable.replay.source import OrchestratorHandle
from host.errors import InstanceNotFoundError, StorageBusyError, StorageUnreachableError
from host.http.auth import KeyStore, lacks_master_key

ADMIN_INSTANCES = "/admin/durable/instances"
INSTANCE_PATH = ADMIN_INSTANCES + "/{instanceId}"


def report_json(report: InstanceReport, *, show_history: bool = False) -> dict[str, Any]:
    """The endpoint's body for ``report`` (also what ``durable show --json`` prints)."""
    body = status_json(report.status)
    body["history"] = report.summary.to_json()
    body["waiting"] = report.waiting.to_json()
    body["sourceFrom"] = report.source_from
    if show_history:
        body["historyEvents"] = format_history(report.history, show_history_output=True)
    return body


def admin_instance_routes(
    management: Management,
    engine: EngineView | None,
    handles: Callable[[str], OrchestratorHandle | None] | None,
    *,
    keys: KeyStore | None,
    app_root: Path | None,
) -> list[BaseRoute]:
    """The route of ``GET /admin/durable/instances/{instanceId}``."""

    async def instance(request: Request) -> Response:
        if lacks_master_key(keys, request.headers, request.query_params):
            return Response(status_code=401)
        instance_id = request.path_params["instanceId"]
        hub = request.query_params.get("taskHub")
        if hub and hub.lower() != management.task_hub.lower():
            return error_response(
                400, f"this endpoint reads the host's own task hub {management.task_hub!r}, not {hub[:64]!r}"
            )
        show = request.query_params.get("showHistory", "false").lower()
        if show not in ("true", "false"):
            return error_response(400, f"showHistory must be true or false, not {show[:40]!r}")
        try:
            check_instance_id_length(instance_id)
            report = await instance_report(
                management, instance_id, engine=engine, handles=handles, app_root=app_root
            )
        except BadRequest as e:
            return error_response(400, str(e))
        except InstanceNotFoundError as e:
            return error_response(404, str(e))
        except (StorageUnreachableError, StorageBusyError) as e:
            return error_response(503, f"Storage unavailable: {e}")
        return json_response(report_json(report, show_history=show == "true"))

    return [Route(INSTANCE_PATH, instance, methods=["GET"])]
