"""Orchestration versioning (pure): which version new instances get, which ones this host runs.

host.json ``extensions.durableTask``: ``defaultVersion`` stamps every new orchestration (client
starts and sub-orchestrations started without an explicit version); ``versionMatchStrategy``
(``None``, ``Strict``, ``CurrentOrOlder`` — the default) says which instance versions this host
may run; ``versionFailureStrategy`` (``Reject`` — the default — or ``Fail``) what happens to the
others. Versions are compared as the Durable Task Framework's ``VersioningSettings`` does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, TypeVar

from host.errors import ConfigError

_INT32_MAX = 2**31 - 1


class MatchStrategy(enum.Enum):
    """``versionMatchStrategy``: which instance versions a host runs."""

    NONE = "None"
    """Every version."""
    STRICT = "Strict"
    """Only its own ``defaultVersion``."""
    CURRENT_OR_OLDER = "CurrentOrOlder"
    """Its own ``defaultVersion`` and older ones."""


class FailureStrategy(enum.Enum):
    """``versionFailureStrategy``: what happens to an instance of a version the host may not run."""

    REJECT = "Reject"
    """Leave its messages on the queue for a host that can run it."""
    FAIL = "Fail"
    """Fail the instance."""


def _dotnet_version(text: str) -> tuple[int, ...] | None:
    """``System.Version.TryParse``: 2 to 4 dot-separated non-negative 32-bit integers."""
    parts = text.split(".")
    if not 2 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        digits = part.strip()
        digits = digits[1:] if digits.startswith("+") else digits
        if not digits.isascii() or not digits.isdigit() or int(digits) > _INT32_MAX:
            return None
        numbers.append(int(digits))
    return tuple(numbers)


def compare_versions(source: str | None, other: str | None) -> int:
    """Negative, zero or positive as ``source`` is older than, equal to or newer than ``other``.

    Empty (or blank) versions are equal to each other and older than any other version; two
    versions that both parse as .NET ``System.Version`` (``1.0``, ``2.1.3``) compare by their
    numbers, missing parts counting as older (``1.0`` < ``1.0.0``); anything else compares as
    text, ignoring case (so ``"10"`` < ``"9"``, as in the extension).
    """
    a, b = (source or "").strip(), (other or "").strip()
    if not a or not b:
        return (1 if a else 0) - (1 if b else 0)
    va, vb = _dotnet_version(source or ""), _dotnet_version(other or "")
    if va is not None and vb is not None:
        # System.Version leaves unset Build/Revision at -1, so 1.0 < 1.0.0 < 1.0.0.0.
        pa, pb = va + (-1,) * (4 - len(va)), vb + (-1,) * (4 - len(vb))
        return (pa > pb) - (pa < pb)
    ua, ub = (source or "").upper(), (other or "").upper()
    return (ua > ub) - (ua < ub)


@dataclass(frozen=True)
class Versioning:
    """The versioning settings of one host."""

    default_version: str = ""
    match: MatchStrategy = MatchStrategy.CURRENT_OR_OLDER
    failure: FailureStrategy = FailureStrategy.REJECT

    @classmethod
    def from_host_json(cls, section: dict[str, Any]) -> Versioning:
        """The settings of an ``extensions.durableTask`` section (keys already lower-cased)."""
        raw = section.get("defaultversion")
        if (raw is not None and not isinstance(raw, str | int | float)) or isinstance(raw, bool):
            raise ConfigError(
                f"host.json extensions.durableTask: defaultVersion must be a string, got {raw!r}"
            )
        return cls(
            default_version="" if raw is None else str(raw),
            match=_strategy(section, "versionMatchStrategy", MatchStrategy, MatchStrategy.CURRENT_OR_OLDER),
            failure=_strategy(section, "versionFailureStrategy", FailureStrategy, FailureStrategy.REJECT),
        )

    @property
    def checks(self) -> bool:
        """Whether this host refuses some versions (only with a ``defaultVersion`` to compare to)."""
        return bool(self.default_version) and self.match is not MatchStrategy.NONE

    def mismatch(self, version: str | None) -> str | None:
        """Why this host may not run an instance of ``version`` (``None``: it may)."""
        if not self.checks:
            return None
        mine, theirs = self.default_version, version or ""
        if self.match is MatchStrategy.STRICT and theirs != mine:
            return (
                f"The orchestration version '{theirs}' does not match this host's defaultVersion "
                f"'{mine}' (versionMatchStrategy Strict)."
            )
        if self.match is MatchStrategy.CURRENT_OR_OLDER and compare_versions(theirs, mine) > 0:
            return (
                f"The orchestration version '{theirs}' is greater than this host's defaultVersion "
                f"'{mine}' (versionMatchStrategy CurrentOrOlder)."
            )
        return None

    def rejects(self, version: str | None) -> bool:
        """Whether an instance of ``version`` is left on the queue for another host."""
        return self.failure is FailureStrategy.REJECT and self.mismatch(version) is not None


E = TypeVar("E", bound=enum.Enum)


def _strategy(section: dict[str, Any], key: str, kind: type[E], default: E) -> E:
    raw = section.get(key.lower())
    if raw is None:
        return default
    by_name = {str(m.value).lower(): m for m in kind}
    by_number = {str(i): m for i, m in enumerate(kind)}  # .NET binds enum numbers too
    found = by_name.get(str(raw).strip().lower()) or by_number.get(str(raw).strip())
    if found is None or isinstance(raw, bool):
        allowed = ", ".join(str(m.value) for m in kind)
        raise ConfigError(f"host.json extensions.durableTask: {key} must be one of {allowed}, got {raw!r}")
    return found
