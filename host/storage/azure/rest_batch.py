"""Entity-group transactions on the wire: the multipart/mixed ``$batch`` body and its response."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from multidict import CIMultiDict

_BOUNDARY = re.compile(r'boundary="?([^";\s]+)"?', re.I)
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


@dataclass(frozen=True)
class SubRequest:
    """One operation of a batch: method, absolute URL, headers and JSON body (or None)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True)
class SubResponse:
    """One operation's answer: status, headers (case-insensitive) and body."""

    status: int
    headers: CIMultiDict[str]
    body: bytes


def build_batch(ops: list[SubRequest]) -> tuple[bytes, str]:
    """(body, content type) of a ``$batch`` holding ``ops`` in one change set."""
    batch, change = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    out = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={change}\r\n\r\n".encode()]
    for i, op in enumerate(ops):
        head = [
            f"--{change}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"{op.method} {op.url} HTTP/1.1",
            f"Content-ID: {i + 1}",
        ]
        head += [f"{k}: {v}" for k, v in op.headers.items()]
        out.append(("\r\n".join(head) + "\r\n\r\n").encode())
        if op.body is not None:
            out.append(op.body)
        out.append(b"\r\n")
    out.append(f"--{change}--\r\n--{batch}--\r\n".encode())
    return b"".join(out), f"multipart/mixed; boundary={batch}"


def _parts(body: bytes, boundary: str) -> list[bytes]:
    sep = b"--" + boundary.encode()
    pieces = body.split(sep)[1:]  # before the first delimiter: the preamble
    return [p for p in pieces if not p.startswith(b"--")]  # the last one is the close delimiter


def _split_head(part: bytes) -> tuple[bytes, bytes]:
    part = part.lstrip(b"\r\n")
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = part.partition(sep)
        if found:
            return head, rest
    return part, b""


def _headers(head: bytes) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for line in head.decode("utf-8", "replace").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            out.add(name.strip(), value.strip())
    return out


def parse_batch(body: bytes, content_type: str) -> list[SubResponse]:
    """The operations' responses of a ``$batch`` response, in order (nested change sets too)."""
    m = _BOUNDARY.search(content_type)
    if not m:
        raise ValueError(f"batch response without a boundary: {content_type!r}")
    out: list[SubResponse] = []
    for part in _parts(body, m.group(1)):
        head, content = _split_head(part)
        headers = _headers(head)
        inner = headers.get("Content-Type", "")
        if inner.lower().startswith("multipart/mixed"):
            out.extend(parse_batch(content, inner))
            continue
        status = _STATUS.match(content)
        if status is None:
            continue
        sub_head, sub_body = _split_head(content)
        _first, _, rest = sub_head.partition(b"\n")
        out.append(SubResponse(int(status.group(1)), _headers(rest), sub_body.rstrip(b"\r\n")))
    return out
