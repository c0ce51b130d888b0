"""Orchestrations that wait in every way the "why is it waiting" report explains."""

import asyncio
from pathlib import Path

import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="gate")
async def gated(gate: str) -> str:
    """Runs until the file ``gate`` exists (the test creates it), at most 60 s."""
    for _ in range(1200):
        if Path(gate).exists():
            return "opened"
        await asyncio.sleep(0.05)
    return "timed out"


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    prepared = yield context.call_activity("gated", context.get_input())
    answer = yield context.wait_for_external_event("Approval")  # @approval
    return [prepared, answer]


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator(
        "approval", context.get_input(), f"{context.instance_id}:child"
    )
    return result
