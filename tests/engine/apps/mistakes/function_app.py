"""Test app: common orchestrator mistakes that must fail with a message saying what to change."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.orchestration_trigger(context_name="context")
async def async_orchestrator(context: df.DurableOrchestrationContext):
    return await context.call_activity("echo", 1)  # type: ignore[misc]


def helper(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("echo", 2)
    return value


@app.orchestration_trigger(context_name="context")
def forgets_yield_from(context: df.DurableOrchestrationContext):
    result = yield helper(context)  # the mistake: should be ``yield from helper(context)``
    return result


@app.orchestration_trigger(context_name="context")
def uses_yield_from(context: df.DurableOrchestrationContext):
    result = yield from helper(context)
    return result
