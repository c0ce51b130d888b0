"""The app of bench/cpu_fanout.py: a fan-out of CPU-bound (pure-Python) activities."""

import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def burn_fan_out(context: df.DurableOrchestrationContext):
    count, loops = context.get_input()
    pids = yield context.task_all([context.call_activity("burn", loops) for _ in range(count)])
    return sorted(set(pids))


@app.activity_trigger(input_name="loops")
def burn(loops: int) -> int:
    """``loops`` iterations of pure-Python arithmetic (holds the GIL all along); returns the pid."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return os.getpid()
