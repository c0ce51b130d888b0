"""ASP.NET Core inline route constraints (``{id:int}``, ``{n:range(1,9)}``, ...), as pure checks.

Each constraint becomes a predicate over the route value (a string). The parsing rules follow
.NET's invariant-culture ``TryParse`` family closely enough for route matching: whitespace around
numbers is allowed, ``int``/``long``/``min``/``max``/``range`` are 32/64-bit integers, ``regex`` is
searched (not anchored) case-insensitively, exactly like ``RegexRouteConstraint``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from host.errors import IndexingError

Check = Callable[[str], bool]

_INT_RE = re.compile(r"\s*[+-]?\d+\s*\Z")
_DECIMAL_RE = re.compile(r"\s*[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)[+-]?\s*\Z")
_FLOAT_RE = re.compile(r"\s*[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")
_FLOAT_SYMBOLS = {"nan", "infinity", "-infinity", "+infinity", "∞", "-∞", "+∞"}
_GUID_HEX = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_RE = re.compile(rf"\s*(?:{_GUID_HEX}|\{{{_GUID_HEX}\}}|\({_GUID_HEX}\)|[0-9a-fA-F]{{32}})\s*\Z")
_ALPHA_RE = re.compile(r"[a-zA-Z]*\Z")
_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%z",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%H:%M",
    "%H:%M:%S",
)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _parse_int(value: str, bounds: tuple[int, int] = INT64) -> int | None:
    if not _INT_RE.match(value):
        return None
    number = int(value)
    return number if bounds[0] <= number <= bounds[1] else None


def _is_decimal(value: str) -> bool:
    if not _DECIMAL_RE.match(value):
        return False
    digits = value.strip().strip("+-").replace(",", "").split(".")[0]
    return len(digits.lstrip("0")) <= 29


def _is_float(value: str) -> bool:
    return bool(_FLOAT_RE.match(value)) or value.strip().lower() in _FLOAT_SYMBOLS


def _is_datetime(value: str) -> bool:
    text = value.strip()
    if not text:
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            continue
    return False


def _is_bool(value: str) -> bool:
    return value.strip().lower() in ("true", "false")


def _is_file(value: str) -> bool:
    last = value.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return 0 <= dot < len(last) - 1


def _int_args(name: str, args: list[str], count: tuple[int, ...]) -> list[int]:
    if len(args) not in count:
        raise IndexingError(f"route constraint '{name}' expects {' or '.join(map(str, count))} argument(s)")
    try:
        return [int(a.strip()) for a in args]
    except ValueError:
        raise IndexingError(f"route constraint '{name}' has a non-integer argument: {args}") from None


def _in_range(low: int | None, high: int | None) -> Check:
    def check(value: str) -> bool:
        number = _parse_int(value)
        if number is None:
            return False
        return (low is None or number >= low) and (high is None or number <= high)

    return check


def _length(low: int | None, high: int | None) -> Check:
    return lambda value: (low is None or len(value) >= low) and (high is None or len(value) <= high)


_SIMPLE: dict[str, Check] = {
    "int": lambda v: _parse_int(v, INT32) is not None,
    "long": lambda v: _parse_int(v, INT64) is not None,
    "bool": _is_bool,
    "datetime": _is_datetime,
    "decimal": _is_decimal,
    "double": _is_float,
    "float": _is_float,
    "guid": lambda v: bool(_GUID_RE.match(v)),
    "alpha": lambda v: bool(_ALPHA_RE.match(v)),
    "required": lambda v: v != "",
    "file": _is_file,
    "nonfile": lambda v: not _is_file(v),
}


def build_constraint(name: str, argument: str | None) -> Check:
    """The predicate for one inline constraint, e.g. ``("range", "1,9")``; unknown names fail."""
    key = name.lower()
    if key in _SIMPLE:
        if argument is not None:
            raise IndexingError(f"route constraint '{name}' takes no arguments")
        return _SIMPLE[key]
    if argument is None:
        raise IndexingError(f"the route constraint '{name}' could not be resolved (missing argument)")
    if key == "regex":
        try:
            pattern = re.compile(argument, re.IGNORECASE)
        except re.error as exc:
            raise IndexingError(f"invalid regex route constraint '{argument}': {exc}") from None
        return lambda v: pattern.search(v) is not None
    args = argument.split(",")
    if key == "minlength":
        return _length(_int_args(name, args, (1,))[0], None)
    if key == "maxlength":
        return _length(None, _int_args(name, args, (1,))[0])
    if key == "length":
        nums = _int_args(name, args, (1, 2))
        return _length(nums[0], nums[-1])
    if key == "min":
        return _in_range(_int_args(name, args, (1,))[0], None)
    if key == "max":
        return _in_range(None, _int_args(name, args, (1,))[0])
    if key == "range":
        low, high = _int_args(name, args, (2,))
        return _in_range(low, high)
    raise IndexingError(f"the route constraint '{name}' could not be resolved to a known constraint")
