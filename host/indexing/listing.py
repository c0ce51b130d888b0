"""The ``Functions:`` listing that ``func start`` prints once the host runs."""

from __future__ import annotations

from collections.abc import Iterable

from host.indexing.registry import HTTP_TRIGGER, FunctionInfo, Registry


def function_url(fn: FunctionInfo, base_url: str, route_prefix: str) -> str:
    """``<base>/<prefix>/<raw route template>`` as func prints it (template not expanded)."""
    route = str(fn.trigger.get("route") or fn.name).lstrip("/")
    prefix = f"{route_prefix.strip('/')}/" if route_prefix.strip("/") else ""
    return f"{base_url.rstrip('/')}/{prefix}{route}"


def listing_lines(registry: Iterable[FunctionInfo], base_url: str, route_prefix: str) -> list[str]:
    """One ``\\t<name>: ...`` line per function: HTTP first, then the others, each by name."""
    ordered = sorted(registry, key=lambda f: f.name.lower())
    lines: list[str] = []
    for f in ordered:
        if f.trigger_type == HTTP_TRIGGER:
            methods = f.trigger.get("methods")
            shown = "[" + ",".join(str(m).upper() for m in methods) + "]" if methods else ""
            lines.append(f"\t{f.name}: {shown} {function_url(f, base_url, route_prefix)}")
    lines.extend(f"\t{f.name}: {f.trigger_type}" for f in ordered if f.trigger_type != HTTP_TRIGGER)
    return lines


def format_listing(registry: Registry, base_url: str, route_prefix: str, *, verbose: bool = False) -> str:
    """The whole block: blank line, ``Functions:``, entries each followed by a blank line."""
    out: list[str] = []
    lines = listing_lines(registry, base_url, route_prefix)
    if lines:
        out += ["", "Functions:", ""]
        for line in lines:
            out += [line, ""]
    out += [f"Function {name} is disabled." for name in sorted(registry.disabled, key=str.lower)]
    out += registry.warnings
    if not lines and not registry.disabled and not registry.unknown:
        out.append(
            "No functions found: decorate the app's functions with its triggers "
            "(@app.route, @app.orchestration_trigger, ...)."
        )
    out += [f"--functions: the app defines no function named '{name}'." for name in registry.unknown]
    if not verbose:
        out.append("For detailed output, run python -m host start with --verbose flag.")
    return "\n".join(out) + "\n"
