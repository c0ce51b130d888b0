"""Versioning test app: a packing workflow whose steps depend on the instance's version.

Instances of version "1.0" pack by hand, every other version packs by robot. A held instance
waits for a "release" event half-way, so a test can restart the host with another
defaultVersion in between. ``label`` is a sub-orchestration that answers its own version.
"""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="begin/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def begin(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start an orchestration; ``?version=`` pins its version, else the host's default applies."""
    version = req.params.get("version")
    body = req.get_body()
    payload = json.loads(body) if body else None
    if version is None:
        instance_id = await client.start_new(req.route_params["name"], client_input=payload)
    else:
        instance_id = await client.start_new(req.route_params["name"], client_input=payload, version=version)
    return client.create_check_status_response(req, instance_id)


@app.route(route="peek/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def peek(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """What the SDK client's get_status says about an instance."""
    status = await client.get_status(req.route_params["instance_id"])
    seen = {"runtimeStatus": status.runtime_status.value, "version": getattr(status, "version", None)}
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def pack(context: df.DurableOrchestrationContext):
    options = context.get_input() or {}
    seen = [context.version]
    if context.version == "1.0":
        packed = yield context.call_activity("pack_by_hand", "parcel")
    else:
        packed = yield context.call_activity("pack_by_robot", "parcel")
    seen.append(context.version)
    if options.get("hold"):
        context.set_custom_status({"held": True, "version": context.version})
        yield context.wait_for_external_event("release")
        seen.append(context.version)
    inherited = yield context.call_sub_orchestrator("label")
    pinned = yield context.call_sub_orchestrator("label", version="0.5")
    return {
        "version": context.version,
        "seen": seen,
        "packed": packed,
        "child_default": inherited,
        "child_pinned": pinned,
    }


@app.orchestration_trigger(context_name="context")
def label(context: df.DurableOrchestrationContext):
    return context.version


@app.orchestration_trigger(context_name="context")
def stamp(context: df.DurableOrchestrationContext):
    """Answers its version after one activity (the strategy tests start it with chosen versions)."""
    packed = yield context.call_activity("pack_by_robot", context.version)
    return {"version": context.version, "packed": packed}


@app.activity_trigger(input_name="item")
def pack_by_hand(item: str) -> str:
    return f"{item} packed by hand"


@app.activity_trigger(input_name="item")
def pack_by_robot(item: str) -> str:
    return f"{item} packed by robot"
