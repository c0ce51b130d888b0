"""Test app for crash safety: three slow steps per instance; every execution is logged with the pid."""

import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    total = 0
    for step in range(3):
        total += yield context.call_activity(
            "slow_step", {"n": spec["n"], "step": step, "seconds": spec["seconds"]}
        )
    return total


@app.activity_trigger(input_name="work")
def slow_step(work: dict) -> int:
    time.sleep(work["seconds"])
    log_dir = os.environ.get("CRASH_LOG_DIR")
    if log_dir:
        with open(os.path.join(log_dir, f"{os.getpid()}.log"), "a", encoding="utf-8") as f:
            f.write(f"{work['n']} {work['step']}\n")
    return work["n"] * 10 + work["step"]


@app.orchestration_trigger(context_name="context")
def await_go(context: df.DurableOrchestrationContext):
    go = yield context.wait_for_external_event("go")
    if not context.is_replaying:
        time.sleep(context.get_input()["think"])  # a slow episode: keeps the one orchestrator slot busy
    context.set_custom_status("got go")
    yield context.wait_for_external_event("stop")
    return go


@app.orchestration_trigger(context_name="context")
def tagged_fan_out(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    work = [{"i": i, "seconds": spec["seconds"]} for i in range(spec["count"])]
    return (yield context.task_all([context.call_activity("tagged_step", w) for w in work]))


@app.activity_trigger(input_name="work")
def tagged_step(work: dict) -> dict:
    """Notes its start (``started-<pid>.txt``), works, notes its end; returns which process ran it."""
    log_dir = os.environ.get("CRASH_LOG_DIR")
    if log_dir:
        with open(os.path.join(log_dir, f"started-{os.getpid()}.txt"), "a", encoding="utf-8") as f:
            f.write(f"{work['i']}\n")
    if os.environ.get("CRASH_STALL"):  # this host "hangs" in every activity until it is killed
        time.sleep(3600)
    time.sleep(work["seconds"])
    if log_dir:
        with open(os.path.join(log_dir, f"ended-{os.getpid()}.txt"), "a", encoding="utf-8") as f:
            f.write(f"{work['i']}\n")
    return {"i": work["i"], "pid": os.getpid()}
