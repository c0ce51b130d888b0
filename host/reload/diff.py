"""What a reload changed in the function listing: added, removed and changed functions (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from host.indexing.listing import listing_lines
from host.indexing.loader import unwrap_user_function
from host.indexing.registry import FunctionInfo


@dataclass(frozen=True)
class ListingDiff:
    """Function names, each list sorted case-insensitively."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, list[str]]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def _code_key(code: CodeType) -> tuple[Any, ...]:
    """The code's behaviour, not its place: bytecode, names and constants (nested code too)."""
    consts = tuple(_code_key(c) if isinstance(c, CodeType) else repr(c) for c in code.co_consts)
    return (code.co_code, code.co_names, code.co_varnames, consts)


def fingerprint(fn: FunctionInfo) -> tuple[Any, ...]:
    """What makes a function the same after a reload: its bindings and its code."""
    bindings = json.dumps(
        [(b.name, b.type, b.direction, b.settings) for b in fn.bindings], sort_keys=True, default=str
    )
    code = getattr(unwrap_user_function(fn.func), "__code__", None)  # callables without code: bindings only
    return (bindings, _code_key(code) if isinstance(code, CodeType) else None)


def diff_functions(old: Iterable[FunctionInfo], new: Iterable[FunctionInfo]) -> ListingDiff:
    """Added, removed and changed functions between two listings."""
    before = {f.name: fingerprint(f) for f in old}
    after = {f.name: fingerprint(f) for f in new}

    def ordered(names: Iterable[str]) -> list[str]:
        return sorted(names, key=str.lower)

    return ListingDiff(
        added=ordered(after.keys() - before.keys()),
        removed=ordered(before.keys() - after.keys()),
        changed=ordered(n for n in before.keys() & after.keys() if before[n] != after[n]),
    )


def format_diff(diff: ListingDiff, new: Iterable[FunctionInfo], base_url: str, route_prefix: str) -> str:
    """``+``/``~`` lines in the listing's own format, ``-`` lines with the removed names."""
    functions = list(new)
    by_name = {
        line.strip().split(":", 1)[0]: line.strip()
        for line in listing_lines(functions, base_url, route_prefix)
    }
    lines = [f"  + {by_name.get(n, n)}" for n in diff.added]
    lines += [f"  - {n}" for n in diff.removed]
    lines += [f"  ~ {by_name.get(n, n)}" for n in diff.changed]
    return "\n".join(lines) if lines else "  (no function added, removed or changed)"
