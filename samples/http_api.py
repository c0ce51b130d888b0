"""The async HTTP API pattern: start an orchestration over HTTP, then poll its status URL.

Register it in a function app with ``app.register_functions(http_api.bp)``.

* ``POST /api/orchestrators/{functionName}`` (optional JSON body = input) starts the named
  orchestrator and answers 202 with the check-status payload (``statusQueryGetUri``,
  ``sendEventPostUri``, ``terminatePostUri``, …) and a ``Location`` header;
* ``GET statusQueryGetUri`` answers 202 while the instance runs and 200 once it is done.

Try it::

    curl -s -X POST http://127.0.0.1:7071/api/orchestrators/hello_sequence
    curl -s "<statusQueryGetUri from the answer>"

``approval_workflow`` waits for an ``Approval`` event (send it to ``sendEventPostUri`` with
``{eventName}`` replaced) or gives up after the number of seconds given as input (default 300).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="orchestrators/{functionName}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start ``functionName`` with the request body (if any) as input; 202 + management URLs."""
    body = req.get_body()
    try:
        payload = req.get_json() if body else None
    except ValueError:
        return func.HttpResponse(
            '{"error": "the body must be JSON"}', status_code=400, mimetype="application/json"
        )
    instance_id = await client.start_new(req.route_params["functionName"], None, payload)
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext) -> Any:
    """Function chaining: three activity calls in a row."""
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@bp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@bp.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext) -> Any:
    """Human interaction: an ``Approval`` event or a timeout, whichever comes first."""
    seconds = context.get_input() or 300
    context.set_custom_status("waiting for approval")
    deadline = context.current_utc_datetime + timedelta(seconds=float(seconds))
    timer = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timer])
    if winner == approval:
        timer.cancel()
        return {"approved": True, "by": approval.result}
    return {"approved": False, "reason": "timed out"}
