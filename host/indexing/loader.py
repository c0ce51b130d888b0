"""Index a v2-model app the way the Python worker does, and build the :class:`Registry`.

Import the script file (``function_app.py`` or ``PYTHON_SCRIPT_FILE_NAME``) as a top-level
module with the app folder on ``sys.path`` and as working directory, find the
``FunctionRegister`` (``FunctionApp``/``DFApp``/...), call ``get_functions()`` exactly once (it
is not idempotent), then check bindings and signatures. Any problem is one
:class:`IndexingError` line ``<file>:<line>: <function>: <problem>``; nothing is half-indexed.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from host.config.settings import HostSettings, load_settings
from host.errors import ConfigError, IndexingError
from host.indexing.registry import (
    ENTITY_TRIGGER,
    HTTP_TRIGGER,
    ORCHESTRATION_TRIGGER,
    TIMER_TRIGGER,
    Binding,
    FunctionInfo,
    Registry,
)

SUPPORTED_BINDINGS = frozenset(
    {
        "httpTrigger",
        "http",
        "orchestrationTrigger",
        "activityTrigger",
        "entityTrigger",
        "durableClient",
        "queueTrigger",
        "queue",
        "timerTrigger",
        "blobTrigger",
        "blob",
        "table",
        "eventGridTrigger",
        "eventGrid",
    }
)
# Binding properties that are templates/expressions, not names: no %AppSetting% resolution.
_NOT_RESOLVED = frozenset({"route", "methods", "authLevel"})


def index_folder(app_dir: str | os.PathLike[str]) -> Registry:
    """Index the app in ``app_dir`` (its settings read, the process environment left as it is)."""
    settings = load_settings(Path(app_dir), azurite=False, environ=dict(os.environ))
    return index_app(settings, chdir=False)


def index_app(settings: HostSettings, *, chdir: bool = True) -> Registry:
    """Import the app of ``settings`` and return its registry (raises :class:`IndexingError`)."""
    path = settings.script_path
    if not path.is_file():
        raise IndexingError(
            f"{path}: not found (set PYTHON_SCRIPT_FILE_NAME if the app's script has another name)"
        )
    module = _import_app(path, settings.script_root, chdir=chdir)
    app = _find_app(module, path)
    try:
        sdk_functions = app.get_functions()
    except Exception as e:  # the SDK's own validation (duplicate names, missing trigger)
        raise _error_from_builders(app, e, path) from None
    functions = [_function_info(f, settings, path) for f in sdk_functions]
    _check_routes(functions, settings)
    disabled = [f.name for f in functions if _is_disabled(settings, f.name)]
    enabled = [f for f in functions if f.name not in disabled]
    registry = Registry(enabled)
    registry.disabled = disabled
    if settings.functions:
        registry = registry.select(list(settings.functions))
        registry.disabled = disabled
    registry.warnings = [w for f in registry if (w := _authoring_warning(f))]
    return registry


def _authoring_warning(f: FunctionInfo) -> str | None:
    """A plain function as orchestrator: the SDK completes it at once with its return value (as on
    Azure), so the tasks it creates never run. ``async def`` fails with its own message when run."""
    if f.trigger_type != ORCHESTRATION_TRIGGER:
        return None
    user = unwrap_user_function(f.func)
    if inspect.isgeneratorfunction(user) or inspect.iscoroutinefunction(user):
        return None
    return (
        f"Orchestrator '{f.name}' ({f.source_file}:{f.line}) has no 'yield': it completes at once "
        "with its return value and the tasks it creates never run; "
        "write 'result = yield context.call_activity(...)'"
    )


# --------------------------------------------------------------------------- import


def _import_app(path: Path, root: Path, *, chdir: bool) -> ModuleType:
    if chdir:
        os.chdir(root)
    while str(root) in sys.path:
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    stem = path.stem
    sys.modules.pop(stem, None)
    try:
        return importlib.import_module(stem)
    except SyntaxError as e:
        where = _display(Path(e.filename) if e.filename else path, root)
        raise IndexingError(f"{where}:{e.lineno or 0}: <module>: SyntaxError: {e.msg}") from None
    except (Exception, SystemExit) as e:
        sys.modules.pop(stem, None)
        error = _error_from_traceback(e, path, root)
        if isinstance(e, ModuleNotFoundError) and e.name and not _is_local_module(e.name, root):
            error = IndexingError(
                f"{error}. Install the app's requirements into the environment this "
                f"host runs in: {sys.executable} -m pip install -r requirements.txt"
            )
        raise error from None


def _is_local_module(name: str, root: Path) -> bool:
    """Whether ``name``'s top-level package is a file or folder of the app (not a dependency)."""
    top = name.split(".", 1)[0]
    return (root / f"{top}.py").is_file() or (root / top).is_dir()


