"""HTTP requests in, responses out, as the host and the Python worker convert them.

Requests become the worker's own ``azure.functions.http.HttpRequest`` (built by the library's
``HttpRequestConverter`` from an ``RpcHttp``-shaped datum): method as sent, full URL, lower-cased
headers with repeated values joined by ``,``, query parameters without empty values, route values,
body bytes. Responses: ``func.HttpResponse`` (through ``HttpResponseConverter.encode``, so the
content type and cookies come out as the worker makes them), ``str`` (a JSON object with a
``body`` key is a response object, anything else ``text/plain``), and, beyond what the real worker
accepts, ``bytes`` (``application/octet-stream``) and ``dict``/``list`` (``application/json``).
``None`` fails like the worker (``TypeError``, so 500).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from azure.functions import _abc as azf_abc
from azure.functions.http import HttpRequestConverter, HttpResponseConverter
from azure.functions.meta import Datum
from starlette.responses import Response

TEXT_PLAIN = "text/plain; charset=utf-8"
APPLICATION_JSON = "application/json; charset=utf-8"


def join_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI headers → lower-cased names, repeated values joined with ``,`` (``StringValues``)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


def parse_query(query_string: str) -> dict[str, str]:
    """Query parameters; repeated values joined with ``,``, empty values dropped (as the host does)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=False):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def build_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    route_params: Mapping[str, str],
    body: bytes,
) -> Any:
    """The worker-identical ``HttpRequest`` (decoded by the library's own converter)."""
    datum = Datum(
        type="http",
        value={
            "method": Datum(method, "string"),
            "url": Datum(url, "string"),
            "headers": {k: Datum(v, "string") for k, v in headers.items()},
            "query": {k: Datum(v, "string") for k, v in params.items()},
            "params": {k: Datum(v, "string") for k, v in route_params.items()},
            "body": Datum(body, "bytes"),
        },
    )
    return HttpRequestConverter.decode(datum, trigger_metadata={})


def request_url(scheme: str, host: str, raw_path: str, query_string: str) -> str:
    """``<scheme>://<Host header><path>[?<query>]`` with the raw query string kept."""
    return f"{scheme}://{host}{raw_path}" + (f"?{query_string}" if query_string else "")


def _cookie_headers(cookies: Iterable[SimpleCookie] | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for cookie in cookies or ():
        out.extend(("set-cookie", morsel.OutputString()) for morsel in cookie.values())
    return out


def _make(body: bytes, status: int, headers: list[tuple[str, str]]) -> Response:
    response = Response(body, status_code=status)
    raw = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in headers
        if k.lower() != "content-length"
    ]
    raw.append((b"content-length", str(len(body)).encode()))
    response.raw_headers = raw
    return response


def _from_http_response(obj: azf_abc.HttpResponse) -> Response:
    datum = HttpResponseConverter.encode(obj, expected_type=None)
    value = datum.value
    headers = [(name, h.value) for name, h in value["headers"].items()]
    headers.extend(_cookie_headers(value.get("cookies")))
    body = value["body"].value or b""
    return _make(
        body if isinstance(body, bytes) else str(body).encode(), int(value["status_code"].value), headers
    )


def _from_response_object(obj: Mapping[str, Any]) -> Response:
    """A Node-style response object (``{"body": ..., "status": ..., "headers": ...}``)."""
    lowered = {k.lower(): v for k, v in obj.items()}
    status = int(lowered.get("status") or lowered.get("statuscode") or 200)
    headers = [(str(k), str(v)) for k, v in (lowered.get("headers") or {}).items()]
    body = lowered.get("body")
    if isinstance(body, bytes | bytearray):
        data, ctype = bytes(body), "application/octet-stream"
    elif isinstance(body, str):
        data, ctype = body.encode(), TEXT_PLAIN
    elif body is None:
        data, ctype = b"", TEXT_PLAIN
    else:
        data, ctype = json.dumps(body).encode(), APPLICATION_JSON
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", ctype))
    for cookie in lowered.get("cookies") or []:
        if isinstance(cookie, Mapping) and "name" in cookie:
            headers.append(("set-cookie", f"{cookie['name']}={cookie.get('value', '')}"))
    return _make(data, status, headers)


def _from_str(text: str) -> Response:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and any(k.lower() == "body" for k in parsed):
            return _from_response_object(parsed)
    return _make(text.encode(), 200, [("content-type", TEXT_PLAIN)])


def to_response(value: Any) -> Response:
    """The HTTP response for a value returned (or set on an http ``Out``) by a function."""
    if isinstance(value, azf_abc.HttpResponse):
        return _from_http_response(value)
    if isinstance(value, str):
        return _from_str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _make(bytes(value), 200, [("content-type", "application/octet-stream")])
    if isinstance(value, dict | list):
        return _make(json.dumps(value).encode(), 200, [("content-type", APPLICATION_JSON)])
    if isinstance(value, Response):
        return value
    raise TypeError(
        f'unable to encode outgoing TypedData: unsupported type "{HttpResponseConverter}" '
        f'for Python type "{type(value).__name__}"'
    )
