"""Durable HTTP (``context.call_http``): the built-in activity that performs the request.

As Durable Functions does, a ``202 Accepted`` answer with a ``Location`` header is polled with
GET until it answers something else (honouring ``Retry-After``), so an orchestration can call a
long-running HTTP API as one step.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from host.durable.replay import history as h
from host.durable.replay.completions import http_completed, http_failed

BUILTIN_HTTP_ACTIVITY = h.HTTP_ACTIVITY_NAME
DEFAULT_POLL_SECONDS = 30.0
MAX_POLLS = 10_000


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else DEFAULT_POLL_SECONDS
    except ValueError:
        return DEFAULT_POLL_SECONDS


def _headers(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    out: dict[str, str] = {}
    for key, value in dict(raw).items():
        out[str(key)] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


async def perform(request: dict[str, Any], *, client: httpx.AsyncClient | None = None) -> httpx.Response:
    """Send the request; follow 202 + Location polling; return the final response."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(100.0))
    try:
        content = request.get("content")
        response = await http.request(
            str(request.get("method") or "GET").upper(),
            str(request["uri"]),
            headers=_headers(request.get("headers")),
            content=content.encode("utf-8") if isinstance(content, str) else None,
        )
        polls = 0
        while response.status_code == 202 and "location" in response.headers and polls < MAX_POLLS:
            await asyncio.sleep(_retry_after(response))
            response = await http.get(response.headers["location"], headers=_headers(request.get("headers")))
            polls += 1
        return response
    finally:
        if own:
            await http.aclose()


async def run_durable_http(now: Callable[[], datetime], task_id: int, input_text: str | None) -> h.Event:
    """Run one durable HTTP call and return its TaskCompleted/TaskFailed event."""
    try:
        request = json.loads(input_text or "{}")
        if not isinstance(request, dict) or "uri" not in request:
            raise ValueError("call_http request without a 'uri'")
        response = await perform(request)
    except Exception as exc:
        return http_failed(now(), task_id, exc)
    headers = {k: v for k, v in response.headers.items()}
    return http_completed(now(), task_id, response.status_code, headers, response.text)
