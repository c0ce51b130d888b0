import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def greet_three(context: df.DurableOrchestrationContext):
    name = context.get_input() or "world"
    results = []
    for suffix in ("a", "b", "c"):
        results.append((yield context.call_activity("greet", name + "-" + suffix)))
    return results


@app.orchestration_trigger(context_name="context")
def huge_custom_status(context: df.DurableOrchestrationContext):
    # Bigger than a table property may be (32 K characters): the Instances row cannot take it.
    context.set_custom_status("x" * 40_000)
    yield context.call_activity("greet", "after the status")
    return "should not get here"


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"Hello {name}!"


@app.orchestration_trigger(context_name="context")
def child_with_huge_id(context: df.DurableOrchestrationContext):
    # A PartitionKey may hold at most 1 KiB: storage refuses this child's rows (400 InvalidInput).
    return (yield context.call_sub_orchestrator("greet_three", "x", instance_id="c" * 1100))
