"""Parse a table binding's OData ``filter`` text into a structured storage filter.

Supported: ``prop op literal`` (``eq ne gt ge lt le``), ``and``/``or`` (``and`` binds tighter),
parentheses, and the literals ``'text'`` (``''`` escapes a quote), integers (``L`` suffix
allowed), decimals, ``true``/``false``, ``datetime'…'`` and ``guid'…'``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from host.errors import InvocationError
from host.storage.interface import And, Compare, Filter, Op, Or

_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>'(?:[^']|'')*')|(?P<typed>(?:datetime|guid|X)'[^']*')"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?[LlDdMmFf]?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_OPS = {op.value: op for op in Op}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InvocationError(f"Invalid table filter '{text}' near '{text[pos : pos + 20]}'")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "typed":
        prefix, _, rest = text.partition("'")
        body = rest[:-1]
        if prefix == "datetime":
            value = datetime.fromisoformat(body.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if prefix == "guid":
            return uuid.UUID(body)
        return bytes.fromhex(body)
    if kind == "num":
        core = text.rstrip("LlDdMmFf")
        return float(core) if any(c in core for c in ".eE") else int(core)
    if kind == "word" and text in ("true", "false"):
        return text == "true"
    raise InvocationError(f"Expected a value in the table filter, found '{text}'")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise InvocationError(f"Incomplete table filter '{self.text}'")
        self.pos += 1
        return token

    def parse(self) -> Filter:
        node = self.or_expr()
        if self.peek() is not None:
            raise InvocationError(f"Unexpected '{self.peek()[1]}' in table filter '{self.text}'")  # type: ignore[index]
        return node

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def or_expr(self) -> Filter:
        parts = [self.and_expr()]
        while self._keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Filter:
        parts = [self.primary()]
        while self._keyword("and"):
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def primary(self) -> Filter:
        kind, text = self.take()
        if kind == "lp":
            node = self.or_expr()
            if self.take()[0] != "rp":
                raise InvocationError(f"Missing ')' in table filter '{self.text}'")
            return node
        if kind != "word":
            raise InvocationError(f"Expected a property name in table filter '{self.text}', found '{text}'")
        op_kind, op_text = self.take()
        op = _OPS.get(op_text.lower()) if op_kind == "word" else None
        if op is None:
            raise InvocationError(f"Unknown operator '{op_text}' in table filter '{self.text}'")
        value_kind, value_text = self.take()
        return Compare(text, op, _literal(value_kind, value_text))


def parse_filter(text: str) -> Filter:
    """The structured form of OData filter ``text``; InvocationError if it is not understood."""
    return _Parser(text).parse()
