"""Error codes of REST responses (queue XML, table JSON) mapped onto :mod:`host.errors`."""

from __future__ import annotations

import json
import re
from typing import NoReturn

from host.storage.azure.convert import raise_http
from host.storage.azure.rest_client import RestResponse

_XML_CODE = re.compile(rb"<Code>([^<]*)</Code>")


def error_code(r: RestResponse) -> str:
    """``x-ms-error-code``, else the code in the XML or JSON error body ('' if none)."""
    code = r.headers.get("x-ms-error-code")
    if code:
        return code
    m = _XML_CODE.search(r.body)
    if m:
        return m.group(1).decode("utf-8", "replace")
    return json_error(r.body)[0]


def json_error(body: bytes) -> tuple[str, str]:
    """(code, message) of a table service JSON error body ('' where absent)."""
    try:
        data = json.loads(body)
        err = data.get("odata.error") or data.get("error") or {}
        message = err.get("message", "")
        if isinstance(message, dict):
            message = message.get("value", "")
        return str(err.get("code", "")), str(message)
    except (ValueError, AttributeError):
        return "", ""


def raise_response(r: RestResponse, what: str) -> NoReturn:
    """Raise the mapped error of a failed response."""
    code = error_code(r)
    lines = json_error(r.body)[1].splitlines() if r.body.startswith(b"{") else []
    detail = lines[0][:200] if lines else ""
    raise_http(r.status, code, what, detail or r.body[:200].decode("utf-8", "replace"))
