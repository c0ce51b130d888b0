"""The invoker: arguments by binding name, providers/handlers, context, thread pool, failures."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import azure.functions as func
import pytest
from httphost_helpers import registry_from

from host.errors import InvocationError
from host.invocation import Invoker, thread_count

app = func.FunctionApp()
_seen: dict[str, Any] = {}
_active = {"now": 0, "max": 0}
_lock = threading.Lock()


@app.queue_trigger(arg_name="msg", queue_name="in", connection="AzureWebJobsStorage")
@app.table_input(
    arg_name="row", table_name="t", partition_key="p", row_key="{id}", connection="AzureWebJobsStorage"
)
@app.queue_output(arg_name="out", queue_name="out", connection="AzureWebJobsStorage")
def copy(msg: str, row: str, out: func.Out[str], context: func.Context) -> None:
    _seen.update(
        thread=threading.current_thread().name,
        ctx=context.function_name,
        # azure-functions types thread_local_storage as a class, not the threading.local it is.
        tls=context.thread_local_storage.invocation_id,  # type: ignore[attr-defined]
        inv=context.invocation_id,
        retry=context.retry_context.retry_count,
    )
    out.set(f"{msg}+{row}")


@app.queue_trigger(arg_name="msg", queue_name="bad", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="out2", connection="AzureWebJobsStorage")
def fails_after_set(msg: str, out: func.Out[str]) -> None:
    out.set("never written")
    raise ValueError("nope")


@app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")
def tick(timer: func.TimerRequest) -> None:
    return "oops"  # type: ignore[return-value]


@app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")
def busy(timer: Any) -> None:
    with _lock:
        _active["now"] += 1
        _active["max"] = max(_active["max"], _active["now"])
    threading.Event().wait(0.05)
    with _lock:
        _active["now"] -= 1


@app.queue_trigger(arg_name="msg", queue_name="ret", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="$return", queue_name="out3", connection="AzureWebJobsStorage")
async def returns(msg: str) -> str:
    await asyncio.sleep(0)
    return msg.upper()


REGISTRY = registry_from(app)


def fn(name: str) -> Any:
    found = REGISTRY.get(name)
    assert found is not None
    return found


async def test_arguments_providers_handlers_and_context() -> None:
    invoker = Invoker(REGISTRY, function_directory="/app")
    written: list[tuple[str, Any, Any]] = []
    seen_metadata: list[Any] = []

    async def table(binding: Any, f: Any, metadata: Any) -> str:
        seen_metadata.append(metadata)
        return f"row-{metadata['id']}"

    async def queue(binding: Any, value: Any, metadata: Any) -> None:
        written.append((binding.get("queueName"), value, metadata))

    invoker.add_input_provider("table", table)
    invoker.add_output_handler("queue", queue)
    result = await invoker.invoke(fn("copy"), "m1", trigger_metadata={"id": "7"}, invocation_id="inv-9")
    assert result.return_value is None and result.outputs == {"out": "m1+row-7"}
    assert result.invocation_id == "inv-9"
    assert written == [("out", "m1+row-7", {"id": "7"})] and seen_metadata == [{"id": "7"}]
    assert _seen["ctx"] == "copy" and _seen["inv"] == "inv-9" and _seen["tls"] == "inv-9"
    assert _seen["retry"] == 0 and _seen["thread"].startswith("function")
    await invoker.aclose()


async def test_missing_provider_fails_the_invocation() -> None:
    invoker = Invoker(REGISTRY)
    with pytest.raises(InvocationError, match="no provider for input binding 'row'"):
        await invoker.invoke(fn("copy"), "m1")
    await invoker.aclose()


async def test_outputs_are_not_written_when_the_function_fails() -> None:
    invoker = Invoker(REGISTRY)
    written: list[Any] = []

    async def queue(binding: Any, value: Any, metadata: Any) -> None:
        written.append(value)

    invoker.add_output_handler("queue", queue)
    with pytest.raises(ValueError, match="nope"):
        await invoker.invoke(fn("fails_after_set"), "x")
    assert written == []
    await invoker.aclose()


async def test_non_none_return_without_return_binding_fails() -> None:
    invoker = Invoker(REGISTRY)
    with pytest.raises(RuntimeError, match="function 'tick' without a \\$return binding returned a non-None"):
        await invoker.invoke(fn("tick"), None)
    await invoker.aclose()


async def test_return_binding_goes_to_its_handler_and_encoder() -> None:
    invoker = Invoker(REGISTRY)
    written: list[Any] = []

    async def queue(binding: Any, value: Any, metadata: Any) -> None:
        written.append((binding.name, value))

    invoker.add_output_handler("queue", queue)
    invoker.add_output_encoder("queue", lambda v: f"<{v}>")
    result = await invoker.invoke(fn("returns"), "abc")
    assert result.return_value == "ABC" and result.outputs == {"$return": "<ABC>"}
    assert written == [("$return", "<ABC>")]
    await invoker.aclose()


async def test_thread_pool_is_bounded() -> None:
    _active.update(now=0, max=0)
    invoker = Invoker(REGISTRY, max_workers=2)
    await asyncio.gather(*(invoker.invoke(fn("busy"), None) for _ in range(6)))
    assert _active["max"] == 2
    await invoker.aclose()


def test_thread_count_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", "3")
    assert thread_count() == 3
    monkeypatch.delenv("PYTHON_THREADPOOL_THREAD_COUNT")
    assert 1 <= thread_count() <= 32
