"""A minimal Debug Adapter Protocol client over a socket (what an IDE sends to debugpy)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any


class DapClient:
    """Requests and their responses; events are kept until :meth:`wait_event` takes them."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buffer = b""
        self.seq = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self.sock.close()

    def send(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        self.seq += 1
        body = json.dumps(
            {"seq": self.seq, "type": "request", "command": command, "arguments": arguments or {}}
        ).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = int(header.split(b":")[1])
        while len(self.buffer) < length:
            self._recv()
        message, self.buffer = json.loads(self.buffer[:length]), self.buffer[length:]
        return dict(message)

    def _recv(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the debug adapter closed the connection"
        self.buffer += chunk

    def request(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and return its response (events read meanwhile are kept)."""
        seq = self.send(command, arguments)
        return self.response(seq)

    def response(self, seq: int) -> dict[str, Any]:
        while True:
            message = self._read()
            if message["type"] == "response" and message["request_seq"] == seq:
                return message
            if message["type"] == "event":
                self.events.append(message)

    def wait_event(self, name: str) -> dict[str, Any]:
        """The next event ``name`` (the socket timeout bounds the wait)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, event in enumerate(self.events):
                if event["event"] == name:
                    return self.events.pop(i)
            message = self._read()
            if message["type"] == "event":
                self.events.append(message)
        raise AssertionError(f"no {name!r} event from the debug adapter")
