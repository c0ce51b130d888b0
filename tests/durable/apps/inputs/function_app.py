"""Test app for inputs: every way in reports exactly the value ``get_input()`` (or an event) gave."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    return {"seen": context.get_input()}


@app.orchestration_trigger(context_name="context")
def echo_event(context: df.DurableOrchestrationContext):
    value = yield context.wait_for_external_event("E")
    return {"seen": value}


@app.entity_trigger(context_name="context", entity_name="Box")
def box(context: df.DurableEntityContext) -> None:
    if context.operation_name == "put":
        context.set_state({"seen": context.get_input()})
    else:
        raise ValueError(f"Box has no operation '{context.operation_name}'")


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_http(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The usual HTTP starter: the request's JSON body is the orchestration input."""
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)
