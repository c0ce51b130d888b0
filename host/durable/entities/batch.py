"""Running one batch of entity operations through the SDK's entity handle (pure, synchronous).

The whole batch is one call of the SDK's ``Entity.handle`` with the batch request of
docs/protocol.md ("Entities"). The SDK itself does not roll back a failing operation (its state
changes stay), so the user function is wrapped: before each operation the state is
snapshotted (as JSON text, the form a new batch would see) and restored if the operation
raises; the operation's outgoing signals are discarded too. The wrapper also clears the
previous operation's result (the SDK leaks it into operations that do not call
``set_result``) and gives the context a ``signal_entity`` method for entity-to-entity signals.

User code may block: the dispatcher should call :func:`run_entity_batch` in a worker thread.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.durable_functions.entity import Entity
from azure.durable_functions.models.DurableEntityContext import DurableEntityContext
from azure.durable_functions.models.utils.df_serialization import df_dumps

from host.durable.entities.ids import EntityId, entity_id_of
from host.durable.entities.requests import (
    RequestMessage,
    input_from_json_text,
    request_event_name,
    response_message,
)
from host.durable.entities.state import SchedulerState
from host.durable.entities.ticks import ticks_from_datetime
from host.errors import DurableError

log = logging.getLogger("host.durable.entities")

EntityHandle = Callable[[Any], str]
"""The registered entity function: the SDK's ``Entity.create(fn)`` handle (JSON in, JSON out)."""


class EntityBatchError(DurableError):
    """The entity handle failed as a whole (not one operation): retry the batch later."""


@dataclass(frozen=True)
class OperationOutcome:
    """The result of one operation: ``result`` is JSON text (the error message's, on error)."""

    request: RequestMessage
    is_error: bool
    result: str
    duration_ms: int = 0
    error: str | None = None
    """``Type: message`` of what the operation raised (the SDK's result has the message only)."""


@dataclass(frozen=True)
class OutgoingResponse:
    """The answer to a call: raise event ``event_name`` (the request id) on the caller."""

    instance_id: str
    execution_id: str | None
    event_name: str
    input: str


@dataclass(frozen=True)
class OutgoingSignal:
    """A request this entity sends to another entity (event ``event_name`` on its control queue)."""

    target: EntityId
    event_name: str
    request: RequestMessage


@dataclass
class EntityBatchResult:
    """What one batch did; the dispatcher sends the messages, then checkpoints ``state``."""

    state: SchedulerState
    outcomes: list[OperationOutcome] = field(default_factory=list)
    responses: list[OutgoingResponse] = field(default_factory=list)
    signals: list[OutgoingSignal] = field(default_factory=list)
    deleted: bool = False
    """The entity existed before the batch and does not any more."""


def unknown_entity_message(entity_id: EntityId) -> str:
    """The error text every call to an unregistered entity gets."""
    return (
        f"Entity '{entity_id.name}' does not exist: no entity function named "
        f"'{entity_id.name}' is registered in this app"
    )


def run_entity_batch(
    handle: EntityHandle | None,
    entity_id: EntityId,
    scheduler_state: SchedulerState,
    operations: list[RequestMessage],
    now: datetime,
    *,
    execution_id: str | None = None,
) -> EntityBatchResult:
    """Run ``operations`` (taken from ``scheduler_state``'s queue) on the entity.

    ``handle`` is ``None`` when no entity function has that name: calls then fail with
    :func:`unknown_entity_message` and signals are dropped with a warning. ``scheduler_state``
    is updated in place (state, executed ids, sorter) and returned as ``result.state``.
    Raises :class:`EntityBatchError` if the handle fails as a whole.
    """
    state = scheduler_state
    existed = state.exists
    outbox: list[tuple[Any, str, Any, datetime | None]] = []
    if handle is None:
        outcomes = _reject(entity_id, operations)
    else:
        named = [r for r in operations if r.operation is not None]
        raw = _run(handle, entity_id, state, named, outbox)
        by_id = {id(r): o for r, o in zip(named, raw, strict=True)}
        outcomes = [
            by_id.get(id(r))
            or OperationOutcome(
                r, True, json.dumps("Entity operation name is missing (the request has no 'op')")
            )
            for r in operations
        ]
    result = EntityBatchResult(state, outcomes, deleted=existed and not state.exists)
    for outcome in outcomes:
        req = outcome.request
        if not req.is_signal and req.parent_instance_id:
            result.responses.append(
                OutgoingResponse(
                    req.parent_instance_id,
                    req.parent_execution_id,
                    req.id,
                    response_message(outcome.result, outcome.is_error),
                )
            )
    now_ticks = ticks_from_datetime(now)
    for target, op, value, when in outbox:
        request = RequestMessage(
            op,
            is_signal=True,
            input=input_from_json_text(df_dumps(value)),
            parent_instance_id=entity_id.instance_id,
            parent_execution_id=execution_id,
        )
        tid = entity_id_of(target)
        if when is not None:
            request.scheduled_time = ticks_from_datetime(when)
        else:
            state.sorter.label_outgoing(request, tid.instance_id, now_ticks)
        result.signals.append(OutgoingSignal(tid, request_event_name(request), request))
    state.remember_executed([r.id for r in operations])
    return result


