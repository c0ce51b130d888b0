"""Payloads through the engine on Azurite: user classes with to_json/from_json, and payloads too
large for a queue message (64 KiB) or a table column (32 K chars) that travel through blobs."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator

import pytest
from azure.functions._durable_functions import df_dumps
from engine_support import APPS

from host.testing.app_host import AppHost

PAYLOADS = APPS / "payloads"


@pytest.fixture
async def host(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    sys.path.insert(0, str(PAYLOADS))  # the app's own module (shapes.py), as the worker does
    try:
        async with AppHost(PAYLOADS, connection_string=azurite_connection_string, virtual_time=False) as h:
            yield h
    finally:
        sys.path.remove(str(PAYLOADS))
        sys.modules.pop("shapes", None)


async def test_user_classes_round_trip_through_inputs_and_activities(host: AppHost) -> None:
    from shapes import Box

    # As the SDK's client sends it: JSON text (with the class envelope) of the JSON text.
    input_text = json.dumps(df_dumps(Box(3, "small")))
    instance_id = await host.management.start_orchestration("box_flow", None, input_text)
    status = await host.wait(instance_id, timeout=30)
    assert status.runtime_status == "Completed", status.output
    assert json.loads(status.output or "null") == {"kind": "Box", "width": 6, "label": "small!"}
    history = await host.management.get_history(instance_id)
    completed = next(e for e in history if e["EventType"] == 5)
    assert json.loads(completed["Result"])["__class__"] == "Box"  # the SDK's envelope on the wire


async def test_payloads_larger_than_a_queue_message_and_a_table_column(host: AppHost) -> None:
    size = 200_000  # > 64 KiB queue message, > 32 K chars table property
    status = await host.run("big_flow", size, timeout=60)
    assert status.runtime_status == "Completed", status.output
    assert json.loads(status.output or "null") == {
        "length": size,
        "head": "abcde",
        "tail": "".join(chr(ord("a") + i % 26) for i in range(size - 5, size)),
    }
    hub = host.durable.hub
    blobs = await hub.storage.list_blobs(hub.names.large_messages_container, f"{status.instance_id}/")
    assert blobs, "the large activity result and input should have been stored as blobs"
    history = await host.management.get_history(status.instance_id)
    results = [e["Result"] for e in history if e["EventType"] == 5]
    assert len(json.loads(results[0])) == size  # read back whole from its blob
