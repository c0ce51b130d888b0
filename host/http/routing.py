"""Route templates and route matching as the Functions host does it (pure).

The host registers one ASP.NET Core route per HTTP function, ``<routePrefix>/<route>``, sorts
them with ``WebJobsRouteBuilder.RouteComparison`` (literal segments before parameters, more
constrained parameters first, literals compared case-insensitively, longer templates first) and
takes the first route whose template, constraints and methods match. No match means 404.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from host.errors import IndexingError
from host.http.constraints import Check, build_constraint
from host.indexing.registry import HTTP_TRIGGER, FunctionInfo


@dataclass(frozen=True)
class Parameter:
    """One ``{...}`` part: name, constraints, and whether it is optional, defaulted or catch-all."""

    name: str
    constraints: tuple[tuple[str, Check], ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        return all(check(value) for _, check in self.constraints)


Part = str | Parameter  # a literal text or a parameter


@dataclass(frozen=True)
class Segment:
    """The parts between two slashes; complex segments (``{a}.{b}``) match through a regex."""

    parts: tuple[Part, ...]
    pattern: re.Pattern[str] | None = None

    @property
    def literal(self) -> str | None:
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], str) else None

    @property
    def parameter(self) -> Parameter | None:
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Parameter) else None

    @property
    def skippable(self) -> bool:
        """May be missing at the end of the path (optional, defaulted or catch-all parameter)."""
        p = self.parameter
        return p is not None and (p.optional or p.default is not None or p.catch_all)


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed template; :meth:`match` gives the route values or None."""

    text: str
    segments: tuple[Segment, ...]
    parameters: tuple[Parameter, ...] = field(default=())

    def match(self, path_segments: list[str]) -> dict[str, str] | None:
        """Route values (decoded strings) when ``path_segments`` (decoded) match, else None."""
        values: dict[str, str] = {}
        n = len(path_segments)
        for i, seg in enumerate(self.segments):
            param = seg.parameter
            if param is not None and param.catch_all:
                rest = "/".join(path_segments[i:])
                if rest:
                    values[param.name] = rest
                elif param.default is not None:
                    values[param.name] = param.default
                break
            if i >= n:
                if not seg.skippable:
                    return None
                if param is not None and param.default is not None:
                    values[param.name] = param.default
                continue
            text = path_segments[i]
            lit = seg.literal
            if lit is not None:
                if text.lower() != lit:
                    return None
            elif param is not None:
                if not text:
                    return None
                values[param.name] = text
            else:
                assert seg.pattern is not None
                m = seg.pattern.fullmatch(text)
                if m is None:
                    return None
                values.update({k: v for k, v in m.groupdict().items() if v is not None})
        else:
            if n > len(self.segments):
                return None
        for p in self.parameters:
            value = values.get(p.name)
            if value is not None and not p.accepts(value):
                return None
        return values


