"""Queue message bodies as the storage extension writes and reads them (``messageEncoding``)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import azure.functions as func

from host.errors import ConfigError

BASE64 = "base64"
NONE = "none"


def check_encoding(value: str | None) -> str:
    """``base64`` (default) or ``none``; ConfigError otherwise."""
    text = (value or BASE64).strip().lower()
    if text not in (BASE64, NONE):
        raise ConfigError(
            f"host.json 'extensions.queues.messageEncoding': '{value}' is not 'base64' or 'none'"
        )
    return text


def encode_body(body: str | bytes, encoding: str) -> str:
    """The stored content of a message whose body is ``body``."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if encoding == BASE64:
        return base64.b64encode(raw).decode("ascii")
    return raw.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


def decode_body(content: str, encoding: str) -> bytes:
    """The body bytes of a stored message; ValueError if base64 is expected and it is not base64."""
    if encoding != BASE64:
        return content.encode("utf-8")
    compact = "".join(content.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"The message content is not a valid Base-64 string: {e}") from None


def output_messages(value: Any) -> list[str | bytes]:
    """The message bodies an output binding value stands for (a list ⇒ one message per element).

    Mirrors the worker's ``QueueMessageOutConverter``: ``str``/``bytes`` as given,
    ``func.QueueMessage`` by its body, other JSON-able values serialized as JSON.
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        out: list[str | bytes] = []
        for item in value:
            out.extend(output_messages(item) if not isinstance(item, list | tuple) else [json.dumps(item)])
        return out
    if isinstance(value, str | bytes | bytearray):
        return [bytes(value) if isinstance(value, bytearray) else value]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    return [json.dumps(value)]
