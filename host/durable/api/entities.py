"""Handlers of ``entities/…``: read state, signal, delete, list and query (docs/protocol.md, "Routes")."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from host.durable.api.limits import check_name
from host.durable.api.parsing import (
    BAD_CONTINUATION,
    CONTINUATION_HEADER,
    BadRequest,
    Query,
    error_response,
    is_json_content_type,
    json_response,
    parse_json_body,
    raw_json_response,
)
from host.durable.api.payloads import client_input_text
from host.durable.entities.ids import EntityId, EntityIdError
from host.durable.entities.query import ContinuationTokenError, EntityQuery
from host.durable.management import Management


def entity_id(name: str, key: str) -> EntityId:
    """The entity of ``entities/{name}/{key}`` (``$`` = empty key); BadRequest when invalid."""
    try:
        return EntityId.from_url(name, key)
    except EntityIdError as e:
        raise BadRequest(str(e)) from None


async def read_state(management: Management, name: str, key: str) -> Response:
    """``GET entities/{name}/{key}``: 200 with the state JSON value, 404 when it does not exist."""
    entity = entity_id(name, key)
    exists, state = await management.read_entity(entity)
    if not exists:
        return error_response(404, f"Entity '{entity}' does not exist.")
    return raw_json_response(json.dumps(state))


async def signal(
    request: Request, management: Management, name: str, key: str, op: str | None, *, public: bool = True
) -> Response:
    """``POST entities/{name}/{key}?op=…`` (and ``DELETE`` = op ``delete``): 202.

    A JSON body on the public path is a JSON value: the operation's ``get_input()`` returns it, as
    when the SDK's client signals it (whose own body, on the RPC path, is already so encoded).
    Any other content type is the input's JSON text, as the extension takes it.
    """
    entity = entity_id(name, key)
    raw = await request.body()
    input_json: str | None = None
    if raw:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest("The request body is not valid UTF-8.") from None
        if is_json_content_type(request.headers.get("content-type")):
            parse_json_body(text)
            input_json = client_input_text(text) if public else text.strip()
        else:  # any other content type is passed as a string
            input_json = json.dumps(text)
    operation = op if op is not None else (Query(request).get("op") or "")
    check_name("operation name", operation)
    await management.signal_entity(entity, operation, input_json)
    return json_response(None, 202)


async def list_entities(request: Request, management: Management, name: str | None) -> Response:
    """``GET entities/[{name}]``: a page of ``{entityId, lastOperationTime[, state]}``."""
    q = Query(request)
    query = EntityQuery(
        name=name.lower() if name else None,
        last_operation_from=q.time("lastOperationTimeFrom"),
        last_operation_to=q.time("lastOperationTimeTo"),
        top=q.integer("top", minimum=1),
        continuation_token=request.headers.get(CONTINUATION_HEADER) or None,
        fetch_state=q.flag("fetchState", False),
    )
    try:
        page = await management.query_entities(query)
    except ContinuationTokenError:
        raise BadRequest(BAD_CONTINUATION) from None
    return json_response(page.entities, 200, {CONTINUATION_HEADER: page.continuation_token or ""})