def _split_template(text: str) -> list[str]:
    """Split on ``/`` outside braces (regex constraints may contain slashes)."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        if ch == "/" and depth == 0:
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    return segments


def _read_parameter(seg: str, start: int, template: str) -> tuple[str, int]:
    """The text of the parameter opening at ``start`` (``{{``/``}}`` unescaped) and the next index."""
    buf: list[str] = []
    j = start + 1
    while True:
        if j >= len(seg):
            raise IndexingError(f"route template '{template}': unterminated parameter in '{seg}'")
        ch = seg[j]
        if ch in "{}" and seg[j + 1 : j + 2] == ch:
            buf.append(ch)
            j += 2
            continue
        if ch == "}":
            return "".join(buf), j + 1
        if ch == "{":
            raise IndexingError(f"route template '{template}': unexpected '{{' in '{seg}'")
        buf.append(ch)
        j += 1


def _constraint_end(text: str, start: int) -> int:
    """Index of the ``)`` closing a constraint argument that opens just before ``start``."""
    for j in range(start, len(text)):
        if text[j] == ")":
            after = text[j + 1 : j + 2]
            if after in ("", ":", "=") or (after == "?" and j + 2 == len(text)):
                return j
    raise IndexingError(f"route parameter '{{{text}}}': unterminated constraint argument")


def parse_parameter(text: str, template: str = "") -> Parameter:
    """Parse the inside of ``{...}``: ``[*|**]name(:constraint[(args)])*[?|=default]``."""
    catch_all = text.startswith("*")
    body = text.lstrip("*") if catch_all else text
    i = 0
    while i < len(body) and body[i] not in ":=" and not (body[i] == "?" and i == len(body) - 1):
        i += 1
    name = body[:i]
    if not name or any(c in name for c in "/{}*?"):
        raise IndexingError(f"route template '{template}': invalid parameter name in '{{{text}}}'")
    constraints: list[tuple[str, Check]] = []
    while i < len(body) and body[i] == ":":
        j = i + 1
        while j < len(body) and body[j] not in "(:=" and not (body[j] == "?" and j == len(body) - 1):
            j += 1
        cname, argument = body[i + 1 : j], None
        if j < len(body) and body[j] == "(":
            end = _constraint_end(body, j + 1)
            argument, j = body[j + 1 : end], end + 1
        constraints.append((cname, build_constraint(cname, argument)))
        i = j
    optional, default = False, None
    rest = body[i:]
    if rest == "?":
        optional = True
    elif rest.startswith("="):
        default = rest[1:]
    elif rest:
        raise IndexingError(f"route template '{template}': cannot parse parameter '{{{text}}}'")
    if catch_all and optional:
        raise IndexingError(f"route template '{template}': a catch-all parameter cannot be marked optional")
    return Parameter(name, tuple(constraints), optional, default, catch_all)


def _parse_segment(seg: str, template: str) -> Segment:
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch in "{}" and seg[i + 1 : i + 2] == ch:
            literal.append(ch)
            i += 2
        elif ch == "{":
            if literal:
                parts.append("".join(literal))
                literal = []
            inner, i = _read_parameter(seg, i, template)
            parts.append(parse_parameter(inner, template))
        elif ch == "}":
            raise IndexingError(f"route template '{template}': unmatched '}}' in '{seg}'")
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    if not parts:
        raise IndexingError(f"route template '{template}': empty segment")
    if len(parts) == 1:
        only = parts[0]
        return Segment((only.lower(),) if isinstance(only, str) else (only,))
    return Segment(tuple(parts), _complex_pattern(parts, template))


def _complex_pattern(parts: list[Part], template: str) -> re.Pattern[str]:
    """Regex for a multi-part segment; greedy groups reproduce ASP.NET's right-to-left matching."""
    out: list[str] = []
    for k, part in enumerate(parts):
        if isinstance(part, str):
            out.append(re.escape(part))
            continue
        if part.catch_all:
            raise IndexingError(f"route template '{template}': a catch-all must be a whole segment")
        if k > 0 and isinstance(parts[k - 1], Parameter):
            raise IndexingError(f"route template '{template}': two parameters must be separated by a literal")
        if part.optional:
            prev = parts[k - 1] if k else None
            if k != len(parts) - 1 or not (isinstance(prev, str) and prev.endswith(".")):
                raise IndexingError(
                    f"route template '{template}': an optional parameter in a complex segment must be "
                    "last and preceded by a period"
                )
            out[-1] = re.escape(prev[:-1]) if prev[:-1] else ""
            if not out[-1] and len(out) > 1 and out[-2].endswith(">.+)"):
                out[-2] = out[-2][:-1] + "?)"  # lazy, so the optional part takes the last '.x'
            out.append(rf"(?:\.(?P<{part.name}>[^.]+))?")
            continue
        out.append(f"(?P<{part.name}>.+)")
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def parse_template(text: str) -> RouteTemplate:
    """Parse an ASP.NET Core route template (``items/{id:int}``, ``a/{*rest}``, ...)."""
    cleaned = text.lstrip("~").lstrip("/")
    raw = _split_template(cleaned)
    if raw and raw[-1] == "":
        raw.pop()
    segments = tuple(_parse_segment(s, text) for s in raw)
    params: list[Parameter] = []
    for idx, seg in enumerate(segments):
        for part in seg.parts:
            if isinstance(part, Parameter):
                if any(p.name.lower() == part.name.lower() for p in params):
                    raise IndexingError(f"route template '{text}': parameter '{part.name}' appears twice")
                if part.catch_all and idx != len(segments) - 1:
                    raise IndexingError(f"route template '{text}': a catch-all must be the last segment")
                params.append(part)
    for idx, seg in enumerate(segments):
        p = seg.parameter
        if p is not None and p.optional and not all(s.skippable for s in segments[idx + 1 :]):
            raise IndexingError(f"route template '{text}': an optional parameter must be at the end")
    return RouteTemplate(text, segments, tuple(params))


