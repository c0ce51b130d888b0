"""A durable client binding with ``task_hub`` and ``connection_name`` talks to that hub and that
storage account (the SDK's client, called from a real function, against the real host)."""

from __future__ import annotations

from pathlib import Path

import httpx
from client_host_support import served_host, unique_hub

from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.storage.factory import open_storage

APP = """
import json
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def noop(context):
    return "done"


@app.route(route="other/start", methods=["POST"])
@app.durable_client_input(client_name="client", task_hub="%OTHER_HUB%", connection_name="OtherStorage")
async def start_elsewhere(req: func.HttpRequest, client) -> func.HttpResponse:
    iid = await client.start_new("noop", None, None)
    status = await client.get_status(iid)
    return func.HttpResponse(json.dumps({"id": iid, "status": status.runtime_status.name}))
"""


async def test_binding_task_hub_and_connection_are_honoured(
    tmp_path: Path, azurite_connection_string: str, monkeypatch
) -> None:
    own, other = unique_hub("own"), unique_hub("other")
    monkeypatch.setenv("OTHER_HUB", other)
    monkeypatch.setenv("OtherStorage", azurite_connection_string)
    async with (
        served_host(tmp_path / "app", APP, azurite_connection_string, hub=own) as (base, _rt),
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        resp = await client.post("/api/other/start")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # Nobody runs the other hub: the instance waits there, Pending, and the host's hub has none.
    assert body["status"] == "Pending"
    storage = open_storage(azurite_connection_string)
    try:
        elsewhere = await TaskHub(storage, TaskHubNames(other)).get_instance(body["id"])
        at_home = await TaskHub(storage, TaskHubNames(own)).get_instance(body["id"])
    finally:
        await storage.close()
    assert elsewhere is not None and elsewhere.name == "noop" and elsewhere.runtime_status == "Pending"
    assert at_home is None
