"""The aggregator pattern: a ``Counter`` entity fed over HTTP, its value readable over HTTP.

Register it in a function app with ``app.register_functions(aggregator.bp)``.

* ``POST /api/aggregator/{key}`` with a JSON number (or ``{"value": n}``) signals ``add``
  (standing in for an event stream); ``POST /api/aggregator/{key}/reset`` signals ``reset``.
* ``GET /api/aggregator/{key}`` reads the counter's state (404 if it never existed).
"""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    """add(n) / reset / get; anything else is an error the caller sees."""
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        amount = context.get_input()
        if not isinstance(amount, int | float):
            raise ValueError(f"add needs a number, got {amount!r}")
        context.set_state(value + amount)
    elif op == "reset":
        context.set_state(0)
    elif op == "get":
        context.set_result(value)
    elif op == "delete":
        context.destruct_on_exit()
    else:
        raise ValueError(f"Counter has no operation '{op}'")


@bp.route(route="aggregator/{key}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def feed(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Signal ``add`` with the posted number."""
    try:
        body = req.get_json()
    except ValueError:
        return func.HttpResponse("body must be a JSON number", status_code=400)
    amount = body.get("value") if isinstance(body, dict) else body
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        return func.HttpResponse("body must be a JSON number", status_code=400)
    await client.signal_entity(df.EntityId("Counter", req.route_params["key"]), "add", amount)
    return func.HttpResponse(status_code=202)


@bp.route(route="aggregator/{key}/reset", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def reset(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Signal ``reset``."""
    await client.signal_entity(df.EntityId("Counter", req.route_params["key"]), "reset")
    return func.HttpResponse(status_code=202)


@bp.route(route="aggregator/{key}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def read(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The counter's current value."""
    state = await client.read_entity_state(df.EntityId("Counter", req.route_params["key"]))
    if not state.entity_exists:
        return func.HttpResponse("no such counter", status_code=404)
    return func.HttpResponse(
        json.dumps({"key": req.route_params["key"], "value": state.entity_state}), mimetype="application/json"
    )