def split_path(path: str) -> list[str]:
    """Decoded segments of a raw (percent-encoded) request path; one trailing slash is ignored."""
    trimmed = path[1:] if path.startswith("/") else path
    if trimmed.endswith("/"):
        trimmed = trimmed[:-1]
    if not trimmed:
        return []
    return [unquote(s) for s in trimmed.split("/")]


@dataclass(frozen=True)
class Route:
    """One HTTP function's route: full template (prefix included) and allowed methods."""

    function_name: str
    template: RouteTemplate
    methods: frozenset[str] | None = None  # upper-case; None = every method


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    params: dict[str, str]


def _compare(x: Route, y: Route) -> int:
    """``WebJobsRouteBuilder.RouteComparison``: negative when ``x`` is tried first."""
    xs, ys = x.template.segments, y.template.segments
    for i, xseg in enumerate(xs):
        if i >= len(ys):
            return -1
        xp, yp = xseg.parts[0], ys[i].parts[0]
        x_param, y_param = isinstance(xp, Parameter), isinstance(yp, Parameter)
        if x_param != y_param:
            return 1 if x_param else -1
        if isinstance(xp, Parameter) and isinstance(yp, Parameter):
            if len(xp.constraints) != len(yp.constraints):
                return -1 if len(xp.constraints) > len(yp.constraints) else 1
        else:
            a, b = str(xp).lower(), str(yp).lower()
            if a != b:
                return -1 if a < b else 1
    return 1 if len(ys) > len(xs) else 0


class Router:
    """Routes in the host's order; :meth:`match` finds the first that fits a request."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: list[Route] = sorted(routes, key=functools.cmp_to_key(_compare))

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The first route matching ``method`` and the raw request ``path``, else None."""
        segments = split_path(path)
        upper = method.upper()
        for route in self.routes:
            if route.methods is not None and upper not in route.methods:
                continue
            params = route.template.match(segments)
            if params is not None:
                return RouteMatch(route, params)
        return None


def join_prefix(route_prefix: str, route: str) -> str:
    """``<routePrefix>/<route>``, or just the route when the prefix is empty."""
    prefix = route_prefix.strip("/")
    route = route.lstrip("/")
    return f"{prefix}/{route}" if prefix else route


def function_route(fn: FunctionInfo) -> str:
    """The route an HTTP function declares, or its name when it declares none."""
    route = fn.trigger.get("route")
    return str(route) if route else fn.name


def function_methods(fn: FunctionInfo) -> frozenset[str] | None:
    """Upper-cased declared methods, or None (all methods)."""
    methods = fn.trigger.get("methods")
    if not methods:
        return None
    return frozenset(str(getattr(m, "value", m)).upper() for m in methods)


def build_router(functions: Iterable[FunctionInfo], route_prefix: str = "api") -> Router:
    """A router over every HTTP-triggered function (registered in name order, then sorted)."""
    http = sorted((f for f in functions if f.trigger_type == HTTP_TRIGGER), key=lambda f: f.name.lower())
    routes = [
        Route(f.name, parse_template(join_prefix(route_prefix, function_route(f))), function_methods(f))
        for f in http
    ]
    return Router(routes)
