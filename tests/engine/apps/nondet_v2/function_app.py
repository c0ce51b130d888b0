"""Version 2: ``evolving`` now calls ``step_b`` first, which its in-flight history contradicts."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def evolving(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("step_b", 1)
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("Go")
    return first


@app.activity_trigger(input_name="n")
def step_a(n: int) -> int:
    return n


@app.activity_trigger(input_name="n")
def step_b(n: int) -> int:
    return n
