"""Failures of user code in a few readable lines: the user's own frames and the message.

Frames of this host, of the standard library and of installed packages (site-packages) are
left out unless ``verbose``; what is left is what the person can act on. The same concise text
goes to the console and into an instance's failure details.
"""

from __future__ import annotations

import site
import sysconfig
import traceback
from functools import cache
from pathlib import Path

_HOST_DIR = str(Path(__file__).resolve().parent)


@cache
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # pragma: no cover - some virtualenv layouts lack these
        pass
    resolved = {str(Path(d).resolve()) for d in dirs if d}
    return (_HOST_DIR, *sorted(resolved, key=len, reverse=True))


def is_user_frame(filename: str) -> bool:
    """Whether a traceback frame is the app's code (not the host, the stdlib or a package)."""
    if not filename or filename.startswith("<"):
        return False
    try:
        path = str(Path(filename).resolve())
    except OSError:
        return True
    return not any(
        path == d or path.startswith(d + "/") or path.startswith(d + "\\") for d in _library_dirs()
    )


def first_line(text: str) -> str:
    """The first line of a (maybe multi-line) message."""
    return text.strip().split("\n", 1)[0].rstrip()


def exception_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (``Type`` alone for an empty message)."""
    message = first_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def format_failure(exc: BaseException, *, verbose: bool = False) -> str:
    """The traceback of ``exc``: everything when ``verbose``, else the user's frames and the message.

    Concise: ``Traceback (most recent call last):``, the user's frames (file, line, function and
    source line), then ``Type: first line of the message``; no chained exceptions.
    """
    if verbose:
        return "".join(traceback.format_exception(exc)).rstrip()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_frame(f.filename)]
    lines = []
    if frames:
        lines.append("Traceback (most recent call last):")
        for f in frames:
            lines.append(f'  File "{f.filename}", line {f.lineno}, in {f.name}')
            if f.line:
                lines.append(f"    {f.line.strip()}")
    lines.append(exception_line(exc))
    return "\n".join(lines)


def not_serializable(type_name: str, what: str = "the function") -> str:
    """Why a returned value of type ``type_name`` cannot be stored, and what would work."""
    return (
        f"{what} returned a value of type '{type_name}', which is not JSON-serializable: "
        "return a dict, list, str, number, bool or None (or an object with to_json/from_json)"
    )
