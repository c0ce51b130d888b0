"""Request signing for the lean REST path: Shared Key (queues and blobs, tables) or a SAS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from urllib.parse import unquote

_QUEUE_SIGNED = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def sign(key: bytes, text: str) -> str:
    """Base64 HMAC-SHA256 of ``text`` with the account ``key`` (already Base64-decoded)."""
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()).decode()


def queue_string_to_sign(
    account: str, method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str]
) -> str:
    """Shared Key string-to-sign of the blob/queue services.

    ``path`` is the URL path as sent (percent-encoded), ``query`` the decoded parameters, and
    ``headers`` every header sent, with lower-case names.
    """
    parts = [method]
    for name in _QUEUE_SIGNED:
        value = headers.get(name, "")
        parts.append("" if name == "content-length" and value == "0" else value)
    canonical = "".join(
        f"{n}:{v.strip()}\n" for n, v in sorted((n, v) for n, v in headers.items() if n.startswith("x-ms-"))
    )
    resource = f"/{account}{path}"
    if query:
        grouped: dict[str, list[str]] = {}
        for n, v in query:
            grouped.setdefault(n.lower(), []).append(unquote(v))
        resource += "".join(f"\n{n}:{','.join(sorted(vs))}" for n, vs in sorted(grouped.items()))
    return "\n".join(parts) + "\n" + canonical + resource


def table_string_to_sign(
    account: str, method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str]
) -> str:
    """Shared Key string-to-sign of the table service (``x-ms-date`` stands for Date)."""
    comp = next((v for n, v in query if n == "comp"), None)
    return (
        f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
        f"{headers.get('x-ms-date', '')}\n/{account}{path}" + (f"?comp={comp}" if comp else "")
    )


class HttpDate:
    """RFC 1123 ``x-ms-date`` of now, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, formatdate(second, usegmt=True)
        return self._text