def _find_app(module: ModuleType, path: Path) -> Any:
    from azure.functions import FunctionRegister

    apps: list[Any] = []
    for name in module.__dir__():
        value = getattr(module, name, None)
        if isinstance(value, FunctionRegister) and all(value is not a for a in apps):
            apps.append(value)
    if not apps:
        raise IndexingError(
            f"{path.name}:1: <module>: Could not find top level function app instances in {path.name}."
        )
    if len(apps) > 1:
        raise IndexingError(
            f"{path.name}:1: <module>: More than one FunctionApp or other top level "
            "function app instances are defined."
        )
    return apps[0]


# --------------------------------------------------------------------------- functions


def _function_info(fn: Any, settings: HostSettings, path: Path) -> FunctionInfo:
    name = fn.get_function_name()
    user = fn.get_user_function()
    file, line = _source_of(user, path, settings.script_root)
    where = f"{file}:{line}: {name}"
    bindings: list[Binding] = []
    for raw in fn.get_raw_bindings():
        data = json.loads(raw)
        btype = str(data.pop("type"))
        bname = str(data.pop("name"))
        direction = str(data.pop("direction", "IN")).lower()
        if btype not in SUPPORTED_BINDINGS:
            raise IndexingError(
                f"{where}: unsupported binding type '{btype}' (binding '{bname}'); "
                f"supported: {', '.join(sorted(SUPPORTED_BINDINGS))}"
            )
        try:
            data = {
                k: settings.resolve(v) if isinstance(v, str) and k not in _NOT_RESOLVED else v
                for k, v in data.items()
            }
        except ConfigError as e:
            raise IndexingError(f"{where}: binding '{bname}': {e}") from None
        bindings.append(Binding(name=bname, type=btype, direction=direction, settings=data))
    triggers = [b for b in bindings if b.type.endswith("Trigger")]
    if len(triggers) != 1:
        raise IndexingError(f"{where}: a function must have exactly one trigger, found {len(triggers)}")
    info = FunctionInfo(
        name=name,
        trigger=triggers[0],
        bindings=bindings,
        func=user,
        source_file=str(file),
        line=line,
        sdk_function=fn,
    )
    _check_signature(info, where)
    if info.trigger_type == TIMER_TRIGGER:
        _check_schedule(info.trigger, where)
    return info


def _check_schedule(trigger: Binding, where: str) -> None:
    """A timer's schedule (``%Setting%`` already resolved) must parse now, not when it is due."""
    from host.ncrontab import parse_schedule

    schedule = trigger.get("schedule")
    if not isinstance(schedule, str) or not schedule.strip():
        raise IndexingError(f"{where}: timer trigger '{trigger.name}' has no schedule")
    try:
        parse_schedule(schedule)
    except (IndexingError, ValueError) as e:
        raise IndexingError(f"{where}: timer trigger '{trigger.name}': {e}") from None


def _check_signature(info: FunctionInfo, where: str) -> None:
    """The worker's parameter/binding name check (durable trigger handles are SDK wrappers)."""
    if info.trigger_type in (ORCHESTRATION_TRIGGER, ENTITY_TRIGGER):
        return
    try:
        params = set(inspect.signature(info.func).parameters)
    except (TypeError, ValueError):
        return
    bound = {b.name for b in info.bindings if b.name != "$return"}
    if "context" in params and "context" not in bound:
        params.discard("context")
    if params - bound:
        raise IndexingError(
            f"{where}: the following parameters are declared in Python but not as "
            f"bindings: {sorted(params - bound)}"
        )
    if bound - params:
        raise IndexingError(
            f"{where}: the following bindings are declared but not as parameters "
            f"in Python: {sorted(bound - params)}"
        )


