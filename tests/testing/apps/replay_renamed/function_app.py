"""Replay-check fixture app: a three-step pipeline (variant: replay_renamed)."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def pipeline(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("fetch", context.get_input())
    second = yield context.call_activity("convert", first)
    return (yield context.call_activity("store", second))


@app.activity_trigger(input_name="value")
def fetch(value: str) -> str:
    return f"fetched {value}"


@app.activity_trigger(input_name="value")
def convert(value: str) -> str:
    return value.upper()


@app.activity_trigger(input_name="value")
def store(value: str) -> str:
    return f"stored {value}"
