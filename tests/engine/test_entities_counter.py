"""The Counter entity end to end on Azurite: client signals, calls from orchestrations, rollback,
deletion, unknown operations and entities, reading and listing over the HTTP API."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from entities_support import (
    ENTITIES_APP,
    deleted_and_alive,
    entity_row,
    entity_state,
    signal,
    wait_for,
    wait_state,
)

from host.durable.cli.clean_entities import clean_entity_storage
from host.durable.entities.ids import EntityId
from host.testing.app_host import AppHost

HOST_APP = ENTITIES_APP


def key() -> str:
    return uuid.uuid4().hex[:10]


async def test_concurrent_signals_from_many_clients_give_the_exact_sum(host: AppHost) -> None:
    k = key()
    assert host.client is not None
    responses = await asyncio.gather(
        *(host.client.post(f"/api/counter/{k}", content=json.dumps(i)) for i in range(1, 51))
    )
    assert all(r.status_code == 202 for r in responses)
    await wait_state(host, EntityId("Counter", k), sum(range(1, 51)))
    read = await host.client.get(f"/api/counter/{k}")
    assert read.status_code == 200 and read.json() == 1275
    row = await entity_row(host, EntityId("Counter", k))
    assert row is not None and row.runtime_status == "Running" and row.name == "counter"
    assert json.loads(row.custom_status or "{}") == {"entityExists": True}


async def test_operations_from_one_orchestration_arrive_in_order(host: AppHost) -> None:
    k = key()
    status = await host.run("ordered_signals", {"key": k, "n": 30}, timeout=60)
    assert status.runtime_status == "Completed", status.output
    assert json.loads(status.output or "null") == list(range(30))
    assert await entity_state(host, EntityId("Log", k)) == (True, list(range(30)))


async def test_call_entity_results_rollback_and_unknown_operations(host: AppHost) -> None:
    k = key()
    status = await host.run("call_counter", k, timeout=60)
    assert status.runtime_status == "Completed", status.output
    out = json.loads(status.output or "null")
    assert out["added"] is None
    assert out["value"] == 5  # the failing operation's +1000 was rolled back
    assert out["key"] == k
    assert len(out["errors"]) == 2
    assert "boom at 5" in out["errors"][0]
    assert "no operation 'explode'" in out["errors"][1]
    assert await entity_state(host, EntityId("Counter", k)) == (True, 5)


async def test_unknown_entity_name_gives_a_clear_error(host: AppHost) -> None:
    status = await host.run("call_unknown", None, timeout=60)
    assert status.runtime_status == "Completed", status.output
    text = json.loads(status.output or "null")
    assert text.startswith("error: ") and "nosuchentity" in text.lower() and "does not exist" in text


async def test_destruct_on_exit_deletes_the_entity(host: AppHost) -> None:
    k = key()
    entity = EntityId("Counter", k)
    assert host.client is not None
    await host.client.post(f"/api/counter/{k}", content="7")
    await wait_state(host, entity, 7)
    await host.client.post(f"/api/counter/{k}?op=delete")

    async def gone() -> bool:
        return await entity_state(host, entity) == (False, None)

    await wait_for(gone)
    assert (await host.client.get(f"/api/counter/{k}")).status_code == 404
    api = await host.client.get(f"/runtime/webhooks/durabletask/entities/Counter/{k}")
    assert api.status_code == 404
    row = await entity_row(host, entity)
    assert row is not None and row.runtime_status == "Completed"  # kept until storage is cleaned
    # a deleted entity starts over from its initializer
    await host.client.post(f"/api/counter/{k}", content="2")
    await wait_state(host, entity, 2)


async def test_entity_signals_another_entity(host: AppHost) -> None:
    k = key()
    assert host.client is not None
    for amount in (1, 2, 3):
        r = await host.client.post(
            f"/api/counter/{k}?entity=Forwarder&op=forward", content=json.dumps({"key": k, "amount": amount})
        )
        assert r.status_code == 202
    await wait_state(host, EntityId("Counter", k), 6)
    await wait_state(host, EntityId("Forwarder", k), 3)


async def test_http_api_reads_signals_and_lists_entities(host: AppHost) -> None:
    k = key()
    base = "/runtime/webhooks/durabletask/entities"
    assert host.client is not None
    # a plain JSON value reaches the operation's get_input() as that value
    r = await host.client.post(f"{base}/Counter/{k}?op=add", json=4)
    assert r.status_code == 202
    await wait_state(host, EntityId("Counter", k), 4)
    got = await host.client.get(f"{base}/Counter/{k}")
    assert got.status_code == 200 and got.json() == 4
    listed = await host.client.get(f"{base}/Counter", params={"fetchState": "true"})
    assert listed.status_code == 200
    mine = [e for e in listed.json() if e["entityId"]["key"] == k]
    assert mine == [
        {
            "entityId": {"name": "counter", "key": k},
            "lastOperationTime": mine[0]["lastOperationTime"],
            "state": 4,
        }
    ]


async def test_clean_entity_storage_removes_deleted_entities_only(host: AppHost) -> None:
    deleted, alive = await deleted_and_alive(host)
    removed = await clean_entity_storage(host.durable.hub, min_idle=timedelta(0))
    assert deleted.instance_id in removed and alive.instance_id not in removed
    assert await entity_row(host, deleted) is None
    assert await host.management.get_history(deleted.instance_id) == []
    assert await entity_state(host, alive) == (True, 2)
    # the cleaned entity can be used again from scratch
    await signal(host, deleted, "add", 3)
    await wait_state(host, deleted, 3)
