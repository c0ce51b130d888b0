"""``new`` edits function_app.py sensibly: the app's own object, imports, refusals (no processes)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from host.errors import ConfigError
from host.scaffold.generate import add_function
from host.scaffold.templates import find_template

APP = '''"""My app."""
import azure.functions as func

my_app = func.FunctionApp(
    http_auth_level=func.AuthLevel.ANONYMOUS,
)


@my_app.function_name(name="Health")
@my_app.route(route="health")
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")
'''


def _app(tmp_path: Path, source: str = APP) -> Path:
    (tmp_path / "function_app.py").write_text(source)
    return tmp_path


def test_functions_go_on_the_apps_own_object_and_imports_are_added(tmp_path: Path) -> None:
    app = _app(tmp_path)
    added = add_function(app, find_template("entity"), "counter")
    source = (app / "function_app.py").read_text()
    ast.parse(source)
    assert '@my_app.entity_trigger(context_name="context")' in source
    assert "my_app = df.DFApp(\n    http_auth_level=func.AuthLevel.ANONYMOUS,\n)" in source
    lines = source.splitlines()
    assert lines[:4] == [
        '"""My app."""',
        "import azure.functions as func",
        "import azure.durable_functions as df",
        "import logging",
    ]
    assert added.functions == ["counter"]
    assert any("is now a df.DFApp" in note for note in added.notes)
    assert (app / "requirements.txt").read_text() == "azure-functions-durable\n"
    add_function(app, find_template("durable"), "flow")  # already a DFApp: nothing more to switch
    assert (app / "function_app.py").read_text().count("import azure.durable_functions as df") == 1
    assert (app / "requirements.txt").read_text() == "azure-functions-durable\n"


def test_explicit_function_names_count_as_taken(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with pytest.raises(ConfigError, match="already defines Health"):
        add_function(app, find_template("http"), "Health")


def test_a_name_differing_only_in_case_is_taken(tmp_path: Path) -> None:
    # Azure compares function names ignoring case, and entity ids lower-case the name, so a
    # `counter` entity beside `Counter` is the same function to Azure (and the same entity).
    app = _app(tmp_path)
    add_function(app, find_template("entity"), "Counter")
    before = (app / "function_app.py").read_text()
    with pytest.raises(ConfigError, match="already defines Counter"):
        add_function(app, find_template("entity"), "counter")
    with pytest.raises(ConfigError, match="already defines Health"):
        add_function(app, find_template("http"), "HEALTH")
    assert (app / "function_app.py").read_text() == before
    assert not (app / "tests" / "test_counter.py").exists()


def test_a_name_that_is_a_keyword_or_rebinds_a_module_name_is_refused(tmp_path: Path) -> None:
    # `def class(...)` is a syntax error; `def app(...)` or `def func(...)` rebinds the name the
    # decorators below it use: either leaves an app that no longer imports.
    app = _app(tmp_path, APP + "\nimport json\nSETTINGS = {}\n")
    before = (app / "function_app.py").read_text()
    with pytest.raises(ConfigError, match="'class' is a Python keyword"):
        add_function(app, find_template("http"), "class")
    for taken in ("my_app", "func", "json", "SETTINGS", "df", "logging"):
        with pytest.raises(ConfigError, match=f"'{taken}' is already a name in .*function_app.py"):
            add_function(app, find_template("entity"), taken)
    assert (app / "function_app.py").read_text() == before
    assert not (app / "tests").exists()


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="create an app first"):
        add_function(tmp_path, find_template("http"), "x")
    app = _app(tmp_path, "import azure.functions as func\n")
    with pytest.raises(ConfigError, match=r"no module-level `app = func\.FunctionApp"):
        add_function(app, find_template("http"), "x")
    with pytest.raises(ConfigError, match="invalid function name"):
        add_function(app, find_template("http"), "not-a-name")
    with pytest.raises(ConfigError, match="choose one of: http, timer, queue, blob, durable, entity"):
        find_template("cosmos")
