"""The import graph of the ``host`` package, read from the source with :mod:`ast`.

Every ``import``/``from … import`` counts, at module level or inside a function, except those
under ``if TYPE_CHECKING:`` (they never run). ``python tests/import_graph.py`` prints the cycles
and the package-level arrows (what docs/architecture.md draws).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "host"


def module_name(path: Path, root: Path = ROOT) -> str:
    """``host/a/b.py`` → ``host.a.b``; ``host/a/__init__.py`` → ``host.a``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node`` that can run (skips ``if TYPE_CHECKING:`` bodies)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _runtime_imports(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _runtime_imports(child)


def _absolute(module: str, is_package: bool, imp: ast.ImportFrom) -> str:
    if not imp.level:
        return imp.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (imp.level - 1)]
    return ".".join([*base, imp.module] if imp.module else base)


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (``from pkg import mod`` names ``pkg.mod``)."""
    files = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for imp in _runtime_imports(tree):
            if isinstance(imp, ast.Import):
                targets.update(a.name for a in imp.names)
                continue
            base = _absolute(name, path.name == "__init__.py", imp)
            for alias in imp.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in files else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete loop through ``component`` (first module back to itself), for messages."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return component


def group(module: str) -> str:
    """The part of the package a module belongs to, as docs/architecture.md names them."""
    parts = module.split(".")[1:]
    if not parts:
        return "host"
    if parts[0] == "durable" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def group_arrows(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Package-level arrows: part → the other parts it imports."""
    arrows: dict[str, set[str]] = {}
    for v, targets in graph.items():
        for w in targets:
            if group(v) != group(w):
                arrows.setdefault(group(v), set()).add(group(w))
    return arrows


def main() -> int:
    graph = import_graph()
    for source, targets in sorted(group_arrows(graph).items()):
        print(f"{source} -> {', '.join(sorted(targets))}")
    found = cycles(graph)
    for component in found:
        print("cycle:", " -> ".join(cycle_path(graph, component)), f"({len(component)} modules)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
