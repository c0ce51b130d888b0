"""The toolkit's own test app: chaining, a 72-hour approval, retries, a timer trigger, an entity."""

import json
import os
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
TICKS: list[str] = []


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    names = context.get_input() or ["A", "B", "C", "D", "E"]
    out = []
    for name in names:
        out.append((yield context.call_activity("greet", name)))
    return out


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(hours=72)
    timer = context.create_timer(deadline)
    answer = context.wait_for_external_event("Approval")
    winner = yield context.task_any([answer, timer])
    if winner == answer:
        timer.cancel()
        return (yield context.call_activity("record", f"approved by {answer.result}"))
    return (yield context.call_activity("escalate", "no answer in 72 hours"))


@app.orchestration_trigger(context_name="context")
def flaky_chain(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=60_000, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", retry, "x"))


@app.orchestration_trigger(context_name="context")
def count_to(context: df.DurableOrchestrationContext):
    entity = df.EntityId("counter", context.get_input()["key"])
    for _ in range(context.get_input()["n"]):
        context.signal_entity(entity, "add", 1)
    return (yield context.call_entity(entity, "get"))


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"{os.environ.get('GREETING', 'Hi')} {name}"


@app.activity_trigger(input_name="note")
def record(note: str) -> str:
    return note


@app.activity_trigger(input_name="reason")
def escalate(reason: str) -> str:
    return f"escalated: {reason}"


@app.activity_trigger(input_name="value")
def flaky(value: str) -> str:
    raise RuntimeError("always fails unless stubbed")


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(value + context.get_input())
    elif context.operation_name == "get":
        context.set_result(value)


@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer", run_on_startup=False)
def hourly(timer: func.TimerRequest) -> None:
    TICKS.append("tick")
