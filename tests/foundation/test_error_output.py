"""What a person sees when their code fails: their own frames in a few lines, host frames with --verbose.

The host runs as a subprocess; the assertions read its console output and the instance status
the HTTP API returns, as a user would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from waiting import eventually

from host.storage.azurite import free_port

pytestmark = pytest.mark.slow

APP = """\
import azure.functions as func
import azure.durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def parse_amount(text):
    return int(text)


@app.activity_trigger(input_name="payload")
def charge(payload: str) -> int:
    return parse_amount(payload)


@app.activity_trigger(input_name="payload")
def make_set(payload: str):
    return {1, 2}


@app.orchestration_trigger(context_name="context")
def pay(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("charge", "ten")
    return result


@app.orchestration_trigger(context_name="context")
def broken(context: df.DurableOrchestrationContext):
    yield context.call_activity("charge", "5")
    raise KeyError("no customer")


@app.orchestration_trigger(context_name="context")
def setter(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("make_set", "x")
    return result


@app.orchestration_trigger(context_name="context")
def returns_set(context: df.DurableOrchestrationContext):
    yield context.call_activity("charge", "5")
    return {1, 2}


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(parse_amount("x")))


@app.route(route="start/{name}")
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    iid = await client.start_new(req.route_params["name"])
    return client.create_check_status_response(req, iid)
"""


def line_of(code: str) -> int:
    """The line number of ``code`` in APP."""
    return next(i for i, line in enumerate(APP.splitlines(), 1) if code in line)


HOST_FRAMES = ("host/invocation.py", "concurrent/futures", "host/logs.py", "site-packages")


@pytest.fixture
def error_host(
    tmp_path: Path,
    make_app: Callable[..., Path],
    start_host: Callable[..., Any],
    azurite_connection_string: str,
) -> Callable[..., tuple[Any, str]]:
    def start(*extra: str) -> tuple[Any, str]:
        app = make_app(
            tmp_path / "app",
            APP,
            values={"AzureWebJobsStorage": azurite_connection_string},
            host={"version": "2.0", "extensions": {"durableTask": {"hubName": f"Err{free_port()}"}}},
        )
        port = free_port()
        host = start_host(["--port", str(port), "--no-azurite", *extra], app)
        host.wait_for("Host started", timeout=60)
        return host, f"http://127.0.0.1:{port}"

    return start


async def run_to_end(base: str, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        started = await client.post(f"{base}/api/start/{name}")
        assert started.status_code == 202, started.text
        url = started.json()["statusQueryGetUri"]

        async def finished() -> dict[str, Any] | None:
            status = (await client.get(url)).json()
            return status if status["runtimeStatus"] in ("Completed", "Failed") else None

        result: dict[str, Any] = await eventually(finished, what=f"{name} to finish")
        return result


def failure_block(output: str, function: str) -> list[str]:
    """The lines of the failure report of ``function``, up to the next log line."""
    lines = output.splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if f"Exception while executing function: Functions.{function}." in line
    )
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\[\d{4}-", lines[i])), len(lines))
    return lines[start:end]


async def test_failures_show_the_users_frames_in_a_few_lines(error_host: Callable[..., Any]) -> None:
    host, base = error_host()
    assert "For detailed output, run python -m host start with --verbose flag." in host.output
    assert "run func" not in host.output
    status = await run_to_end(base, "pay")
    assert status["runtimeStatus"] == "Failed"
    output = str(status["output"])
    assert "Activity function 'charge' failed: ValueError: invalid literal" in output
    assert f'function_app.py", line {line_of("return int(text)")}, in parse_amount' in output
    assert not any(frame in output for frame in HOST_FRAMES), output

    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{base}/api/boom")).status_code == 500
    host.wait_for("Exception while executing function: Functions.boom.")
    for function, user_frame in (("charge", "in parse_amount"), ("pay", "in pay"), ("boom", "in boom")):
        block = failure_block(host.output, function)
        text = "\n".join(block)
        assert user_frame in text, text
        assert not any(frame in text for frame in HOST_FRAMES), text
        assert len(block) <= 12, text
    assert "in parse_amount" in "\n".join(failure_block(host.output, "boom"))

    broken = await run_to_end(base, "broken")
    assert broken["runtimeStatus"] == "Failed"
    assert "no customer" in str(broken["output"])
    text = "\n".join(failure_block(host.output, "broken"))
    assert f"line {line_of('raise KeyError')}, in broken" in text, text
    assert 'raise KeyError("no customer")' in text and "KeyError: 'no customer'" in text, text


async def test_verbose_shows_host_frames_too(error_host: Callable[..., Any]) -> None:
    host, base = error_host("--verbose")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{base}/api/boom")).status_code == 500
    host.wait_for("Exception while executing function: Functions.boom.")
    text = "\n".join(failure_block(host.output, "boom"))
    assert "in parse_amount" in text and "host/invocation.py" in text and "concurrent/futures" in text


async def test_non_serialisable_results_name_the_function_and_the_type(
    error_host: Callable[..., Any],
) -> None:
    host, base = error_host()
    activity = await run_to_end(base, "setter")
    assert activity["runtimeStatus"] == "Failed"
    assert re.search(
        r"'make_set' failed: TypeError: the function returned a value of type 'set', "
        r"which is not JSON-serializable",
        str(activity["output"]),
    ), activity["output"]
    orchestrator = await run_to_end(base, "returns_set")
    assert orchestrator["runtimeStatus"] == "Failed"
    assert re.search(
        r"'returns_set' failed: the orchestrator returned a value of type 'set', "
        r"which is not JSON-serializable",
        str(orchestrator["output"]),
    ), orchestrator["output"]
    assert "Executed 'Functions.make_set' (Failed" in host.output
