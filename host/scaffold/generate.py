"""Writing the files of ``init`` and inserting a template's functions into function_app.py."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from host.errors import ConfigError
from host.scaffold.templates import FunctionTemplate, check_function_name, placeholders, read, render

APP_FILES: dict[str, str] = {
    "function_app.py": "app/function_app.py.tmpl",
    "host.json": "app/host.json.tmpl",
    "local.settings.json": "app/local.settings.json.tmpl",
    "requirements.txt": "app/requirements.txt.tmpl",
    ".gitignore": "app/gitignore.tmpl",
    ".funcignore": "app/funcignore.tmpl",
    "pytest.ini": "app/pytest.ini.tmpl",
    "tests/test_function_app.py": "app/test_function_app.py.tmpl",
}
"""What ``init`` writes: the file in the app and its template."""

SCRIPT = "function_app.py"
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
DURABLE_IMPORT = "import azure.durable_functions as df"
DURABLE_REQUIREMENT = "azure-functions-durable"


def init_app(folder: Path) -> list[Path]:
    """Write a new app into ``folder`` (created if missing); refuses to overwrite any file."""
    existing = [name for name in APP_FILES if (folder / name).exists()]
    if existing:
        raise ConfigError(
            f"{folder} already has {', '.join(existing)}: init writes a new app and "
            "overwrites nothing (add functions with: python -m host new)"
        )
    written = []
    for name, template in APP_FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(read(template), encoding="utf-8")
        written.append(path)
    return written


@dataclass
class Added:
    """What ``new`` changed."""

    functions: list[str]
    files: list[Path]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _AppObject:
    variable: str
    call: ast.Call
    durable: bool


def add_function(folder: Path, template: FunctionTemplate, name: str) -> Added:
    """Append ``template``'s functions, named after ``name``, to the app in ``folder`` and write a test."""
    check_function_name(name)
    script = folder / SCRIPT
    if not script.is_file():
        raise ConfigError(f"{script} not found: create an app first with: python -m host init {folder}")
    source = script.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(script))
    except SyntaxError as e:
        raise ConfigError(f"{script}:{e.lineno}: {e.msg}: fix it before adding functions") from None
    app = _app_object(tree, script)
    names = template.function_names(name)
    # Azure compares function names ignoring case (and entity ids lower-case the name).
    wanted = {n.casefold() for n in names}
    taken = sorted(n for n in _defined_names(tree) if n.casefold() in wanted)
    if taken:
        raise ConfigError(f"{script} already defines {', '.join(taken)}: choose another --name")
    rebound = [n for n in names if n in _module_names(tree) | _TEMPLATE_IMPORTS]
    if rebound:
        raise ConfigError(
            f"'{rebound[0]}' is already a name in {script} (an import or a variable the app uses): "
            "choose another --name"
        )
    test = folder / "tests" / f"test_{name}.py"
    if test.exists():
        raise ConfigError(f"{test} already exists: choose another --name")
    notes: list[str] = []
    if template.durable:
        source, notes = _make_durable(source, tree, app, script)
    source = _ensure_import(source, "import azure.functions as func", "import azure.functions as func")
    source = _ensure_import(source, "import logging", "import logging")
    values = placeholders(template, name, app.variable)
    source = source.rstrip("\n") + "\n" + render(f"functions/{template.name}.py.tmpl", **values)
    script.write_text(source, encoding="utf-8")
    test.parent.mkdir(parents=True, exist_ok=True)
    test.write_text(
        f'"""Tests of {name} ({template.name} template), run by funchost\'s pytest plugin."""'
        "\n\n\n" + render(f"functions/{template.name}.test.tmpl", **values),
        encoding="utf-8",
    )
    files = [script, test]
    if template.durable and _add_requirement(folder / "requirements.txt", DURABLE_REQUIREMENT):
        files.append(folder / "requirements.txt")
        notes.append(f"added {DURABLE_REQUIREMENT} to requirements.txt")
    return Added(names, files, notes)


def _app_object(tree: ast.Module, script: Path) -> _AppObject:
    """The module-level ``X = func.FunctionApp(...)`` / ``X = df.DFApp(...)`` of the app."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            callee = _dotted(node.value.func)
            kind = callee.rsplit(".", 1)[-1]
            if kind in ("FunctionApp", "DFApp"):
                return _AppObject(node.targets[0].id, node.value, kind == "DFApp")
    raise ConfigError(
        f"{script} has no module-level `app = func.FunctionApp(...)` or `app = df.DFApp(...)`: "
        "new adds functions to that object"
    )


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


_TEMPLATE_IMPORTS = frozenset({"func", "df", "logging"})
"""The module names the templates' code uses (``func.HttpRequest``, ``df.DFApp``, ``logging``)."""


def _module_names(tree: ast.Module) -> set[str]:
    """Names bound at module level other than by ``def``: imports, assignments, classes."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
    return names


def _defined_names(tree: ast.Module) -> set[str]:
    """Module-level function names and explicit ``function_name(name=...)`` names."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and _dotted(decorator.func).endswith(".function_name"):
                    for arg in [*decorator.args, *(k.value for k in decorator.keywords if k.arg == "name")]:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            names.add(arg.value)
    return names


def _make_durable(source: str, tree: ast.Module, app: _AppObject, script: Path) -> tuple[str, list[str]]:
    """Durable functions are registered on a ``df.DFApp`` (a ``func.FunctionApp`` subclass): switch
    ``func.FunctionApp(...)`` to ``df.DFApp(...)`` with the same arguments, and import ``df``."""
    notes: list[str] = []
    if not app.durable:
        callee = app.call.func
        lines = source.splitlines(keepends=True)
        if callee.end_lineno != callee.lineno or callee.end_col_offset is None:
            raise ConfigError(
                f"{script}: change `{app.variable} = ...FunctionApp(...)` to "
                f"`{app.variable} = df.DFApp(...)` for durable functions"
            )
        row = callee.lineno - 1
        line = lines[row].encode()  # ast offsets are UTF-8 byte offsets
        lines[row] = (line[: callee.col_offset] + b"df.DFApp" + line[callee.end_col_offset :]).decode()
        source = "".join(lines)
        notes.append(
            f"{script.name}:{callee.lineno}: `{app.variable}` is now a df.DFApp (a FunctionApp "
            "that also registers durable functions)"
        )
    return _ensure_import(source, DURABLE_IMPORT, "import azure.durable_functions"), notes


def _ensure_import(source: str, statement: str, module_hint: str) -> str:
    """Add ``statement`` after the module's last top-level import unless an equivalent one exists."""
    tree = ast.parse(source)
    alias = statement.rsplit(" ", 1)[-1]
    module = module_hint.split()[1]
    last_import = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last_import = node.end_lineno or node.lineno
        if isinstance(node, ast.Import) and any(
            a.name == module and (a.asname or a.name) == alias for a in node.names
        ):
            return source
    lines = source.splitlines(keepends=True)
    first = tree.body[0] if tree.body else None
    if last_import == 0 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        last_import = first.end_lineno or 0  # after the module docstring
    lines.insert(last_import, statement + "\n")
    return "".join(lines)


def _add_requirement(path: Path, requirement: str) -> bool:
    """Append ``requirement`` to requirements.txt unless listed; True when it was added."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    listed = {m.group(1).lower().replace("_", "-") for m in map(_REQUIREMENT.match, text.splitlines()) if m}
    if requirement.lower() in listed:
        return False
    path.write_text(
        text + ("" if not text or text.endswith("\n") else "\n") + requirement + "\n", encoding="utf-8"
    )
    return True
