"""Activities that show where they run (FUNCTIONS_WORKER_PROCESS_COUNT tests)."""

import logging
import os
import threading
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def meet(context: df.DurableOrchestrationContext):
    """Two activities that each wait for the other: they can only both finish in two processes."""
    folder = context.get_input()
    return (yield context.task_all([context.call_activity("rendezvous", folder) for _ in range(2)]))


@app.orchestration_trigger(context_name="context")
def call_one(context: df.DurableOrchestrationContext):
    """Call the activity named by the input; its failure message is the output if it fails."""
    name, value = context.get_input()
    try:
        return (yield context.call_activity(name, value))
    except Exception as e:
        return f"failed: {e}"


@app.orchestration_trigger(context_name="context")
def die_then_live(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("die", None)
        first = "survived"
    except Exception as e:
        first = str(e)
    return [first, (yield context.call_activity("whoami", None))]


@app.activity_trigger(input_name="folder")
def rendezvous(folder: str) -> int:
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 60  # never hang the test run: the test then sees a single pid
    while len(os.listdir(folder)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()


@app.activity_trigger(input_name="unused")
def whoami(unused: object) -> int:
    return os.getpid()


@app.activity_trigger(input_name="message")
def log_it(message: str, context: func.Context) -> str:
    logging.getLogger("userlog").warning("user says %s", message)
    return context.invocation_id


@app.activity_trigger(input_name="unused")
def die(unused: object) -> None:
    os._exit(3)


@app.activity_trigger(input_name="text")
def boom(text: str) -> None:
    raise ValueError(f"boom {text}")


@app.activity_trigger(input_name="unused")
def lock(unused: object) -> object:
    return threading.Lock()
