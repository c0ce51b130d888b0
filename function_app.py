"""The sample app: a Durable Functions app in the Python v2 programming model.

Besides two plain HTTP functions it shows the classic Durable Functions patterns, each started
over HTTP with ``POST /api/patterns/{pattern}`` (optional JSON body = the orchestration's input):

* ``chaining``  - function chaining: activities called one after another, each result feeding
  the next (``order_pipeline``);
* ``fan-out``   - fan-out/fan-in: many activities in parallel, their results aggregated
  (``word_count``);
* ``monitor``   - a monitor: poll something with a durable timer until a condition holds or a
  deadline passes (``job_monitor``);
* ``approval``  - human interaction: wait for an ``Approval`` event, racing a 72-hour durable
  timer, and escalate if nobody answers (``approval_request``). Approve it by posting who
  approves (JSON) to the ``sendEventPostUri`` of the 202 answer, ``{eventName}`` = ``Approval``.

The starter answers 202 with the management URLs (``statusQueryGetUri`` and friends). Try it::

    curl -s -X POST http://127.0.0.1:7071/api/patterns/chaining
    curl -s "<statusQueryGetUri from the answer>"

An orchestrator must be deterministic: it is replayed from its history after every await, so it
takes time from ``context.current_utc_datetime`` (never ``datetime.now()``) and does all I/O in
activities. Activities are ordinary functions and may do anything.
"""

import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from samples import aggregator, http_api, storage_triggers

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api.bp)  # POST /api/orchestrators/{functionName}
app.register_functions(aggregator.bp)  # Counter entity: POST/GET /api/aggregator/{key}
app.register_functions(storage_triggers.bp)  # POST /api/orders -> queue -> orchestration; daily cleanup


