"""Test app for the chaos test: chains, fan-outs, sub-orchestrations after a timer and a counter
entity; every activity execution is logged with the pid and the time, so re-executions and
recovery can be measured."""

import os
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
COUNTERS = 4


def counter_of(n: int) -> df.EntityId:
    return df.EntityId("Counter", f"c{n % COUNTERS}")


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    """Signal the counter (+n), then three steps in sequence."""
    spec = context.get_input()
    context.signal_entity(counter_of(spec["n"]), "add", spec["n"])
    total = 0
    for step in range(3):
        total += yield context.call_activity(
            "step", {"id": context.instance_id, "n": spec["n"], "step": step, "seconds": spec["seconds"]}
        )
    return total


@app.orchestration_trigger(context_name="context")
def fan(context: df.DurableOrchestrationContext):
    """``width`` steps in parallel, then signal the counter (+n)."""
    spec = context.get_input()
    results = yield context.task_all(
        [
            context.call_activity(
                "step", {"id": context.instance_id, "n": spec["n"], "step": k, "seconds": spec["seconds"]}
            )
            for k in range(spec["width"])
        ]
    )
    context.signal_entity(counter_of(spec["n"]), "add", spec["n"])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def nested(context: df.DurableOrchestrationContext):
    """A short durable timer, then ``chain`` as a sub-orchestration (which signals the counter)."""
    spec = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=3 * spec["seconds"]))
    return (yield context.call_sub_orchestrator("chain", spec, f"{context.instance_id}-child"))


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    if context.operation_name == "add":
        context.set_state(context.get_state(lambda: 0) + context.get_input())


@app.activity_trigger(input_name="work")
def step(work: dict) -> int:
    time.sleep(work["seconds"])
    log_dir = os.environ.get("CRASH_LOG_DIR")
    if log_dir:
        with open(os.path.join(log_dir, f"{os.getpid()}.log"), "a", encoding="utf-8") as f:
            f.write(f"{time.time():.3f} {work['id']} {work['step']}\n")
    return work["n"] * 10 + work["step"]
