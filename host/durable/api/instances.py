"""Handlers of ``orchestrators/…`` and ``instances/…`` (start, status, query, operations, purge).

Status codes and bodies follow the extension's ``HttpApiHandler`` (docs/protocol.md, "Routes").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host.durable.api.limits import MAX_INSTANCE_ID_LENGTH
from host.durable.api.parsing import (
    BAD_CONTINUATION,
    CONTINUATION_HEADER,
    BadRequest,
    Query,
    argument_error,
    error_response,
    is_json_content_type,
    json_response,
    parse_json_body,
    server_error,
)
from host.durable.api.payloads import (
    TERMINAL_STATUSES,
    check_status_payload,
    client_input_text,
    parse_json_text,
    status_json,
    status_name,
)
from host.durable.management import Management, new_instance_id
from host.durable.taskhub.instances import instance_filter
from host.durable.taskhub.rows import InstanceStatus
from host.errors import InstanceNotFoundError, InvalidInstanceStateError
from host.indexing.registry import Registry

_FORBIDDEN_ID_CHARS = "/\\?#"


@dataclass
class Target:
    """What one request addresses: the hub's management and how URLs to it are built."""

    management: Management
    origin: str
    connection: str | None
    code: str | None
    public: bool = True
    """Reached through the public webhook path (people, the CLI), not the SDK client's RPC base:
    posted inputs are JSON values there, encoded here as the SDK's client would send them."""

    def payload(self, instance_id: str) -> dict[str, str]:
        return check_status_payload(
            self.origin,
            instance_id,
            task_hub=self.management.task_hub,
            connection=self.connection,
            code=self.code,
        )

    def check_status_response(self, instance_id: str) -> Response:
        payload = self.payload(instance_id)
        return json_response(payload, 202, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"})


def not_found(instance_id: str) -> Response:
    return error_response(404, f"No instance with ID '{instance_id}' found.")


def validate_instance_id(instance_id: str) -> None:
    """Reject ids the extension rejects (``@`` prefix, ``/ \\ ? #``, control chars, > 256)."""
    problem = None
    if not instance_id.strip():
        problem = "must not be empty or white space"
    elif instance_id.startswith("@"):
        problem = "must not start with '@' (reserved for entities)"
    elif any(c in _FORBIDDEN_ID_CHARS for c in instance_id):
        problem = "must not contain any of / \\ ? #"
    elif any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in instance_id):
        problem = "must not contain control characters"
    elif len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        problem = f"must not be longer than {MAX_INSTANCE_ID_LENGTH} characters"
    if problem:
        raise BadRequest(f"Instance ID '{instance_id[:300]}' is invalid: it {problem}.")


async def _body_text(request: Request) -> str:
    raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.") from None


async def start(
    request: Request, target: Target, registry: Registry | None, name: str, instance_id: str | None
) -> Response:
    """``POST orchestrators/{functionName}[/{instanceId}]`` (no name check without a registry)."""
    if registry is not None and registry.orchestrator(name) is None:
        return argument_error(
            f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        )
    if instance_id is None:
        instance_id = new_instance_id()
    validate_instance_id(instance_id)
    text = await _body_text(request)
    input_json: str | None = None
    if text.strip():
        parse_json_body(text)
        input_json = client_input_text(text) if target.public else text.strip()
    q = Query(request)
    timeout, interval = q.seconds("timeout"), q.seconds("pollingInterval")
    await target.management.start_orchestration(name, instance_id, input_json, version=q.get("version"))
    if timeout is not None and interval is not None:
        return await _wait(target, instance_id, timeout, interval)
    return target.check_status_response(instance_id)


async def _wait(target: Target, instance_id: str, timeout: float, interval: float) -> Response:
    """Until finished or ``timeout``: 200 + output / status JSON, else the 202 payload.

    The engine's completion wake-up answers at once when the instance runs in this host; the
    status is re-read every ``interval`` seconds otherwise (another host may run it).
    """
    deadline = time.monotonic() + timeout
    while True:
        waiter = asyncio.ensure_future(
            target.management.wait_terminal(instance_id, max(0.0, deadline - time.monotonic()))
        )
        try:
            await asyncio.sleep(0)  # the waiter is registered before the read: no lost wake-up
            status = await _status(target, instance_id)
            runtime = status_name(status.runtime_status) if status is not None else None
            if status is not None and runtime == "Completed":
                return json_response(parse_json_text(status.output), 200)
            if status is not None and runtime in TERMINAL_STATUSES:
                return json_response(status_json(status), 200)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return target.check_status_response(instance_id)
            await asyncio.wait({waiter}, timeout=min(max(interval, 0.05), remaining))
        finally:
            waiter.cancel()


async def get_status(request: Request, target: Target, instance_id: str) -> Response:
    """``GET instances/{instanceId}``: 202 while running, 200 when finished, 404 unknown."""
    q = Query(request)
    show_input = q.flag("showInput", True)
    status = await _status(target, instance_id)
    if status is None:
        return not_found(instance_id)
    history = await target.management.get_history(instance_id) if q.flag("showHistory", False) else None
    payload = status_json(
        status, history, show_input=show_input, show_history_output=q.flag("showHistoryOutput", False)
    )
    runtime = payload["runtimeStatus"]
    if runtime not in TERMINAL_STATUSES:
        return json_response(payload, 202, {"Location": str(request.url), "Retry-After": "5"})
    failed_500 = runtime == "Failed" and q.flag("returnInternalServerErrorOnFailure", False)
    return json_response(payload, 500 if failed_500 else 200)


async def purge_one(target: Target, instance_id: str) -> Response:
    """``DELETE instances/{instanceId}``."""
    deleted = await target.management.purge_instance(instance_id)
    if not deleted:
        return not_found(instance_id)
    return json_response({"instancesDeleted": deleted})