def _check_routes(functions: list[FunctionInfo], settings: HostSettings) -> None:
    seen: list[tuple[str, set[str] | None, FunctionInfo]] = []
    for f in sorted(functions, key=lambda f: f.name.lower()):
        if f.trigger_type != HTTP_TRIGGER:
            continue
        route = str(f.trigger.get("route") or f.name).strip("/").lower()
        where = f"{f.source_file}:{f.line}: {f.name}"
        if route.split("/")[0] in ("admin", "runtime"):
            raise IndexingError(
                f"{where}: the specified route '{route}' conflicts with one or more built in routes"
            )
        raw_methods = f.trigger.get("methods")
        methods = {str(m).upper() for m in raw_methods} if raw_methods else None
        for other_route, other_methods, other in seen:
            overlap = methods is None or other_methods is None or bool(methods & other_methods)
            if other_route == route and overlap:
                raise IndexingError(
                    f"{where}: the route specified conflicts with the route defined "
                    f"by function '{other.name}'"
                )
        seen.append((route, methods, f))


def _is_disabled(settings: HostSettings, name: str) -> bool:
    value = settings.setting(f"AzureWebJobs.{name}.Disabled")
    return value is not None and value.strip().lower() in ("true", "1")


# --------------------------------------------------------------------------- locations


def _display(file: Path, root: Path) -> str:
    try:
        return str(file.resolve().relative_to(root))
    except ValueError:
        return str(file)


def unwrap_user_function(user: Any) -> Callable[..., Any]:
    """The user's own function behind the SDK's orchestrator/entity handles and decorators."""
    seen = 0
    while seen < 10:
        seen += 1
        nxt = (
            getattr(user, "orchestrator_function", None)
            or getattr(user, "entity_function", None)
            or getattr(user, "__wrapped__", None)
        )
        if nxt is None or nxt is user:
            break
        user = nxt
    return user  # type: ignore[no-any-return]


def _source_of(user: Any, path: Path, root: Path) -> tuple[str, int]:
    target = unwrap_user_function(user)
    code = getattr(target, "__code__", None)
    if code is None:
        return path.name, 0
    return _display(Path(code.co_filename), root), int(code.co_firstlineno)


def _enclosing_def(file: Path, line: int) -> str | None:
    """The function whose decorators or body contain ``line`` (decoration-time errors)."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    best: str | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            if start <= line <= (node.end_lineno or node.lineno):
                best = node.name  # ast.walk is breadth-first: the innermost match comes last
    return best


def _error_from_traceback(e: BaseException, path: Path, root: Path) -> IndexingError:
    frames = traceback.extract_tb(e.__traceback__)
    inside = [f for f in frames if _is_under(Path(f.filename), root)]
    frame = inside[-1] if inside else (frames[-1] if frames else None)
    problem = f"{type(e).__name__}: {e}"
    if frame is None:
        return IndexingError(f"{path.name}:0: <module>: {problem}")
    file = Path(frame.filename)
    name = frame.name
    if name == "<module>":
        name = _enclosing_def(file, frame.lineno or 0) or name
    return IndexingError(f"{_display(file, root)}:{frame.lineno}: {name}: {problem}")


def _is_under(file: Path, root: Path) -> bool:
    try:
        resolved = file.resolve()
    except OSError:
        return False
    return resolved.is_relative_to(root) and ".venv" not in resolved.relative_to(root).parts


def _error_from_builders(app: Any, e: Exception, path: Path) -> IndexingError:
    """Locate a ``get_functions()`` failure (it names the function) in the app's builders."""
    root = path.parent
    message = f"{type(e).__name__}: {e}"
    matches: list[tuple[str, Any]] = []
    for builder in getattr(app, "_function_builders", []):
        fn = getattr(builder, "_function", None)
        if fn is None:
            continue
        try:
            name = fn.get_function_name()
        except Exception:
            continue
        if name and f"Function {name} " in str(e):
            matches.append((name, fn.get_user_function()))
    if matches:
        name, user = matches[-1]  # for duplicates, the later definition is the offender
        file, line = _source_of(user, path, root)
        return IndexingError(f"{file}:{line}: {name}: {message}")
    return _error_from_traceback(e, path, root)
