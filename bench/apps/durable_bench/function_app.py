"""The app the durable benchmarks run: a 5-activity chain, a fan-out and a waiting orchestration."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def hello5(context: df.DurableOrchestrationContext):
    results = []
    for city in ("Tokyo", "Seattle", "London", "Paris", "Cairo"):
        results.append((yield context.call_activity("hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    values = yield context.task_all([context.call_activity("square", i) for i in range(count)])
    return sum(values)


@app.orchestration_trigger(context_name="context")
def wait_for_approval(context: df.DurableOrchestrationContext):
    approved = yield context.wait_for_external_event("Approval")
    return approved


@app.activity_trigger(input_name="city")
async def hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="n")
async def square(n: int) -> int:
    return n * n
