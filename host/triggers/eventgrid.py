"""The Event Grid trigger as Core Tools serves it locally: ``/runtime/webhooks/EventGrid``.

``POST /runtime/webhooks/EventGrid?functionName=NAME`` takes an Event Grid event or a
CloudEvent (one, or a JSON array) and invokes the ``eventGridTrigger`` function once per event
with the library's converter (``func.EventGridEvent`` / ``func.CloudEvent``); 202 when all ran.
The ``aeg-event-type`` header says what the request is, as the Event Grid extension reads it:
``Notification`` (events), ``SubscriptionValidation`` (answered with ``validationResponse``,
nothing invoked), ``Unsubscribe`` (202). CloudEvents may come without it; Event Grid events may
not (400). ``OPTIONS`` with ``WebHook-Request-Origin`` is the CloudEvents webhook handshake.

With ``--enable-auth`` the ``eventgrid_extension`` system key (or the master key) is needed.
``eventGrid`` output bindings are logged: there is no local topic to publish to.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from azure.functions.meta import Datum, get_binding_registry
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from host.http.auth import EVENTGRID_SYSTEM_KEY, KeyStore, provided_key
from host.http.dispatch import read_body
from host.http.limits import MAX_BODY, loads_bounded
from host.indexing.registry import Binding, FunctionInfo, Registry
from host.triggers.convert import raw_json_trigger

if TYPE_CHECKING:
    from host.invocation import Invoker
    from host.runtime import HostRuntime, Service

log = logging.getLogger("host.triggers.eventgrid")

EVENT_GRID_TRIGGER = "eventGridTrigger"
WEBHOOK_PATH = "/runtime/webhooks/EventGrid"
EVENT_TYPE_HEADER = "aeg-event-type"
_CLOUD_EVENT_TYPES = ("application/cloudevents+json", "application/cloudevents-batch+json")


class BadEvents(ValueError):
    """A request the webhook refuses with 400 (the message names the problem)."""


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a request body: one JSON object or an array of objects (BadEvents otherwise)."""
    try:
        parsed = loads_bounded(body)
    except ValueError as e:
        raise BadEvents(f"the body is not valid JSON: {e}") from None
    events = parsed if isinstance(parsed, list) else [parsed]
    if not events or not all(isinstance(e, dict) for e in events):
        raise BadEvents("expected an event (a JSON object) or a non-empty array of events")
    return events


def is_cloud_event(event: dict[str, Any]) -> bool:
    """Whether ``event`` uses the CloudEvents 1.0 schema (it has ``specversion``)."""
    return "specversion" in event


def validation_code(events: list[dict[str, Any]]) -> str:
    """The ``data.validationCode`` of a subscription validation request (BadEvents if absent)."""
    data = events[0].get("data")
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        raise BadEvents("a SubscriptionValidation request needs data.validationCode")
    return code


def trigger_value(fn: FunctionInfo, event: dict[str, Any]) -> Any:
    """The value the function's trigger parameter gets (the library's converter, or raw JSON)."""
    text = json.dumps(event)
    if (raw := raw_json_trigger(fn, text)) is not None:
        return raw
    return get_binding_registry().get(EVENT_GRID_TRIGGER).decode(Datum(text, "json"), trigger_metadata={})


class EventGridWebhook:
    """The ASGI endpoint of the webhook: finds the function, checks the key, invokes per event."""

    def __init__(
        self, registry: Registry, invoker: Invoker, keys: KeyStore | None, *, max_body: int = MAX_BODY
    ) -> None:
        self.registry = registry
        self.invoker = invoker
        self.keys = keys
        self.max_body = max_body

    async def handle(self, request: Request) -> Response:
        """Answer one webhook request."""
        if self.keys is not None and not self.keys.is_system(
            provided_key(request.headers, request.query_params), EVENTGRID_SYSTEM_KEY
        ):
            return PlainTextResponse(
                "Unauthorized: the eventgrid_extension system key (or the master "
                "key) is needed (x-functions-key header or code=)",
                401,
            )
        origin = request.headers.get("webhook-request-origin")
        if request.method == "OPTIONS":
            if not origin:
                return PlainTextResponse("OPTIONS needs a WebHook-Request-Origin header", 400)
            return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin})
        name = request.query_params.get("functionName")
        if not name:
            return PlainTextResponse("the functionName query parameter is required", 400)
        fn = self.registry.get(name)
        if fn is None or fn.trigger.type != EVENT_GRID_TRIGGER:
            return PlainTextResponse(f"cannot find an Event Grid function named '{name}'", 404)
        try:
            return await self._handle(request, fn)
        except BadEvents as e:
            return PlainTextResponse(f"Bad request: {e}", 400)

    async def _handle(self, request: Request, fn: FunctionInfo) -> Response:
        kind = request.headers.get(EVENT_TYPE_HEADER, "")
        if kind.lower() == "unsubscribe":
            return Response(status_code=202)
        try:
            body = await read_body(request.receive, self.max_body)
        except TimeoutError:
            return PlainTextResponse("the request body stalled", 408)
        if body is None:
            return PlainTextResponse(f"the body is larger than {self.max_body:,} bytes", 413)
        events = parse_events(body)
        if kind.lower() == "subscriptionvalidation":
            return JSONResponse({"validationResponse": validation_code(events)})
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        cloud = content_type in _CLOUD_EVENT_TYPES or all(is_cloud_event(e) for e in events)
        if kind.lower() != "notification" and not (not kind and cloud):
            shown = f"'{kind}'" if kind else "missing"
            raise BadEvents(
                f"the {EVENT_TYPE_HEADER} header is {shown}; expected Notification, "
                "SubscriptionValidation or Unsubscribe (CloudEvents may omit it)"
            )
        failed = 0
        for event in events:
            try:
                await self.invoker.invoke(
                    fn, trigger_value(fn, event), trigger_metadata={}, reason="EventGrid"
                )
            except Exception:
                failed += 1
                log.exception("Executed '%s' (Failed) for event '%s'", fn.name, event.get("id"))
        if failed:
            return PlainTextResponse(f"{failed} of {len(events)} events failed in '{fn.name}'", 500)
        return Response(status_code=202)


async def log_output(binding: Binding, value: Any, _metadata: dict[str, Any] | None) -> None:
    """Log what an ``eventGrid`` output binding would publish (there is no local topic)."""
    try:
        datum = get_binding_registry().get("eventGrid").encode(value, expected_type=None)
        text = datum.value if isinstance(datum.value, str) else json.dumps(datum.value)
    except (TypeError, ValueError, NotImplementedError):
        text = repr(value)
    log.info("Event Grid output '%s' (no local topic, not published): %s", binding.name, text)


def create_services(runtime: HostRuntime) -> list[Service]:
    """Add the webhook route and the logging ``eventGrid`` output handler; no background service."""
    webhook = EventGridWebhook(runtime.registry, runtime.invoker, runtime.keys)
    for path in (WEBHOOK_PATH, WEBHOOK_PATH.lower()):
        runtime.routes.append(Route(path, webhook.handle, methods=["POST", "OPTIONS"]))
    runtime.invoker.add_output_handler("eventGrid", log_output)
    return []


__all__ = [
    "EVENT_GRID_TRIGGER",
    "WEBHOOK_PATH",
    "BadEvents",
    "EventGridWebhook",
    "create_services",
    "parse_events",
    "trigger_value",
]
