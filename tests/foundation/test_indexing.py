"""Indexing: the registry built from a real app, and one-line errors naming file, line, function."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.config.settings import load_settings
from host.errors import IndexingError
from host.indexing.listing import format_listing, listing_lines
from host.indexing.loader import index_app
from host.indexing.registry import Registry


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    saved = dict(sys.modules)
    yield
    for name in set(sys.modules) - set(saved):
        if name in ("function_app", "main", "helpers"):
            del sys.modules[name]


def make_app(root: Path, code: str, name: str = "function_app.py", env: dict | None = None) -> Registry:
    (root / "host.json").write_text('{"version": "2.0"}')
    (root / name).write_text(textwrap.dedent(code))
    settings = load_settings(root, environ=dict(env or {}))
    return index_app(settings, chdir=False)


HEADER = """\
import azure.functions as func
import azure.durable_functions as df
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
"""


def test_registry_of_a_durable_app(tmp_path: Path) -> None:
    reg = make_app(
        tmp_path,
        HEADER
        + """
@app.route(route="orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    return "x"

@app.orchestration_trigger(context_name="context", orchestration="MyOrch")
def orch(context):
    yield context.call_activity("hello", "x")

@app.activity_trigger(input_name="city")
def hello(city: str) -> str:
    return city

@app.entity_trigger(context_name="context")
def counter(context):
    pass

@app.queue_trigger(arg_name="msg", queue_name="%QueueName%", connection="AzureWebJobsStorage")
def on_msg(msg: func.QueueMessage) -> None:
    pass
""",
        env={"QueueName": "work"},
    )
    assert sorted(f.name for f in reg) == ["counter", "hello", "http_start", "on_msg", "orch"]
    start = reg.get("http_start")
    assert start is not None and start.trigger_type == "httpTrigger"
    assert [(b.type, b.direction) for b in start.bindings] == [
        ("durableClient", "in"),
        ("httpTrigger", "in"),
        ("http", "out"),
    ]
    assert start.trigger.get("route") == "orchestrators/{functionName}" and start.is_async
    assert reg.orchestrator("myorch") is reg.get("orch")
    on_msg = reg.get("on_msg")
    assert on_msg is not None and on_msg.trigger.get("queueName") == "work"  # %AppSetting% resolved
    hello = reg.activity("hello")
    assert hello is not None and hello.func("Tokyo") == "Tokyo"
    # the line where the definition (its first decorator) starts
    assert hello.source_file == "function_app.py" and hello.line == 14
    assert hello.sdk_function is not None


def test_script_file_setting_and_blueprints(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(
        textwrap.dedent("""
        import azure.functions as func
        bp = func.Blueprint()

        @bp.timer_trigger(arg_name="t", schedule="0 */5 * * * *")
        def tick(t) -> None:
            pass
    """)
    )
    reg = make_app(
        tmp_path,
        """
import azure.functions as func
from helpers import bp
app = func.FunctionApp()
app.register_functions(bp)

@app.route(route="a")
def a(req):
    return "a"
""",
        name="main.py",
        env={"PYTHON_SCRIPT_FILE_NAME": "main.py"},
    )
    assert sorted(f.name for f in reg) == ["a", "tick"]
    tick = reg.get("tick")
    assert tick is not None and tick.source_file == "helpers.py"


def test_functions_filter_and_disabled(tmp_path: Path) -> None:
    code = (
        HEADER
        + """
@app.route(route="a")
def a(req):
    return "a"

@app.route(route="b")
def b(req):
    return "b"

@app.route(route="c")
def c(req):
    return "c"
"""
    )
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(code)
    s = load_settings(tmp_path, functions=["A", "b"], environ={"AzureWebJobs.b.Disabled": "true"})
    reg = index_app(s, chdir=False)
    assert [f.name for f in reg] == ["a"]
    assert reg.disabled == ["b"]
    assert reg.unknown == []

    # A name the app does not define (a typo, or another app's function) is named, not ignored.
    s = load_settings(tmp_path, functions=["a", "hello_chain"], environ={})
    reg = index_app(s, chdir=False)
    assert [f.name for f in reg] == ["a"] and reg.unknown == ["hello_chain"]
    listing = format_listing(reg, "http://localhost:7071", "api")
    assert "--functions: the app defines no function named 'hello_chain'." in listing.splitlines()


def index_error(tmp_path: Path, code: str) -> str:
    with pytest.raises(IndexingError) as info:
        make_app(tmp_path, code)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_syntax_error(tmp_path: Path) -> None:
    msg = index_error(tmp_path, HEADER + "\n@app.route(route='a')\ndef a(req)\n    return 1\n")
    assert msg == "function_app.py:6: <module>: SyntaxError: expected ':'"


def test_import_error(tmp_path: Path) -> None:
    msg = index_error(tmp_path, HEADER + "import no_such_module_xyz\n")
    assert msg == (
        "function_app.py:4: <module>: ModuleNotFoundError: No module named 'no_such_module_xyz'. "
        "Install the app's requirements into the environment this host runs in: "
        f"{sys.executable} -m pip install -r requirements.txt"
    )


def test_a_missing_module_of_the_app_itself_gets_no_install_hint(tmp_path: Path) -> None:
    (tmp_path / "helpers").mkdir()
    msg = index_error(tmp_path, HEADER + "import helpers.nothing_here\n")
    assert msg == "function_app.py:4: <module>: ModuleNotFoundError: No module named 'helpers.nothing_here'"


def test_error_inside_a_helper_names_the_helper(tmp_path: Path) -> None:
    msg = index_error(tmp_path, HEADER + "def boom():\n    raise RuntimeError('bad config')\n\nboom()\n")
    assert msg == "function_app.py:5: boom: RuntimeError: bad config"


def test_decoration_error_names_the_decorated_function(tmp_path: Path) -> None:
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.route(route="a", methods=["FETCH"])
def fetcher(req):
    return 1
""",
    )
    assert msg.startswith("function_app.py:5: fetcher: KeyError:")


