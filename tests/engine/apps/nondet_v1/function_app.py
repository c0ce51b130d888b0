"""Version 1 of an app whose orchestrator changes in version 2 (non-determinism test)."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def evolving(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("step_a", 1)
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("Go")
    return first


@app.activity_trigger(input_name="n")
def step_a(n: int) -> int:
    return n


@app.activity_trigger(input_name="n")
def step_b(n: int) -> int:
    return n
