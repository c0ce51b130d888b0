"""Test app for the dashboard data (tests/durable/test_inspect_*.py): an HTTP function that fails
on request, an orchestrator waiting for an event, an activity that raises, a Counter entity."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="greet")
def greet(req: func.HttpRequest) -> func.HttpResponse:
    if req.params.get("fail"):
        raise ValueError(f"greeting refused: {req.params['fail']}")
    return func.HttpResponse("hello")


@app.orchestration_trigger(context_name="context")
def waits_for_approval(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", "before")
    return (yield context.wait_for_external_event("Approval"))


@app.orchestration_trigger(context_name="context")
def calls_boom(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("boom", context.get_input()))


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="message")
def boom(message: str) -> None:
    raise RuntimeError(message)


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(value + context.get_input())
    elif context.operation_name == "delete":
        context.destruct_on_exit()
