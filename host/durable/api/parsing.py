"""Request parsing and response building shared by the durable HTTP API routes.

Query parameter names are case-insensitive and booleans/dates parse leniently, as in the
extension; what cannot be parsed is a 400 whose JSON body names the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host.durable.api.payloads import RUNTIME_STATUSES
from host.durable.replay.history import parse_timestamp
from host.errors import DurableError
from host.http.limits import MAX_JSON_DEPTH, JsonTooDeepError, loads_bounded

JSON_TYPE = "application/json; charset=utf-8"
CONTINUATION_HEADER = "x-ms-continuation-token"

BAD_CONTINUATION = (
    "The continuation token (x-ms-continuation-token) is not one this host handed out: "
    "send back the header of the previous page unchanged."
)

ARGUMENT_MESSAGE = "One or more of the arguments submitted is incorrect"
SERVER_MESSAGE = "Something went wrong while processing your request"


class BadRequest(DurableError):
    """A request parameter or body is invalid (answered with 400)."""


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON body (``None`` → no body), as the extension writes it."""
    body = b"" if value is None else json.dumps(value, separators=(",", ":")).encode()
    return Response(
        body, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE if body else None
    )


def raw_json_response(text: str, status: int = 200) -> Response:
    """A body that already is JSON text (entity state)."""
    return Response(text.encode(), status_code=status, media_type=JSON_TYPE)


def error_response(
    status: int, message: str, exception_message: str | None = None, exception_type: str | None = None
) -> Response:
    """``{"Message", "ExceptionMessage", "ExceptionType", "StackTrace"}`` (the extension's shape)."""
    body: dict[str, Any] = {"Message": message}
    if exception_message is not None:
        body.update(
            ExceptionMessage=exception_message,
            ExceptionType=exception_type or "System.ArgumentException",
            StackTrace=None,
        )
    return json_response(body, status)


def argument_error(exception_message: str) -> Response:
    """400 for an ``ArgumentException``."""
    return error_response(400, ARGUMENT_MESSAGE, exception_message, "System.ArgumentException")


def server_error(
    exception_message: str, exception_type: str = "System.InvalidOperationException"
) -> Response:
    """500 for any other exception."""
    return error_response(500, SERVER_MESSAGE, exception_message, exception_type)


class Query:
    """Case-insensitive access to a request's query string."""

    def __init__(self, request: Request) -> None:
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in request.query_params.multi_items()]

    def get(self, name: str) -> str | None:
        key = name.lower()
        return next((v for k, v in self._items if k == key), None)

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self._items if k == key]

    def flag(self, name: str, default: bool) -> bool:
        """A .NET ``bool.TryParse`` value; anything else keeps the default."""
        value = self.get(name)
        if value is None:
            return default
        text = value.strip().lower()
        return text == "true" if text in ("true", "false") else default

    def time(self, name: str) -> datetime | None:
        value = self.get(name)
        if value is None or not value.strip():
            return None
        try:
            return parse_timestamp(value)
        except ValueError:
            raise BadRequest(
                f"The value '{value}' of query parameter '{name}' is not a valid date "
                f"and time (use ISO 8601, e.g. 2024-01-31T12:00:00Z)."
            ) from None

    def integer(self, name: str, *, minimum: int = 0) -> int | None:
        value = self.get(name)
        if value is None or not value.strip():
            return None
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise BadRequest(
                f"The value '{value}' of query parameter '{name}' is not an integer of at least {minimum}."
            )
        return number

    def seconds(self, name: str) -> float | None:
        value = self.get(name)
        if value is None or not value.strip():
            return None
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number >= 0:  # negative or NaN
            raise BadRequest(f"The value '{value}' of query parameter '{name}' is not a number of seconds.")
        return number

    def statuses(self, name: str = "runtimeStatus") -> tuple[str, ...]:
        """A comma list (also repeatable) of runtime status names, case-insensitive."""
        found: list[str] = []
        by_lower = {s.lower(): s for s in RUNTIME_STATUSES}
        for raw in self.get_all(name):
            for part in raw.split(","):
                text = part.strip()
                if not text:
                    continue
                status = by_lower.get(text.lower())
                if status is None:
                    raise BadRequest(
                        f"'{text}' is not a valid runtime status in query parameter '{name}'; "
                        f"valid values: {', '.join(RUNTIME_STATUSES)}."
                    )
                if status not in found:
                    found.append(status)
        return tuple(found)


def origin_of(request: Request) -> str:
    """``scheme://host[:port]`` the client used to reach this host."""
    return f"{request.url.scheme}://{request.url.netloc}"


def is_json_content_type(value: str | None) -> bool:
    return (value or "").split(";", 1)[0].strip().lower() == "application/json"


def parse_json_body(text: str) -> Any:
    """The JSON value of a body (BadRequest when it is not JSON)."""
    try:
        return loads_bounded(text)
    except JsonTooDeepError:
        raise BadRequest(f"The request body is JSON nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError as e:
        raise BadRequest(f"The request body is not valid JSON: {e}.") from None
