"""Entities are visible: each batch is logged like any function, a failed operation with the
extension's wording and its error."""

from __future__ import annotations

import logging
import re

import pytest
from entities_support import ENTITIES_APP, wait_state
from waiting import eventually

from host.durable.entities.ids import EntityId
from host.testing.app_host import AppHost

HOST_APP = ENTITIES_APP
UUID = r"[0-9a-f-]{36}"


async def test_entity_batches_and_failed_operations_are_logged(
    host: AppHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await host.durable_client.signal_entity("Counter", "k1", "add", 2)
    await wait_state(host, EntityId("counter", "k1"), 2)
    await host.durable_client.signal_entity("Counter", "k1", "fail")
    failed = await eventually(
        lambda: [r for r in caplog.records if "failed 'fail' operation" in r.getMessage()],
        what="the failure line",
    )
    text = caplog.text
    assert re.search(rf"Executing 'Functions\.counter' \(Reason='EntityTrigger', Id={UUID}\)", text), text
    assert re.search(rf"Executed 'Functions\.counter' \(Succeeded, Id={UUID}, Duration=\d+ms\)", text), text
    [line] = failed
    assert line.levelno == logging.ERROR
    assert re.fullmatch(
        rf"@counter@k1: Function 'counter \(Entity\)' failed 'fail' operation {UUID} after \d+ms with "
        rf"exception ValueError: boom at 2\. Input: \(Redacted \d+ characters\)\. IsReplay: False\. "
        rf"HubName: {host.hub_name}\.",
        line.getMessage(),
    ), line.getMessage()
    await wait_state(host, EntityId("counter", "k1"), 2)  # rolled back, the entity lives on


async def test_text_that_is_not_json_fails_the_operation_visibly(
    host: AppHost, caplog: pytest.LogCaptureFixture
) -> None:
    # As the extension takes it, a text/plain body is the input's JSON text: "hello" is not JSON.
    caplog.set_level(logging.INFO)
    assert host.client is not None
    r = await host.client.post(
        "/runtime/webhooks/durabletask/entities/Counter/t1?op=add",
        content=b"hello",
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 202
    [line] = await eventually(
        lambda: [r for r in caplog.records if "failed 'add' operation" in r.getMessage()],
        what="the failure line",
    )
    assert "@counter@t1" in line.getMessage() and "JSONDecodeError" in line.getMessage()
    assert "Input: (Redacted 7 characters)" in line.getMessage()  # "hello" as a JSON string
