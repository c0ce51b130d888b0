"""The Event Grid webhook ``/runtime/webhooks/EventGrid?functionName=…`` through the HTTP app.

Both schemas (Event Grid and CloudEvents), single events and arrays, the subscription validation
handshakes, the output binding (logged: there is no local topic), keys and the error statuses.
No storage: an Event Grid function needs none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from host.config.settings import load_settings
from host.http.app import build_app
from host.http.auth import EVENTGRID_SYSTEM_KEY
from host.runtime import HostRuntime
from host.triggers.eventgrid import WEBHOOK_PATH, EventGridWebhook

APP = """
import azure.functions as func

app = func.FunctionApp()
SEEN = []

@app.event_grid_trigger(arg_name="event")
@app.event_grid_output(arg_name="out", topic_endpoint_uri="TOPIC_URI", topic_key_setting="TOPIC_KEY")
def on_event(event: func.EventGridEvent, out: func.Out[func.EventGridOutputEvent]) -> None:
    SEEN.append(event)
    out.set(func.EventGridOutputEvent(id="out-1", data={"echo": event.subject}, subject="echoed",
                                      event_type="Echo", event_time=None, data_version="1.0"))

@app.route(route="plain")
def plain(req: func.HttpRequest) -> str:
    return "ok"
"""

GRID_EVENT = {
    "id": "e1",
    "topic": "/subscriptions/x/topics/t",
    "subject": "blobs/a.txt",
    "eventType": "Microsoft.Storage.BlobCreated",
    "eventTime": "2026-01-02T03:04:05Z",
    "data": {"size": 3},
    "dataVersion": "1.0",
    "metadataVersion": "1",
}
CLOUD_EVENT = {
    "specversion": "1.0",
    "id": "c1",
    "source": "/my/source",
    "type": "My.Event",
    "time": "2026-01-02T03:04:05Z",
    "subject": "thing",
    "data": {"n": 1},
}
NOTIFY = {"aeg-event-type": "Notification"}
URL = "/runtime/webhooks/EventGrid?functionName=on_event"

Client = Callable[..., Awaitable[tuple[httpx.AsyncClient, HostRuntime]]]


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    monkeypatch.chdir(tmp_path)
    made: list[tuple[httpx.AsyncClient, HostRuntime]] = []

    async def make(*, enable_auth: bool = False) -> tuple[httpx.AsyncClient, HostRuntime]:
        root = tmp_path / "app"
        root.mkdir(exist_ok=True)
        (root / "host.json").write_text(json.dumps({"version": "2.0"}))
        (root / "function_app.py").write_text(APP)
        settings = load_settings(
            root, enable_auth=enable_auth, environ={"FUNCTIONS_WORKER_RUNTIME": "python"}
        )
        runtime = HostRuntime(settings, components=("host.triggers.eventgrid",))
        await runtime.start()
        runtime.mark_running()
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(runtime)), base_url="http://127.0.0.1:7071"
        )
        made.append((http, runtime))
        return http, runtime

    yield make
    for http, runtime in made:
        await http.aclose()
        await runtime.stop()


def seen(runtime: HostRuntime) -> list[Any]:
    fn = runtime.registry.get("on_event")
    assert fn is not None
    return list(fn.func.__globals__["SEEN"])


async def test_a_single_event_grid_event_reaches_the_function(client: Client) -> None:
    http, runtime = await client()
    r = await http.post(URL, json=GRID_EVENT, headers=NOTIFY)
    assert r.status_code == 202, r.text
    [event] = seen(runtime)
    assert (event.id, event.subject, event.event_type, event.topic) == (
        "e1",
        "blobs/a.txt",
        "Microsoft.Storage.BlobCreated",
        "/subscriptions/x/topics/t",
    )
    assert event.get_json() == {"size": 3}
    assert event.event_time is not None and event.event_time.year == 2026


async def test_an_array_invokes_once_per_event(client: Client) -> None:
    http, runtime = await client()
    events = [GRID_EVENT, {**GRID_EVENT, "id": "e2"}, {**GRID_EVENT, "id": "e3"}]
    r = await http.post(URL, json=events, headers=NOTIFY)
    assert r.status_code == 202, r.text
    assert [e.id for e in seen(runtime)] == ["e1", "e2", "e3"]


async def test_cloud_events_single_and_batch_without_the_aeg_header(client: Client) -> None:
    http, runtime = await client()
    r = await http.post(
        URL, content=json.dumps(CLOUD_EVENT), headers={"content-type": "application/cloudevents+json"}
    )
    assert r.status_code == 202, r.text
    r = await http.post(URL, json=[{**CLOUD_EVENT, "id": "c2"}, {**CLOUD_EVENT, "id": "c3"}])
    assert r.status_code == 202, r.text
    events = seen(runtime)
    assert [e.id for e in events] == ["c1", "c2", "c3"]
    assert (events[0].source, events[0].type, events[0].get_json()) == ("/my/source", "My.Event", {"n": 1})


async def test_subscription_validation_answers_the_code_without_invoking(client: Client) -> None:
    http, runtime = await client()
    validation = [
        {
            **GRID_EVENT,
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
        }
    ]
    r = await http.post(URL, json=validation, headers={"aeg-event-type": "SubscriptionValidation"})
    assert r.status_code == 200
    assert r.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    assert seen(runtime) == []


async def test_cloud_events_webhook_validation_allows_the_origin(client: Client) -> None:
    http, _ = await client()
    r = await http.options(URL, headers={"WebHook-Request-Origin": "eventemitter.example.com"})
    assert r.status_code == 200
    assert r.headers["WebHook-Allowed-Origin"] == "eventemitter.example.com"


async def test_the_output_binding_is_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    http, _ = await client()
    with caplog.at_level(logging.INFO):
        r = await http.post(URL, json=GRID_EVENT, headers=NOTIFY)
    assert r.status_code == 202, r.text
    logged = [rec.getMessage() for rec in caplog.records if "out-1" in rec.getMessage()]
    assert logged and "no local topic" in logged[0] and '"echo": "blobs/a.txt"' in logged[0]


@pytest.mark.parametrize(
    ("url", "body", "headers", "status", "says"),
    [
        ("/runtime/webhooks/EventGrid?functionName=nope", GRID_EVENT, NOTIFY, 404, "nope"),
        ("/runtime/webhooks/EventGrid?functionName=plain", GRID_EVENT, NOTIFY, 404, "plain"),
        ("/runtime/webhooks/EventGrid", GRID_EVENT, NOTIFY, 400, "functionName"),
        (URL, b"{not json", NOTIFY, 400, "JSON"),
        (URL, GRID_EVENT, {}, 400, "aeg-event-type"),
        (URL, GRID_EVENT, {"aeg-event-type": "Bogus"}, 400, "aeg-event-type"),
        (URL, [1, 2], NOTIFY, 400, "object"),
    ],
)
async def test_errors(
    client: Client, url: str, body: Any, headers: dict[str, str], status: int, says: str
) -> None:
    http, runtime = await client()
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = await http.post(url, content=content, headers={"content-type": "application/json", **headers})
    assert r.status_code == status, r.text
    assert says in r.text
    assert seen(runtime) == []


async def test_auth_needs_the_eventgrid_system_key(client: Client) -> None:
    http, runtime = await client(enable_auth=True)
    keys = runtime.keys
    assert keys is not None
    assert (await http.post(URL, json=GRID_EVENT, headers=NOTIFY)).status_code == 401
    wrong = await http.post(URL + "&code=wrong", json=GRID_EVENT, headers=NOTIFY)
    assert wrong.status_code == 401
    system = keys.system_key(EVENTGRID_SYSTEM_KEY)
    assert system
    ok = await http.post(f"{URL}&code={system}", json=GRID_EVENT, headers=NOTIFY)
    assert ok.status_code == 202, ok.text
    master = await http.post(URL, json=GRID_EVENT, headers={**NOTIFY, "x-functions-key": keys.master_key})
    assert master.status_code == 202
    assert len(seen(runtime)) == 2


async def test_the_local_guard_refuses_a_foreign_host_header(client: Client) -> None:
    http, runtime = await client()
    r = await http.post(URL, json=GRID_EVENT, headers={**NOTIFY, "host": "evil.example.com"})
    assert r.status_code in (400, 403)
    assert seen(runtime) == []


async def test_a_body_over_the_limit_is_413_and_nested_json_400(client: Client) -> None:
    http, runtime = await client()
    small = EventGridWebhook(runtime.registry, runtime.invoker, None, max_body=100)
    app = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=Route(WEBHOOK_PATH, small.handle, methods=["POST"])),
        base_url="http://127.0.0.1:7071",
    )
    async with app:
        r = await app.post(URL, json={**GRID_EVENT, "pad": "x" * 200}, headers=NOTIFY)
        assert r.status_code == 413 and "100 bytes" in r.text
    deep = "[" * 100 + "]" * 100
    r = await http.post(URL, content=deep, headers={**NOTIFY, "content-type": "application/json"})
    assert r.status_code == 400 and "nested" in r.text
    assert seen(runtime) == []
