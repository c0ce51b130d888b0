"""One raw ASGI POST with a caller-supplied ``receive`` (a body that streams, stalls or never ends)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


async def asgi_post(
    app: Any, path: str, receive: Receive, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """POST ``path`` to the ASGI ``app`` on 127.0.0.1:7071; the response's status and body."""
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:7071"), *headers],
        "scheme": "http",
        "server": ("127.0.0.1", 7071),
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(status), body
