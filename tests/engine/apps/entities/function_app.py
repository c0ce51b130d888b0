"""Test app for durable entities: a Counter, an order-recording Log, a Forwarder that signals
other entities, orchestrations that signal and call them, and HTTP routes standing in for clients."""

import json
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        context.set_state(value + context.get_input())
    elif op == "reset":
        context.set_state(0)
    elif op == "get":
        context.set_result(value)
    elif op == "fail":
        context.set_state(value + 1000)  # rolled back by the host when the operation raises
        raise ValueError(f"boom at {value}")
    elif op == "delete":
        context.destruct_on_exit()
    elif op == "whoami":
        context.set_result(context.entity_key)
    else:
        raise ValueError(f"Counter has no operation '{op}'")


@app.entity_trigger(context_name="context", entity_name="Log")
def log_entity(context: df.DurableEntityContext) -> None:
    items = context.get_state(list)
    if context.operation_name == "append":
        items.append(context.get_input())
        context.set_state(items)
    elif context.operation_name == "get":
        context.set_result(items)


@app.entity_trigger(context_name="context", entity_name="Forwarder")
def forwarder(context: df.DurableEntityContext) -> None:
    """forward {key, amount[, delay]}: signal Counter(key) add amount (optionally later)."""
    request = context.get_input()
    target = df.EntityId("Counter", request["key"])
    if context.operation_name == "forward":
        when = None
        if request.get("delay"):
            when = datetime.now(UTC) + timedelta(seconds=request["delay"])
        context.signal_entity(target, "add", request["amount"], scheduled_time=when)
        context.set_state(context.get_state(lambda: 0) + 1)


@app.orchestration_trigger(context_name="context")
def ordered_signals(context: df.DurableOrchestrationContext):
    """Signal Log(key) append 0..n-1 across two episodes, then read it back with a call."""
    args = context.get_input()
    log = df.EntityId("Log", args["key"])
    half = args["n"] // 2
    for i in range(half):
        context.signal_entity(log, "append", i)
    yield context.call_entity(df.EntityId("Counter", args["key"]), "get")  # a second episode
    for i in range(half, args["n"]):
        context.signal_entity(log, "append", i)
    return (yield context.call_entity(log, "get"))


@app.orchestration_trigger(context_name="context")
def call_counter(context: df.DurableOrchestrationContext):
    """add, then a failing operation (caught), then an unknown one, then get."""
    key = context.get_input()
    target = df.EntityId("Counter", key)
    added = yield context.call_entity(target, "add", 5)
    errors = []
    for op in ("fail", "explode"):
        try:
            yield context.call_entity(target, op)
        except Exception as e:
            errors.append(str(e))
    value = yield context.call_entity(target, "get")
    me = yield context.call_entity(target, "whoami")
    return {"added": added, "errors": errors, "value": value, "key": me}


@app.orchestration_trigger(context_name="context")
def call_unknown(context: df.DurableOrchestrationContext):
    try:
        yield context.call_entity(df.EntityId("NoSuchEntity", "k"), "get")
    except Exception as e:
        return f"error: {e}"
    return "no error"


@app.route(route="counter/{key}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def feed(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    op = req.params.get("op") or "add"
    body = req.get_body()
    value = json.loads(body) if body else None
    await client.signal_entity(
        df.EntityId(req.params.get("entity") or "Counter", req.route_params["key"]), op, value
    )
    return func.HttpResponse(status_code=202)


@app.route(route="counter/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    state = await client.read_entity_state(
        df.EntityId(req.params.get("entity") or "Counter", req.route_params["key"])
    )
    if not state.entity_exists:
        return func.HttpResponse("none", status_code=404)
    return func.HttpResponse(json.dumps(state.entity_state), mimetype="application/json")
