"""Admin JSON endpoints over :class:`~host.durable.inspect.inspector.HubInspector` (for tools).

* ``GET /admin/durable/instances?status=&name=&createdFrom=&createdTo=&prefix=&continuation=``
  ``&pageSize=&order=`` — a page of the listing (:func:`host.durable.inspect.instances.list_instances`);
* ``GET /admin/durable/entities?name=&continuation=&pageSize=&includeDeleted=`` — a page of entities;
* ``GET /admin/durable/entities/{name}/{key}`` — one entity (404 when unknown);
* ``GET /admin/durable/hub?stuckAfter=<seconds>`` — partitions, hosts, queues, poison, stuck instances.

Field names are camelCase, times ISO 8601 UTC, durations seconds (:mod:`host.json_view`). With
``--enable-auth`` each needs the master key (``x-functions-key`` or ``code=``), as every admin
endpoint. Bad parameters answer 400 with ``{"Message": …}`` naming the parameter (the error body
of the other admin endpoints and the Durable HTTP API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from host.durable.api.limits import check_entity_instance_id, check_instance_id_length, check_name
from host.durable.api.parsing import BadRequest, Query, error_response
from host.durable.entities.ids import EntityId, EntityIdError
from host.durable.inspect.health import DEFAULT_STUCK_AFTER
from host.durable.inspect.inspector import HubInspector
from host.durable.inspect.instances import DEFAULT_PAGE_SIZE, InstanceFilter, ListingTokenError
from host.errors import InvalidRequestError, StorageBusyError, StorageUnreachableError
from host.http.auth import KeyStore, lacks_master_key
from host.json_view import json_value

MAX_PAGE_SIZE = 1000
MAX_STUCK_AFTER = 366 * 24 * 3600
Handler = Callable[[Request], Awaitable[Response]]


def _page_size(q: Query, default: int) -> int:
    size = q.integer("pageSize", minimum=1)
    if size is not None and size > MAX_PAGE_SIZE:
        raise BadRequest(f"The value '{size}' of query parameter 'pageSize' is above {MAX_PAGE_SIZE}.")
    return default if size is None else size


def instance_filter_of(q: Query) -> InstanceFilter:
    """The listing filter of a request's query string (BadRequest naming a bad parameter)."""
    name, prefix = q.get("name") or None, q.get("prefix") or None
    if name is not None:
        check_name("orchestrator name", name)
    if prefix is not None:
        check_instance_id_length(prefix)
    return InstanceFilter(
        statuses=frozenset(q.statuses("status")),
        name=name,
        created_from=q.time("createdFrom"),
        created_to=q.time("createdTo"),
        prefix=prefix,
    )


def inspect_routes(inspector: HubInspector, keys: KeyStore | None) -> list[BaseRoute]:
    """The ``/admin/durable/…`` routes reading ``inspector``'s hub."""

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if lacks_master_key(keys, request.headers, request.query_params):
                return Response(status_code=401)
            try:
                return await handler(request)
            except (BadRequest, ListingTokenError, EntityIdError) as err:
                return error_response(400, str(err))
            except InvalidRequestError as err:  # a filter value storage refuses (e.g. a bad character)
                return error_response(400, f"Storage refused the query: {err}")
            except (StorageUnreachableError, StorageBusyError) as err:
                return error_response(503, f"Storage unavailable: {err}")

        return endpoint

    async def instances(request: Request) -> Response:
        q = Query(request)
        order = q.get("order") or "last_updated"
        if order not in ("last_updated", "instance_id"):
            raise BadRequest(f"'{order}' is not a valid order (use last_updated or instance_id).")
        page = await inspector.list_instances(
            instance_filter_of(q),
            page_size=_page_size(q, DEFAULT_PAGE_SIZE),
            continuation=q.get("continuation") or None,
            order="instance_id" if order == "instance_id" else "last_updated",
        )
        return _json(page)

    async def entities(request: Request) -> Response:
        q = Query(request)
        name = q.get("name") or None
        if name is not None:
            check_name("entity name", name)
        listing = await inspector.list_entities(
            name,
            page_size=_page_size(q, 100),
            continuation=q.get("continuation") or None,
            include_deleted=q.flag("includeDeleted", False),
        )
        return _json(listing)

    async def entity(request: Request) -> Response:
        wanted = EntityId.from_url(request.path_params["name"], request.path_params["key"])
        check_entity_instance_id(wanted.instance_id)
        found = await inspector.get_entity(wanted)
        if found is None:
            return error_response(404, "no such entity in task hub " + inspector.hub_name)
        return _json(found)

    async def hub(request: Request) -> Response:
        seconds = Query(request).seconds("stuckAfter")
        if seconds is not None and seconds > MAX_STUCK_AFTER:
            raise BadRequest(f"stuckAfter {seconds:g} is more than {MAX_STUCK_AFTER:,} seconds (a year).")
        after = DEFAULT_STUCK_AFTER if seconds is None else timedelta(seconds=seconds)
        return _json(await inspector.health(stuck_after=after))

    return [
        Route("/admin/durable/instances", guarded(instances), methods=["GET"]),
        Route("/admin/durable/entities", guarded(entities), methods=["GET"]),
        Route("/admin/durable/entities/{name}/{key:path}", guarded(entity), methods=["GET"]),
        Route("/admin/durable/hub", guarded(hub), methods=["GET"]),
    ]


def _json(value: Any) -> Response:
    return JSONResponse(json_value(value))
