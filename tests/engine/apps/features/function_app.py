"""Test app: one orchestrator per SDK feature and failure path (tests/engine/test_engine_*.py)."""

import threading
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_attempts: dict[str, int] = {}
_lock = threading.Lock()

FAST_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)


# ---------------------------------------------------------------------------- activities
@app.activity_trigger(input_name="value")
def echo(value):
    return value


@app.activity_trigger(input_name="spec")
def flaky(spec: dict) -> str:
    """Fails until attempt ``spec['succeed_on']`` (counted per ``spec['key']``)."""
    with _lock:
        n = _attempts[spec["key"]] = _attempts.get(spec["key"], 0) + 1
    if n < spec["succeed_on"]:
        raise ValueError(f"flaky failure {n} of {spec['key']}")
    return f"ok after {n}"


@app.activity_trigger(input_name="message")
def explode(message: str) -> None:
    raise RuntimeError(message)


# ---------------------------------------------------------------------------- retries
@app.orchestration_trigger(context_name="context")
def retry_then_succeed(context: df.DurableOrchestrationContext):
    spec = {"key": context.instance_id, "succeed_on": 3}
    return (yield context.call_activity_with_retry("flaky", FAST_RETRY, spec))


@app.orchestration_trigger(context_name="context")
def retry_exhausted(context: df.DurableOrchestrationContext):
    spec = {"key": context.instance_id, "succeed_on": 99}
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry("flaky", options, spec)
    except Exception as err:
        return f"gave up: {err}"
    return "unexpected success"


# ---------------------------------------------------------------------------- failures
@app.orchestration_trigger(context_name="context")
def catch_activity_error(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("explode", "the widget broke")
    except Exception as err:
        return f"caught: {err}"
    return "no error"


@app.orchestration_trigger(context_name="context")
def orchestrator_raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    raise ValueError("orchestrator gave up on purpose")


@app.orchestration_trigger(context_name="context")
def calls_missing_activity(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("no_such_activity", 1))


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    """Fails the first time (activity), succeeds after a rewind (the activity is retried)."""
    return (yield context.call_activity("flaky", {"key": context.instance_id, "succeed_on": 2}))


# ---------------------------------------------------------------------------- sub-orchestrations
@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value == "fail":
        raise ValueError("child refused its input")
    return (yield context.call_activity("echo", f"child got {value}"))


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    key = context.get_input()
    return (yield context.call_activity("flaky", {"key": key, "succeed_on": 2}))


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    me = context.instance_id
    first = yield context.call_sub_orchestrator("child", "a", f"{me}:child-a")
    both = yield context.task_all(
        [
            context.call_sub_orchestrator("child", "b", f"{me}:child-b"),
            context.call_sub_orchestrator("child", "c"),
        ]
    )
    try:
        yield context.call_sub_orchestrator("child", "fail", f"{me}:child-fail")
        failure = "no failure"
    except Exception as err:
        failure = str(err)
    retried = yield context.call_sub_orchestrator_with_retry("flaky_child", FAST_RETRY, f"{me}:flaky")
    return {"first": first, "both": both, "failure": failure, "retried": retried}


# ---------------------------------------------------------------------------- timers and events
@app.orchestration_trigger(context_name="context")
def short_timer(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(seconds=1))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def wait_event(context: df.DurableOrchestrationContext):
    """Waits for one ``Go`` event after an activity (events may arrive before the wait)."""
    yield context.call_activity("echo", "warm-up")
    context.set_custom_status("waiting")
    first = yield context.wait_for_external_event("Go")
    second = yield context.wait_for_external_event("Go")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    """task_any: an ``Approval`` event against a timer of ``input`` seconds."""
    seconds = context.get_input()
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    event = context.wait_for_external_event("Approval")
    context.set_custom_status("racing")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"approved_by": event.result}
    return "timed out"


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    """continue_as_new once per ``Add`` event until the total reaches 3."""
    total = context.get_input() or 0
    if total >= 3:
        return total
    context.set_custom_status({"total": total})
    amount = yield context.wait_for_external_event("Add")
    context.continue_as_new(total + amount)
    return None


@app.orchestration_trigger(context_name="context")
def custom_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "one"})
    yield context.wait_for_external_event("Next")
    context.set_custom_status({"stage": "two"})
    yield context.wait_for_external_event("Next")
    return "done"


# ---------------------------------------------------------------------------- determinism helpers
@app.orchestration_trigger(context_name="context")
def stable_values(context: df.DurableOrchestrationContext):
    """new_uuid/current_utc_datetime recorded by an activity in episode 1, recomputed at the end."""
    u1 = context.new_uuid()
    t1 = context.current_utc_datetime.isoformat()
    seen = yield context.call_activity("echo", [u1, t1])
    u2 = context.new_uuid()
    yield context.call_activity("echo", "second")
    return {"first": [u1, t1], "seen": seen, "u2": u2, "replaying_at_end": context.is_replaying}


# ---------------------------------------------------------------------------- durable HTTP
@app.orchestration_trigger(context_name="context")
def http_calls(context: df.DurableOrchestrationContext):
    base = context.get_input()
    plain = yield context.call_http("GET", f"{base}/hello")
    posted = yield context.call_http("POST", f"{base}/echo", content={"x": 1})
    polled = yield context.call_http("POST", f"{base}/jobs")
    # The Python SDK hands back the response as a dict: statusCode, headers, content.
    return {
        "plain": [plain["statusCode"], plain["content"]],
        "posted": [posted["statusCode"], posted["content"]],
        "polled": [polled["statusCode"], polled["content"]],
    }


# ---------------------------------------------------------------------------- management
@app.orchestration_trigger(context_name="context")
def gated_chain(context: df.DurableOrchestrationContext):
    """Three steps, each gated by a ``Step`` event (for suspend/resume/terminate tests)."""
    done = []
    for i in range(3):
        context.set_custom_status({"step": i})
        yield context.wait_for_external_event("Step")
        done.append((yield context.call_activity("echo", i)))
    return done