def _reject(entity_id: EntityId, operations: list[RequestMessage]) -> list[OperationOutcome]:
    message = unknown_entity_message(entity_id)
    for req in operations:
        if req.is_signal:
            log.warning("Dropping signal '%s' to %s: %s", req.operation, entity_id, message)
    return [OperationOutcome(r, True, json.dumps(message)) for r in operations]


def _batch_request(entity_id: EntityId, state: SchedulerState, ops: list[RequestMessage]) -> str:
    return json.dumps(
        {
            "self": entity_id.to_json(),
            "exists": state.exists,
            "state": state.state,
            "batch": [{"name": r.operation, "input": r.batch_input(), "isSignal": r.is_signal} for r in ops],
        }
    )


def _run(
    handle: EntityHandle,
    entity_id: EntityId,
    state: SchedulerState,
    ops: list[RequestMessage],
    outbox: list[tuple[Any, str, Any, datetime | None]],
) -> list[OperationOutcome]:
    if not ops:
        return []
    user_fn = getattr(handle, "entity_function", None)
    if user_fn is None:
        return _run_one_by_one(handle, entity_id, state, ops)
    raised: list[Exception | None] = []
    try:
        ctx, batch = DurableEntityContext.from_json(_batch_request(entity_id, state, ops))
        ctx.signal_entity = _signal_method(outbox)
        response = json.loads(Entity(_guarded(user_fn, outbox, raised)).handle(ctx, batch))
    except Exception as exc:
        raise EntityBatchError(f"entity {entity_id} failed to run a batch: {exc}") from exc
    outcomes = _apply(response, entity_id, state, ops)
    # the SDK calls the function once per operation, in order
    errors = {i: e for i, e in enumerate(raised) if e is not None}
    return [
        dataclasses.replace(o, error=f"{type(errors[i]).__name__}: {errors[i]}")
        if o.is_error and i in errors
        else o
        for i, o in enumerate(outcomes)
    ]


def _run_one_by_one(
    handle: EntityHandle, entity_id: EntityId, state: SchedulerState, ops: list[RequestMessage]
) -> list[OperationOutcome]:
    """Fallback for handles we cannot wrap: one call per operation, a failing one is dropped."""
    outcomes: list[OperationOutcome] = []
    for req in ops:
        try:
            response = json.loads(handle(_batch_request(entity_id, state, [req])))
        except Exception as exc:
            raise EntityBatchError(f"entity {entity_id} failed to run an operation: {exc}") from exc
        trial = SchedulerState(state.exists, state.state)
        [outcome] = _apply(response, entity_id, trial, [req])
        if not outcome.is_error:
            state.exists, state.state = trial.exists, trial.state
        outcomes.append(outcome)
    return outcomes


def _apply(
    response: Any, entity_id: EntityId, state: SchedulerState, ops: list[RequestMessage]
) -> list[OperationOutcome]:
    try:
        results = response["results"]
        exists = bool(response["entityExists"])
        new_state = response["entityState"]
        if len(results) != len(ops):
            raise ValueError(f"{len(results)} results for {len(ops)} operations")
        outcomes = [
            OperationOutcome(r, bool(res["isError"]), str(res["result"]), int(res.get("duration", 0)))
            for r, res in zip(ops, results, strict=True)
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise EntityBatchError(f"entity {entity_id} returned a malformed batch response: {exc}") from exc
    state.exists = exists
    state.state = new_state if exists else None
    return outcomes


def _signal_method(outbox: list[tuple[Any, str, Any, datetime | None]]) -> Callable[..., None]:
    def signal_entity(
        entity_id: Any,
        operation_name: str,
        operation_input: Any = None,
        scheduled_time: datetime | None = None,
    ) -> None:
        """Signal another entity once this operation succeeds (host extension of the SDK)."""
        entity_id_of(entity_id)  # validate now, in the caller's operation
        outbox.append((entity_id, operation_name, operation_input, scheduled_time))

    return signal_entity


def _guarded(
    user_fn: Callable[[DurableEntityContext], None],
    outbox: list[tuple[Any, str, Any, datetime | None]],
    raised: list[Exception | None],
) -> Callable[[DurableEntityContext], None]:
    def run_operation(ctx: DurableEntityContext) -> None:
        saved_state, saved_raw, saved_exists = ctx._state, ctx._state_is_raw, ctx._exists
        ctx._result = None
        mark = len(outbox)
        started = time.perf_counter()
        try:
            if saved_state is not None and not saved_raw:
                saved_state, saved_raw = df_dumps(saved_state), True
            user_fn(ctx)
        except Exception as exc:
            ctx._state, ctx._state_is_raw, ctx._exists = saved_state, saved_raw, saved_exists
            del outbox[mark:]
            raised.append(exc)
            log.debug(
                "entity operation failed after %.1f ms; state rolled back",
                (time.perf_counter() - started) * 1000,
            )
            raise
        raised.append(None)

    return run_operation