async def list_instances(request: Request, target: Target) -> Response:
    """``GET instances/``: one page, continuation in ``x-ms-continuation-token``."""
    q = Query(request)
    token = request.headers.get(CONTINUATION_HEADER) or None
    prefix = q.get("instanceIdPrefix") or None
    if prefix:
        try:  # the prefix becomes a key range in a storage filter
            instance_filter(instance_id_prefix=prefix)
            prefix.encode("utf-8")
        except ValueError:
            raise BadRequest(f"instanceIdPrefix {prefix[:60]!r} cannot be used in a storage query.") from None
    show_input = q.flag("showInput", True)
    try:
        statuses, next_token = await target.management.query_instances(
            q.statuses() or None,
            q.time("createdTimeFrom"),
            q.time("createdTimeTo"),
            prefix,
            top=q.integer("top", minimum=1),
            continuation=token,
            include_input_output=True,
        )
    except ValueError:  # the storage layer's word for a token it never handed out
        if token:
            raise BadRequest(BAD_CONTINUATION) from None
        raise
    body = [status_json(s, show_input=show_input) for s in statuses]
    return json_response(body, 200, {CONTINUATION_HEADER: next_token or ""})


async def purge_many(request: Request, target: Target) -> Response:
    """``DELETE instances/?createdTimeFrom=…``: 404 when nothing was deleted."""
    q = Query(request)
    created_from = q.time("createdTimeFrom")
    if created_from is None:
        return json_response("Please provide value for 'createdTimeFrom' parameter.", 400)
    management = target.management
    deleted = await management.purge_instances(
        created_from, q.time("createdTimeTo") or management.hub.now(), q.statuses() or None
    )
    if not deleted:
        return json_response(
            {"Message": "No instances matched the filter: nothing was purged.", "instancesDeleted": 0}, 404
        )
    return json_response({"instancesDeleted": deleted})


async def _status(target: Target, instance_id: str) -> InstanceStatus | None:
    """The row of an orchestration instance (entities, ``@…``, are not instances here)."""
    if instance_id.startswith("@"):
        return None
    return await target.management.get_status(instance_id)


async def _existing(target: Target, instance_id: str) -> tuple[Any, str] | Response:
    status = await _status(target, instance_id)
    if status is None:
        return not_found(instance_id)
    return status, status_name(status.runtime_status)


def _gone(instance_id: str, runtime: str, what: str) -> Response:
    return error_response(410, f"Instance '{instance_id}' is {runtime}: {what}.")


async def raise_event(request: Request, target: Target, instance_id: str, event: str) -> Response:
    """``POST instances/{id}/raiseEvent/{eventName}`` (body: JSON)."""
    found = await _existing(target, instance_id)
    if isinstance(found, Response):
        return found
    _, runtime = found
    if runtime in TERMINAL_STATUSES:
        return _gone(instance_id, runtime, "it no longer accepts events")
    if not is_json_content_type(request.headers.get("content-type")):
        return error_response(400, "Only application/json request content is supported")
    text = await _body_text(request)
    parse_json_body(text)
    # the row was read above (404/410 before 400): no second read
    await target.management.raise_event(instance_id, event, text.strip(), check=False)
    return json_response(None, 202)


async def operation(request: Request, target: Target, instance_id: str, op: str) -> Response:
    """``POST instances/{id}/terminate|suspend|resume|rewind`` (``reason`` in the query).

    The engine's operation reads the row and refuses what it cannot do; only then is the row read
    here (to tell 410 from 500), so the usual path costs one read, not two.
    """
    if instance_id.startswith("@"):
        return not_found(instance_id)
    reason = Query(request).get("reason")
    try:
        await _OPERATIONS[op](target.management)(instance_id, reason)
    except InstanceNotFoundError:
        return not_found(instance_id)
    except InvalidInstanceStateError:
        return await _refused(target, instance_id, op)
    return json_response(None, 202)


_OPERATIONS: dict[str, Callable[[Management], Callable[[str, str | None], Awaitable[None]]]] = {
    "terminate": lambda m: m.terminate,
    "suspend": lambda m: m.suspend,
    "resume": lambda m: m.resume,
    "rewind": lambda m: m.rewind,
}


async def _refused(target: Target, instance_id: str, op: str) -> Response:
    """The extension's answer to an operation the instance's state does not allow."""
    status = await _status(target, instance_id)
    if status is None:
        return not_found(instance_id)
    runtime = status_name(status.runtime_status)
    if op == "rewind":
        if runtime in ("Completed", "Terminated", "Canceled"):
            return _gone(instance_id, runtime, "only failed instances can be rewound")
        return server_error("The rewind operation is only supported on failed orchestration instances.")
    if runtime in TERMINAL_STATUSES:
        return _gone(instance_id, runtime, f"it cannot {op} any more")
    return server_error(
        f"Cannot {op} the orchestration instance {instance_id} because instance is in the {runtime} state."
    )


async def restart(request: Request, target: Target, instance_id: str) -> Response:
    """``POST instances/{id}/restart``: 202 check-status payload of the (new) instance."""
    status = await _status(target, instance_id)
    if status is None:
        return argument_error("InstanceId does not match a valid orchestration instance.")
    q = Query(request)
    fresh = q.flag("restartWithNewInstanceId", True)
    new_id = await target.management.restart(instance_id, new_instance_id=fresh)
    timeout, interval = q.seconds("timeout"), q.seconds("pollingInterval")
    if timeout is not None and interval is not None:
        return await _wait(target, new_id, timeout, interval)
    return target.check_status_response(new_id)
