"""Input bounds shared by every HTTP surface of the host (HTTP triggers, the durable HTTP API).

* :data:`MAX_BODY` — a request body past it is 413 (read in chunks, never buffered whole);
* :data:`BODY_IDLE_TIMEOUT` — a body that stalls that long between two chunks is 408;
* :data:`MAX_JSON_DEPTH` — JSON nested deeper is refused, as Json.NET's default ``MaxDepth``
  refuses it in the real extension (and so a parse never ends in a ``RecursionError``).
"""

from __future__ import annotations

import json
from typing import Any

MAX_BODY = 100 * 1024 * 1024
BODY_IDLE_TIMEOUT = 30.0
MAX_JSON_DEPTH = 64


class JsonTooDeepError(ValueError):
    """A JSON text nests arrays/objects deeper than the limit."""


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests containers more than ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_bounded(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises :class:`JsonTooDeepError` past ``max_depth`` levels of nesting."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = json_depth_exceeds(value, max_depth)
    if too_deep:
        raise JsonTooDeepError(f"the JSON is nested more than {max_depth} levels deep")
    return value
