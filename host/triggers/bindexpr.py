"""Binding expressions: ``{name}`` templates, blob path patterns, binding data from triggers.

Rules of webjobs ``BindingTemplate``: ``{param}`` names a value of the trigger's binding data
(case-insensitive; dotted names reach into JSON objects), ``{{``/``}}`` are literal braces,
``{rand-guid}`` and ``{datetime}`` are built in. A blob trigger path is a pattern: each
``{param}`` captures ``.*`` (greedy, may include ``/``), literals match exactly, anchored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from host.errors import IndexingError, InvocationError
from host.triggers.blobpath import blob_path_problem

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def _tokens(template: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ("lit", text) or ("param", name)."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            out.append(("lit", template[pos : m.start()]))
        if m.group(0) == "{{":
            out.append(("lit", "{"))
        elif m.group(0) == "}}":
            out.append(("lit", "}"))
        else:
            name = m.group(1).strip()
            if not name:
                raise IndexingError(f"Invalid template '{template}': empty '{{}}' parameter")
            out.append(("param", name))
        pos = m.end()
    if pos < len(template):
        out.append(("lit", template[pos:]))
    for kind, text in out:
        if kind == "lit" and ("{" in text or "}" in text) and text not in ("{", "}"):
            raise IndexingError(f"Invalid template '{template}': unbalanced braces")
    return out


def template_params(template: str) -> list[str]:
    """The parameter names a template uses."""
    return [text for kind, text in _tokens(template) if kind == "param"]


def _lookup(data: Mapping[str, Any], name: str) -> Any:
    lowered = name.lower()
    if lowered in ("rand-guid", "sys.randguid"):
        return str(uuid.uuid4())
    if lowered in ("datetime", "sys.utcnow"):
        return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    head, _, rest = name.partition(".")
    found: Any = _MISSING
    for key, value in data.items():
        if key.lower() == (lowered if not rest else head.lower()):
            found = value
            break
    if found is _MISSING and rest:
        # a dotted key stored as-is (e.g. from a JSON message)
        for key, value in data.items():
            if key.lower() == lowered:
                return value
    if found is _MISSING:
        raise InvocationError(f"No value for named parameter '{name}'.")
    if rest:
        if isinstance(found, str):
            try:
                found = json.loads(found)
            except ValueError:
                raise InvocationError(f"No value for named parameter '{name}'.") from None
        if not isinstance(found, Mapping):
            raise InvocationError(f"No value for named parameter '{name}'.")
        return _lookup(found, rest)
    return found


_MISSING = object()


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value)


def bind_template(template: str, data: Mapping[str, Any]) -> str:
    """``template`` with every ``{param}`` replaced from ``data``; InvocationError if one is missing."""
    return "".join(
        text if kind == "lit" else _as_text(_lookup(data, text)) for kind, text in _tokens(template)
    )


@dataclass(frozen=True)
class BlobPathPattern:
    """A blob trigger path ``container/pattern`` (the container part may not have parameters)."""

    container: str
    blob_pattern: str
    regex: re.Pattern[str]
    params: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> BlobPathPattern:
        text = path.strip().lstrip("/")
        container, sep, blob = text.partition("/")
        if not container or "{" in container:
            raise IndexingError(
                f"Invalid blob trigger path '{path}': it must start with a container name, "
                "e.g. 'uploads/{name}'"
            )
        # Parameters stand in as a plain character: only the literal parts can be checked here.
        shape = "".join(v if k == "lit" else "p" for k, v in _tokens(blob)) if sep else "p"
        problem = blob_path_problem(container, shape or "p")
        if problem is not None:
            raise IndexingError(f"Invalid blob trigger path {path!r}: {problem}")
        parts: list[str] = []
        params: list[str] = []
        for kind, value in _tokens(blob if sep else ""):
            if kind == "lit":
                parts.append(re.escape(value))
            else:
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", value) or value in params:
                    raise IndexingError(f"Invalid blob trigger path '{path}': bad parameter '{{{value}}}'")
                parts.append(f"(?P<p{len(params)}>.*)")
                params.append(value)
        if not sep or not blob:
            parts = [".+"]
        return cls(container, blob, re.compile("^" + "".join(parts) + "$", re.DOTALL), tuple(params))

    @property
    def literal_prefix(self) -> str:
        """The blob name prefix before the first parameter (to narrow listings)."""
        head = self.blob_pattern.split("{", 1)[0]
        return head.replace("}}", "}")

    def match(self, blob_name: str) -> dict[str, str] | None:
        """The captured parameters if ``blob_name`` (inside the container) matches, else ``None``."""
        m = self.regex.match(blob_name)
        if m is None:
            return None
        return {name: m.group(f"p{i}") for i, name in enumerate(self.params)}


def json_binding_data(text: str | bytes) -> dict[str, Any]:
    """The top-level properties of a JSON object message (usable as ``{prop}``), else ``{}``."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return {}
    return dict(value) if isinstance(value, dict) else {}
