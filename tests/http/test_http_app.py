"""HTTP triggers served in-process: routing, every return type, failures, concurrency, CORS."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import azure.functions as func
import pytest

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_barrier = threading.Barrier(2, timeout=5)
_arrived: list[str] = []
_both = asyncio.Event()


@app.route(route="hello/{name?}", methods=["GET", "POST"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or req.params.get("name") or "world"
    return func.HttpResponse(f"Hello, {name}!")


@app.route(route="echo/{id:int}", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(
            {
                "method": req.method,
                "url": req.url,
                "params": dict(req.params),
                "route": dict(req.route_params),
                "json": req.get_json(),
                "ua": req.headers.get("User-Agent"),
            }
        ),
        status_code=201,
        mimetype="application/json",
    )


@app.route(route="text")
def text(req: func.HttpRequest) -> str:
    return "plain"


@app.route(route="raw")
def raw(req: func.HttpRequest) -> bytes:
    return b"\x01\x02"


@app.route(route="dict")
async def as_dict(req: func.HttpRequest) -> Any:
    return {"ok": True}


@app.route(route="none")
def returns_none(req: func.HttpRequest) -> func.HttpResponse:
    return None  # type: ignore[return-value]


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("kaboom")


@app.route(route="viaout", binding_arg_name="res")
def via_out(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    res.set(func.HttpResponse("from out", status_code=203))


@app.route(route="ctx")
async def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(
            {
                "name": context.function_name,
                "id": context.invocation_id,
                "trace": context.trace_context.trace_parent,
            }
        )
    )


@app.route(route="slowsync")
def slow_sync(req: func.HttpRequest) -> str:
    _barrier.wait()  # both requests must be inside the function at once
    return "synced"


@app.route(route="slowasync")
async def slow_async(req: func.HttpRequest) -> str:
    _arrived.append(req.params.get("n", ""))
    if len(_arrived) >= 2:
        _both.set()
    await asyncio.wait_for(_both.wait(), 5)
    return "both"


@app.route(route="enqueue", methods=["POST"])
@app.queue_output(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, msg: func.Out[str]) -> str:
    msg.set(req.get_body().decode())
    return "queued"


@app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
def worker(msg: func.QueueMessage) -> None:
    _worked.append(msg.get_body().decode())
    _worked_event.set()


_worked: list[str] = []
_worked_event = threading.Event()


async def test_route_params_query_and_methods(make_client: Any) -> None:
    client, _ = make_client(app)
    r = await client.get("/api/hello/Ann")
    assert (r.status_code, r.text) == (200, "Hello, Ann!")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert (await client.get("/api/HELLO?name=Bo")).text == "Hello, Bo!"
    assert (await client.post("/api/hello")).text == "Hello, world!"
    assert (await client.delete("/api/hello")).status_code == 404
    assert (await client.get("/api/nothing/here")).status_code == 404
    assert (await client.get("/api/nothing/here")).content == b""


async def test_request_object_and_constraints(make_client: Any) -> None:
    client, _ = make_client(app)
    r = await client.post("/api/echo/12?a=1&b=", json={"k": "v"}, headers={"User-Agent": "t/1"})
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "method": "POST",
        "url": "http://localhost:7071/api/echo/12?a=1&b=",
        "params": {"a": "1"},
        "route": {"id": "12"},
        "json": {"k": "v"},
        "ua": "t/1",
    }
    assert (await client.post("/api/echo/x", json={})).status_code == 404
    assert (await client.get("/api/echo/12")).status_code == 404


async def test_return_types(make_client: Any) -> None:
    client, _ = make_client(app)
    r = await client.get("/api/text")
    assert (r.text, r.headers["content-type"]) == ("plain", "text/plain; charset=utf-8")
    r = await client.get("/api/raw")
    assert (r.content, r.headers["content-type"]) == (b"\x01\x02", "application/octet-stream")
    r = await client.get("/api/dict")
    assert r.json() == {"ok": True} and r.headers["content-type"].startswith("application/json")
    r = await client.get("/api/viaout")
    assert (r.status_code, r.text) == (203, "from out")


async def test_failures_are_500_with_traceback_logged(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = make_client(app)
    with caplog.at_level(logging.INFO):
        r = await client.get("/api/boom")
        assert (r.status_code, r.content) == (500, b"")
        r = await client.get("/api/none")
        assert r.status_code == 500
    text = caplog.text
    assert "Executed 'Functions.boom' (Failed" in text and "RuntimeError: kaboom" in text
    assert "in boom" in text  # the stack trace names the user function
    assert "Executed 'Functions.returns_none' (Failed" in text and "NoneType" in text


async def test_context_parameter(make_client: Any) -> None:
    client, _ = make_client(app)
    data = (await client.get("/api/ctx")).json()
    assert data["name"] == "with_context" and len(data["id"]) == 36
    assert data["trace"].startswith("00-") and len(data["trace"]) == 55


async def test_sync_functions_run_concurrently(make_client: Any) -> None:
    client, _ = make_client(app)
    # The barrier in the function breaks (a 500) unless both requests are inside it at once.
    a, b = await asyncio.gather(client.get("/api/slowsync"), client.get("/api/slowsync"))
    assert (a.status_code, b.status_code) == (200, 200) and a.text == "synced"


async def test_async_functions_run_concurrently(make_client: Any) -> None:
    _arrived.clear()
    _both.clear()
    client, _ = make_client(app)
    a, b = await asyncio.gather(client.get("/api/slowasync?n=1"), client.get("/api/slowasync?n=2"))
    assert (a.text, b.text) == ("both", "both")


async def test_out_binding_is_collected_and_written_after_success(make_client: Any) -> None:
    client, runtime = make_client(app)
    written: list[tuple[str, Any]] = []

    async def handler(binding: Any, value: Any, metadata: Any) -> None:
        written.append((binding.get("queueName"), value))

    runtime.invoker.add_output_handler("queue", handler)
    r = await client.post("/api/enqueue", content=b"payload")
    assert (r.status_code, r.text) == (200, "queued")
    assert written == [("work", "payload")]


async def test_admin_endpoints(make_client: Any) -> None:
    _worked.clear()
    _worked_event.clear()
    client, _ = make_client(app)
    status = (await client.get("/admin/host/status")).json()
    assert status["state"] == "Running" and status["id"] == "testhost-1"
    assert (await client.post("/admin/host/ping")).status_code == 200
    listing = (await client.get("/admin/functions")).json()
    names = [f["name"] for f in listing]
    assert "hello" in names and "worker" in names
    hello_meta = next(f for f in listing if f["name"] == "hello")
    assert hello_meta["invoke_url_template"] == "http://127.0.0.1:7071/api/hello/{name?}"
    worker_meta = (await client.get("/admin/functions/worker")).json()
    assert worker_meta["config"]["bindings"][0]["type"] == "queueTrigger"
    assert (await client.get("/admin/functions/missing")).status_code == 404
    r = await client.post("/admin/functions/worker", json={"input": "job-1"})
    assert (r.status_code, r.content) == (202, b"")
    assert await asyncio.to_thread(_worked_event.wait, 5)
    assert _worked == ["job-1"]
    assert (await client.post("/admin/functions/missing", json={"input": "x"})).status_code == 404
    assert (await client.post("/admin/functions/worker", content=b"not json")).status_code == 400
    assert (await client.post("/admin/functions/worker", json={"nope": 1})).status_code == 400


async def test_admin_refusals_name_the_problem(make_client: Any) -> None:
    client, _ = make_client(app)
    for method, path, body in (
        ("GET", "/admin/functions/missing", None),
        ("GET", "/admin/functions/missing/status", None),
        ("POST", "/admin/functions/missing", {"input": "x"}),
    ):
        r = await client.request(method, path, json=body)
        assert r.status_code == 404
        assert r.json() == {"Message": "No function named 'missing' exists."}, (method, path)
    r = await client.post("/admin/functions/worker", content=b"not json")
    assert r.status_code == 400 and "not JSON" in r.json()["Message"]
    r = await client.post("/admin/functions/worker", json={"nope": 1})
    assert r.status_code == 400 and r.json()["Message"] == 'The body must be a JSON object {"input": ...}.'


async def test_homepage_and_disable(make_client: Any) -> None:
    client, _ = make_client(app)
    r = await client.get("/")
    assert r.status_code == 200 and "up and running" in r.text
    client, _ = make_client(app, environ={"AzureWebJobsDisableHomepage": "true"})
    assert (await client.get("/")).status_code == 204


async def test_empty_route_prefix(make_client: Any) -> None:
    client, _ = make_client(app, route_prefix="")
    assert (await client.get("/hello/Zed")).text == "Hello, Zed!"
    assert (await client.get("/api/hello/Zed")).status_code == 404


async def test_cors(make_client: Any) -> None:
    client, _ = make_client(app, cors_origins=("http://site.example",))
    r = await client.options(
        "/api/hello", headers={"Origin": "http://site.example", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://site.example"
    r = await client.get("/api/hello", headers={"Origin": "http://site.example"})
    assert r.headers["access-control-allow-origin"] == "http://site.example"
    client, _ = make_client(app)
    r = await client.get("/api/hello", headers={"Origin": "http://site.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_status_reports_runtime_state_and_errors(make_client: Any) -> None:
    client, runtime = make_client(app)
    runtime.state = "Initializing"
    runtime.errors = ["storage unreachable"]
    body = (await client.get("/admin/host/status")).json()
    assert body["state"] == "Initializing" and body["errors"] == ["storage unreachable"]
    assert body["processUptime"] == 5


async def test_storage_outage_shows_in_status_and_turns_failures_into_503(make_client: Any) -> None:
    client, runtime = make_client(app)
    runtime.storage_problem = "Storage account acct is unreachable since 2026-12-06T14:00:00Z (3 failures)"
    body = (await client.get("/admin/host/status")).json()
    assert body["state"] == "Running"
    assert body["storage"] == {"state": "Unavailable", "error": runtime.storage_problem}
    assert body["errors"] == [runtime.storage_problem]
    r = await client.get("/api/boom")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json() == {"error": "Storage unavailable", "detail": runtime.storage_problem}
    assert (await client.get("/api/hello/Ann")).status_code == 200  # what does not fail is served
    runtime.storage_problem = None
    assert (await client.get("/api/boom")).status_code == 500
    assert "storage" not in (await client.get("/admin/host/status")).json()


async def test_a_binding_refusing_the_request_input_is_a_400_naming_it(make_client: Any) -> None:
    from host.errors import BindingInputError

    refusing = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @refusing.route(route="blob/{name}")
    def read(req: func.HttpRequest) -> func.HttpResponse:
        raise BindingInputError(f"Invalid blob path 'images/{req.route_params['name']}': a '..' segment")

    client, _ = make_client(refusing)
    r = await client.get("/api/blob/..%2Fsecret")
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid blob path 'images/../secret': a '..' segment"}


async def test_trailing_slash_and_encoded_route_values(make_client: Any) -> None:
    client, _ = make_client(app)
    assert (await client.get("/api/hello/Ann/")).text == "Hello, Ann!"
    assert (await client.get("/api/hello/Ann%20Lee")).text == "Hello, Ann Lee!"
