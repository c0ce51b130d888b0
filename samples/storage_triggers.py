"""Sample: storage triggers next to Durable Functions (register with ``app.register_functions(bp)``).

* ``enqueue_order`` (HTTP POST /api/orders) puts the order on the ``orders`` queue;
* ``start_order`` (queue trigger on ``orders``) starts the ``process_order`` orchestration with
  the durable client binding, using the order id as the instance id;
* ``process_order`` calls the ``charge`` activity and records the result in the ``orders``
  table through a second activity;
* ``cleanup_history`` (timer, every day at 03:00 local time) purges completed/failed/terminated
  instances older than seven days.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="orders", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
def enqueue_order(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    order = req.get_json()
    msg.set(json.dumps(order))
    return func.HttpResponse(
        json.dumps({"queued": order.get("id")}), status_code=202, mimetype="application/json"
    )


@bp.queue_trigger(arg_name="msg", queue_name="orders", connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def start_order(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    order = msg.get_json()
    instance_id = await client.start_new("process_order", str(order["id"]), order)
    logging.info("Started orchestration %s for queue message %s", instance_id, msg.id)


@bp.orchestration_trigger(context_name="context")
def process_order(context: df.DurableOrchestrationContext):
    order = context.get_input()
    receipt = yield context.call_activity("charge", order)
    yield context.call_activity("record_order", {"order": order, "receipt": receipt})
    return receipt


@bp.activity_trigger(input_name="order")
def charge(order: dict[str, Any]) -> str:
    return f"charged {order.get('amount', 0)} for order {order['id']}"


@bp.activity_trigger(input_name="item")
@bp.table_output(arg_name="row", table_name="orders", connection="AzureWebJobsStorage")
def record_order(item: dict[str, Any], row: func.Out[str]) -> str:
    order = item["order"]
    row.set(
        json.dumps(
            {"PartitionKey": "orders", "RowKey": str(order["id"]), "Receipt": item["receipt"], "ETag": "*"}
        )
    )
    return "recorded"


@bp.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def cleanup_history(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    if timer.past_due:
        logging.warning("cleanup_history is running late")
    cutoff = datetime.now(UTC) - timedelta(days=7)
    result = await client.purge_instance_history_by(
        created_time_from=datetime(2000, 1, 1, tzinfo=UTC),
        created_time_to=cutoff,
        runtime_status=[
            df.OrchestrationRuntimeStatus.Completed,
            df.OrchestrationRuntimeStatus.Failed,
            df.OrchestrationRuntimeStatus.Terminated,
        ],
    )
    logging.info("Purged %d old orchestration instances", result.instances_deleted)
