"""uvicorn as a local host runs it: bounded request heads, idle connections and concurrency.

:class:`ServerLimits` are the numbers; :func:`server_config` turns them into a ``uvicorn.Config``.
On top of what uvicorn offers (keep-alive timeout, the h11 head size, a concurrency limit that
answers 503), :class:`BoundedH11Protocol` closes a connection that has not delivered a complete
request head within ``head_timeout`` of opening or of its previous response (a slow-loris client
would otherwise hold a connection forever) and answers 431 to a head larger than
``max_head_bytes`` however it arrives (h11 bounds only the part still incomplete). Request
bodies have an idle timeout in the apps (:data:`host.http.limits.BODY_IDLE_TIMEOUT`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits of the HTTP server (suited to one developer's machine)."""

    keep_alive: int = 5
    """Seconds an idle keep-alive connection stays open (``timeout_keep_alive``)."""
    head_timeout: float = 10.0
    """Seconds a connection has to deliver a complete request head."""
    max_head_bytes: int = 32 * 1024
    """Request line + headers (``h11_max_incomplete_event_size``; Kestrel's default total); 400 past it."""
    max_connections: int = 1000
    """Open connections or running requests before new requests get 503 (``limit_concurrency``)."""


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    head_timeout: float = ServerLimits.head_timeout
    max_head_bytes: int = ServerLimits.max_head_bytes
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            pending = self.conn.trailing_data[0] + data
            end = pending.find(b"\r\n\r\n")
            if (end if end >= 0 else len(pending)) > self.max_head_bytes:
                self._refuse_head()
                return
        super().data_received(data)

    def _refuse_head(self) -> None:
        self._cancel_head_timer()
        body = f"The request head is larger than {self.max_head_bytes} bytes.".encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()  # a request head arrived (or the connection ended)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, limits: ServerLimits | None = None, **options: Any) -> uvicorn.Config:
    """The ``uvicorn.Config`` serving ``app`` under ``limits``; ``options`` go to uvicorn as they are."""
    limits = limits or ServerLimits()
    protocol = type(
        "HostH11Protocol",
        (BoundedH11Protocol,),
        {"head_timeout": limits.head_timeout, "max_head_bytes": limits.max_head_bytes},
    )
    return uvicorn.Config(
        app,
        http=protocol,
        timeout_keep_alive=limits.keep_alive,
        h11_max_incomplete_event_size=limits.max_head_bytes,
        limit_concurrency=limits.max_connections,
        **options,
    )