def test_duplicate_function_name(tmp_path: Path) -> None:
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.function_name("same")
@app.route(route="a")
def a(req):
    return 1

@app.function_name("same")
@app.route(route="b")
def b(req):
    return 1
""",
    )
    assert msg.startswith("function_app.py:10: same: ValueError: Function same does not have a unique")


def test_unsupported_binding(tmp_path: Path) -> None:
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.service_bus_queue_trigger(arg_name="msg", queue_name="q", connection="SB")
def sb(msg):
    pass
""",
    )
    assert msg.startswith(
        "function_app.py:5: sb: unsupported binding type 'serviceBusTrigger' (binding 'msg')"
    )


def test_missing_app_setting_in_binding(tmp_path: Path) -> None:
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.queue_trigger(arg_name="msg", queue_name="%Missing%", connection="AzureWebJobsStorage")
def q(msg):
    pass
""",
    )
    assert msg.startswith("function_app.py:5: q: binding 'msg': '%Missing%' does not resolve")


def test_parameter_without_binding(tmp_path: Path) -> None:
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.route(route="a")
def a(req, extra):
    return 1
""",
    )
    assert msg.startswith("function_app.py:5: a: the following parameters are declared in Python but not")


def test_no_app_and_route_conflicts(tmp_path: Path) -> None:
    assert "Could not find top level function app" in index_error(tmp_path, "x = 1\n")
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.route(route="admin/x")
def a(req):
    return 1
""",
    )
    assert "conflicts with one or more built in routes" in msg
    msg = index_error(
        tmp_path,
        HEADER
        + """
@app.route(route="Same/{x}")
def a(req):
    return 1

@app.route(route="/same/{x}", methods=["GET"])
def b(req):
    return 1
""",
    )
    assert msg == "function_app.py:9: b: the route specified conflicts with the route defined by function 'a'"


def test_listing_format(tmp_path: Path) -> None:
    reg = make_app(
        tmp_path,
        """
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="hello/{name?}", methods=["GET", "POST"])
def hello(req):
    return "x"

@app.route(route="items/{id:int}", methods=["GET"])
@app.function_name("GetItem")
def get_item(req):
    return "x"

@app.route()
def noroute(req):
    return "x"

@app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
def process_item(msg) -> None:
    pass

@app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *")
def tick(timer) -> None:
    pass
""",
    )
    assert listing_lines(reg, "http://localhost:7071", "api") == [
        "\tGetItem: [GET] http://localhost:7071/api/items/{id:int}",
        "\thello: [GET,POST] http://localhost:7071/api/hello/{name?}",
        "\tnoroute:  http://localhost:7071/api/noroute",
        "\tprocess_item: queueTrigger",
        "\ttick: timerTrigger",
    ]
    assert (
        listing_lines(reg, "http://localhost:7071", "")[0]
        == "\tGetItem: [GET] http://localhost:7071/items/{id:int}"
    )
    text = format_listing(reg, "http://localhost:7071", "api")
    assert text.startswith(
        "\nFunctions:\n\n\tGetItem: [GET] http://localhost:7071/api/items/{id:int}\n\n\thello"
    )
    assert text.endswith(
        "\ttick: timerTrigger\n\nFor detailed output, run python -m host start with --verbose flag.\n"
    )
    assert "For detailed" not in format_listing(reg, "http://localhost:7071", "api", verbose=True)


def test_an_app_without_functions_says_so(tmp_path: Path) -> None:
    reg = make_app(tmp_path, HEADER)
    text = format_listing(reg, "http://localhost:7071", "api")
    assert "Functions:" not in text
    assert (
        "No functions found: decorate the app's functions with its triggers "
        "(@app.route, @app.orchestration_trigger, ...)." in text.splitlines()
    )


def test_an_orchestrator_without_yield_is_pointed_out(tmp_path: Path) -> None:
    # The SDK runs a plain function as an orchestrator that completes at once with its return
    # value (as on Azure): the tasks it creates never run. Legal, but almost always a mistake.
    reg = make_app(
        tmp_path,
        HEADER
        + """
@app.orchestration_trigger(context_name="context")
def plain(context):
    context.call_activity("work", 1)
    return "done"

@app.orchestration_trigger(context_name="context")
def proper(context):
    result = yield context.call_activity("work", 1)
    return result

@app.activity_trigger(input_name="x")
def work(x):
    return x
""",
    )
    assert reg.warnings == [
        "Orchestrator 'plain' (function_app.py:5) has no 'yield': it completes at once with its "
        "return value and the tasks it creates never run; write 'result = yield context.call_activity(...)'"
    ]
    assert reg.warnings[0] in format_listing(reg, "http://localhost:7071", "api").splitlines()
