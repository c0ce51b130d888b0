"""Imports inside ``host/`` flow one way: no module imports (directly or not) one that imports it."""

from __future__ import annotations

from pathlib import Path

from import_graph import cycle_path, cycles, group_arrows, import_graph

# Cycles that exist today and are accepted until the change that removes them (each a set of
# module names). A cycle not listed here fails the test; a listed one that is gone fails it too,
# so the list only shrinks.
KNOWN_CYCLES: list[frozenset[str]] = []


def test_host_has_no_new_import_cycle() -> None:
    graph = import_graph()
    assert "host.runtime" in graph and "host.durable.engine.dispatcher" in graph  # the walker saw host/
    found = cycles(graph)
    new = [" -> ".join(cycle_path(graph, c)) for c in found if frozenset(c) not in KNOWN_CYCLES]
    assert not new, "import cycles in host/:\n" + "\n".join(new)
    gone = [sorted(c) for c in KNOWN_CYCLES if sorted(c) not in found]
    assert not gone, f"cycles no longer present, remove them from KNOWN_CYCLES: {gone}"


def test_walker_counts_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")
    guarded = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    (pkg / "c.py").write_text(guarded + "else:\n    import pkg.d\n")
    (pkg / "d.py").write_text("import pkg.c\n")
    (pkg / "e.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.a"}
    assert graph["pkg.c"] == {"pkg.d"} and graph["pkg.e"] == set()
    found = cycles(graph)
    assert found == [["pkg.a", "pkg.sub.b"], ["pkg.c", "pkg.d"]]
    assert cycle_path(graph, found[0]) == ["pkg.a", "pkg.sub.b", "pkg.a"]


def test_durable_subpackages_import_one_way() -> None:
    """Between the parts of ``host/durable`` (engine, entities, replay, taskhub, …) arrows go one way."""
    arrows = group_arrows(import_graph())
    durable = {g for g in arrows if g.startswith("durable.")}
    assert {"durable.engine", "durable.replay", "durable.api"} <= durable  # the walker saw them
    parts = {g: {t for t in arrows.get(g, set()) if t.startswith("durable.")} for g in durable}
    for targets in list(parts.values()):
        for t in targets:
            parts.setdefault(t, set())
    found = [" -> ".join(cycle_path(parts, c)) for c in cycles(parts)]
    assert not found, "loops between host/durable packages:\n" + "\n".join(found)
    # the entity protocol is pure: no engine, no storage
    assert arrows.get("durable.entities", set()) & {"durable.engine", "durable.taskhub", "storage"} == set()
