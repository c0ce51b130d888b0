"""Blob paths built from binding expressions are checked after substitution.

A value from a route, a message or a blob name must not move a binding out of its container:
``..`` and ``.`` segments, backslashes and control characters are rejected, also when they
arrive percent-encoded (``..%2F``). Without this check an account SAS reads
``images/../secret/creds.txt`` as ``secret/creds.txt`` (HTTP clients normalize dot segments).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from host.errors import BindingInputError, InvocationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTAINER = re.compile(r"\$?[A-Za-z0-9][A-Za-z0-9-]*")


def blob_path_problem(container: str, name: str) -> str | None:
    """Why ``container``/``name`` may not be used as a binding's blob, or ``None`` if it may."""
    if not _CONTAINER.fullmatch(container):
        return f"'{container}' is not a container name"
    if not name:
        return "the blob name is empty"
    for text in {name, unquote(name)}:
        if "\\" in text:
            return "it contains a backslash"
        if _CONTROL.search(text):
            return "it contains a control character"
        if any(segment in (".", "..") for segment in text.split("/")):
            return "it contains a '.' or '..' segment"
    return None


def split_blob_path(path: str) -> tuple[str, str]:
    """``container/name`` of a substituted binding path; InvocationError if it has no blob name,
    BindingInputError if it is not a safe one."""
    container, _, name = path.strip().lstrip("/").partition("/")
    if not container or not name:
        raise InvocationError(f"Invalid blob path {path!r}: expected 'container/blob'")
    problem = blob_path_problem(container, name)
    if problem is not None:
        raise BindingInputError(
            f"Invalid blob path {path!r}: {problem}; a binding's blob path must stay inside its container"
        )
    return container, name
