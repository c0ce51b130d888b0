"""Smoke app of the identity-based connection tests: a chain, a fan-out, an entity, a queue
trigger and blob bindings (the trigger and its blobs on their own connection, ``IdConn``)."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def hello_chain(context: df.DurableOrchestrationContext):
    results = []
    for city in context.get_input():
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    values = yield context.task_all([context.call_activity("square", i) for i in range(context.get_input())])
    return sum(values)


@app.orchestration_trigger(context_name="context")
def count(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input())
    for n in (1, 2, 3):
        context.signal_entity(entity, "add", n)
    return (yield context.call_entity(entity, "get"))


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(value + context.get_input())
    elif context.operation_name == "get":
        context.set_result(value)


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="n")
def square(n: int) -> int:
    return n * n


@app.queue_trigger(arg_name="msg", queue_name="idin", connection="IdConn")
@app.blob_input(arg_name="src", path="idsrc/{name}", connection="IdConn")
@app.blob_output(arg_name="out", path="idout/{name}", connection="IdConn")
def copy(msg: func.QueueMessage, src: str, out: func.Out[str]) -> None:
    out.set(json.dumps({"name": msg.get_json()["name"], "upper": src.upper()}))
