"""Payload round trips: custom classes (to_json/from_json) and payloads too big for a queue
message or a table column."""

import azure.durable_functions as df
import azure.functions as func
from shapes import Box

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def box_flow(context: df.DurableOrchestrationContext):
    box: Box = context.get_input()
    bigger = yield context.call_activity("grow", box)
    return {"kind": type(bigger).__name__, "width": bigger.width, "label": bigger.label}


@app.activity_trigger(input_name="box")
def grow(box: Box) -> Box:
    assert isinstance(box, Box), f"expected a Box, got {type(box).__name__}"
    return Box(box.width * 2, box.label + "!")


@app.orchestration_trigger(context_name="context")
def big_flow(context: df.DurableOrchestrationContext):
    size = context.get_input()
    blob = yield context.call_activity("make_text", size)
    echoed = yield context.call_activity("echo_length", blob)
    return {"length": echoed, "head": blob[:5], "tail": blob[-5:]}


@app.activity_trigger(input_name="size")
def make_text(size: int) -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(size))


@app.activity_trigger(input_name="text")
def echo_length(text: str) -> int:
    return len(text)