@app.route(route="hello/{name?}", methods=["GET", "POST"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    """Greets ``name`` from the route, the query string or a JSON body."""
    name = req.route_params.get("name") or req.params.get("name")
    if not name and req.get_body():
        try:
            name = req.get_json().get("name")
        except ValueError:
            name = None
    logging.info("hello called for %s", name or "the world")
    return func.HttpResponse(f"Hello, {name or 'world'}!")


@app.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """A cheap liveness check."""
    return func.HttpResponse('{"status": "ok"}', mimetype="application/json")


# ------------------------------------------------------------------------------------ starters
PATTERNS = {
    "chaining": "order_pipeline",
    "fan-out": "word_count",
    "monitor": "job_monitor",
    "approval": "approval_request",
}


@app.route(route="patterns/{pattern}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_pattern(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the orchestration of ``pattern`` (see ``PATTERNS``) and answer 202 + status URLs."""
    orchestrator = PATTERNS.get(req.route_params["pattern"])
    if orchestrator is None:
        return func.HttpResponse(f"unknown pattern; use one of {', '.join(PATTERNS)}", status_code=404)
    try:
        payload = req.get_json() if req.get_body() else None
    except ValueError:
        return func.HttpResponse("the body must be JSON", status_code=400)
    instance_id = await client.start_new(orchestrator, None, payload)
    logging.info("started %s as %s", orchestrator, instance_id)
    return client.create_check_status_response(req, instance_id)


# ------------------------------------------------------------------------------------ chaining
@app.orchestration_trigger(context_name="context")
def order_pipeline(context: df.DurableOrchestrationContext):
    """Function chaining: validate, reserve, confirm - each step gets the previous step's result."""
    order = context.get_input() or {"id": "order-1", "items": {"apple": 3, "pear": 2}}
    validated = yield context.call_activity("validate_order", order)
    reservation = yield context.call_activity("reserve_stock", validated)
    return (yield context.call_activity("send_confirmation", reservation))


@app.activity_trigger(input_name="order")
def validate_order(order: dict) -> dict:
    items = {name: int(qty) for name, qty in (order.get("items") or {}).items() if int(qty) > 0}
    if not items:
        raise ValueError(f"order {order.get('id')} has no items")
    return {"id": order.get("id", "order"), "items": items}


@app.activity_trigger(input_name="order")
def reserve_stock(order: dict) -> dict:
    # A real app would call an inventory service here.
    return {**order, "reservation": f"R-{order['id']}-{sum(order['items'].values())}"}


@app.activity_trigger(input_name="order")
def send_confirmation(order: dict) -> str:
    logging.info("confirming %s", order["id"])
    return f"Order {order['id']} confirmed ({order['reservation']})"


# ------------------------------------------------------------------------------------ fan-out/fan-in
SAMPLE_DOCUMENTS = [
    "Durable Functions lets you write stateful functions",
    "in a serverless compute environment",
    "orchestrations are replayed from their history",
]


@app.orchestration_trigger(context_name="context")
def word_count(context: df.DurableOrchestrationContext):
    """Fan-out/fan-in: one activity per document, all in parallel, then the total."""
    documents = context.get_input() or SAMPLE_DOCUMENTS
    counts = yield context.task_all([context.call_activity("count_words", doc) for doc in documents])
    return {"documents": len(documents), "words": sum(counts)}


@app.activity_trigger(input_name="document")
def count_words(document: str) -> int:
    return len(document.split())


# ------------------------------------------------------------------------------------ monitor
@app.orchestration_trigger(context_name="context")
def job_monitor(context: df.DurableOrchestrationContext):
    """Monitor: check a job every ``poll_seconds`` until it is done or ``expiry_seconds`` passed.

    Input: ``{"job_id": ..., "ready_at": ISO time the (simulated) job finishes, "poll_seconds": 2,
    "expiry_seconds": 60}``; without ``ready_at`` the job finishes 5 seconds after the start.
    """
    job = dict(context.get_input() or {})
    now = context.current_utc_datetime
    job.setdefault("job_id", context.instance_id)
    job.setdefault("ready_at", (now + timedelta(seconds=5)).isoformat())
    poll = timedelta(seconds=float(job.get("poll_seconds", 2)))
    expiry = now + timedelta(seconds=float(job.get("expiry_seconds", 60)))
    checks = 0
    while context.current_utc_datetime < expiry:
        checks += 1
        status = yield context.call_activity("check_job", job)
        context.set_custom_status({"checks": checks, "job": status})
        if status == "done":
            yield context.call_activity("notify", f"job {job['job_id']} finished")
            return {"job": job["job_id"], "status": "done", "checks": checks}
        # A durable timer: the instance is unloaded while it sleeps and costs nothing.
        yield context.create_timer(context.current_utc_datetime + poll)
    return {"job": job["job_id"], "status": "expired", "checks": checks}


@app.activity_trigger(input_name="job")
def check_job(job: dict) -> str:
    """A stand-in for asking an external system about a job."""
    ready_at = datetime.fromisoformat(job["ready_at"])
    if ready_at.tzinfo is None:
        ready_at = ready_at.replace(tzinfo=UTC)
    return "done" if datetime.now(UTC) >= ready_at else "running"


@app.activity_trigger(input_name="message")
def notify(message: str) -> str:
    logging.info("notification: %s", message)
    return message


# ------------------------------------------------------------------------------------ human interaction
@app.orchestration_trigger(context_name="context")
def approval_request(context: df.DurableOrchestrationContext):
    """Human interaction: an ``Approval`` event or, after 72 hours (``timeout_hours``), escalation."""
    request = dict(context.get_input() or {"subject": "expense report", "amount": 250})
    yield context.call_activity("request_approval", request)
    deadline = context.current_utc_datetime + timedelta(hours=float(request.get("timeout_hours", 72)))
    timeout = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    context.set_custom_status({"waiting_until": deadline.isoformat()})
    winner = yield context.task_any([approval, timeout])
    if winner == approval:
        timeout.cancel()  # a pending timer would keep the instance running until it fires
        return {"approved": True, "by": approval.result}
    escalated_to = yield context.call_activity("escalate", request)
    return {"approved": False, "escalated_to": escalated_to}


@app.activity_trigger(input_name="request")
def request_approval(request: dict) -> str:
    logging.info("approval requested for %s", request.get("subject"))
    return "requested"


@app.activity_trigger(input_name="request")
def escalate(request: dict) -> str:
    logging.warning("no approval for %s in time: escalating", request.get("subject"))
    return "manager"
