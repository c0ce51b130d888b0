"""Route templates and route selection as the Functions host does them."""

from __future__ import annotations

import pytest

from host.errors import IndexingError
from host.http.routing import Route, Router, build_router, parse_template, split_path
from host.indexing.registry import HTTP_TRIGGER, Binding, FunctionInfo


def match(template: str, path: str) -> dict[str, str] | None:
    return parse_template(template).match(split_path(path))


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("api/hello", "/api/hello", {}),
        ("api/hello", "/API/Hello", {}),
        ("api/hello", "/api/hello/", {}),
        ("api/hello", "/api/hello/x", None),
        ("api/hello", "/api", None),
        ("api/hello/{name}", "/api/hello/Ann", {"name": "Ann"}),
        ("api/hello/{name}", "/api/hello", None),
        ("api/hello/{name?}", "/api/hello", {}),
        ("api/hello/{name?}", "/api/hello/Bob", {"name": "Bob"}),
        ("api/hello/{name=world}", "/api/hello", {"name": "world"}),
        ("api/hello/{name=world}", "/api/hello/x", {"name": "x"}),
        ("api/{a=1}/{b=2}", "/api", {"a": "1", "b": "2"}),
        ("api/{a=1}/{b=2}", "/api/7", {"a": "7", "b": "2"}),
        ("api/items/{id:int}", "/api/items/42", {"id": "42"}),
        ("api/items/{id:int}", "/api/items/-42", {"id": "-42"}),
        ("api/items/{id:int}", "/api/items/abc", None),
        ("api/items/{id:int}", "/api/items/4294967296", None),
        ("api/items/{id:long}", "/api/items/4294967296", {"id": "4294967296"}),
        ("api/items/{id:int?}", "/api/items", {}),
        ("api/items/{id:int?}", "/api/items/5", {"id": "5"}),
        ("api/items/{id:int?}", "/api/items/x", None),
        ("api/async/{*rest}", "/api/async/a/b/c", {"rest": "a/b/c"}),
        ("api/async/{*rest}", "/api/async", {}),
        ("api/async/{*rest}", "/api/async/", {}),
        ("api/async/{**rest}", "/api/async/x/y", {"rest": "x/y"}),
        ("api/n/{v:alpha}", "/api/n/abcXYZ", {"v": "abcXYZ"}),
        ("api/n/{v:alpha}", "/api/n/ab1", None),
        ("api/n/{v:bool}", "/api/n/TRUE", {"v": "TRUE"}),
        ("api/n/{v:bool}", "/api/n/yes", None),
        (
            "api/n/{v:guid}",
            "/api/n/6a1c0ad5-4dd7-4a9f-9b2e-5ad1d6a1f3d0",
            {"v": "6a1c0ad5-4dd7-4a9f-9b2e-5ad1d6a1f3d0"},
        ),
        (
            "api/n/{v:guid}",
            "/api/n/{6a1c0ad5-4dd7-4a9f-9b2e-5ad1d6a1f3d0}",
            {"v": "{6a1c0ad5-4dd7-4a9f-9b2e-5ad1d6a1f3d0}"},
        ),
        (
            "api/n/{v:guid}",
            "/api/n/6a1c0ad54dd74a9f9b2e5ad1d6a1f3d0",
            {"v": "6a1c0ad54dd74a9f9b2e5ad1d6a1f3d0"},
        ),
        ("api/n/{v:guid}", "/api/n/not-a-guid", None),
        ("api/n/{v:double}", "/api/n/1.5e3", {"v": "1.5e3"}),
        ("api/n/{v:double}", "/api/n/1.5x", None),
        ("api/n/{v:decimal}", "/api/n/12.50", {"v": "12.50"}),
        ("api/n/{v:decimal}", "/api/n/1e3", None),
        ("api/n/{v:datetime}", "/api/n/2024-05-01", {"v": "2024-05-01"}),
        ("api/n/{v:datetime}", "/api/n/2024-13-01", None),
        ("api/n/{v:minlength(3)}", "/api/n/ab", None),
        ("api/n/{v:minlength(3)}", "/api/n/abc", {"v": "abc"}),
        ("api/n/{v:maxlength(3)}", "/api/n/abcd", None),
        ("api/n/{v:length(2)}", "/api/n/ab", {"v": "ab"}),
        ("api/n/{v:length(2)}", "/api/n/abc", None),
        ("api/n/{v:length(2,4)}", "/api/n/abcd", {"v": "abcd"}),
        ("api/n/{v:length(2,4)}", "/api/n/abcde", None),
        ("api/n/{v:min(10)}", "/api/n/9", None),
        ("api/n/{v:min(10)}", "/api/n/10", {"v": "10"}),
        ("api/n/{v:max(10)}", "/api/n/11", None),
        ("api/n/{v:range(1,5)}", "/api/n/5", {"v": "5"}),
        ("api/n/{v:range(1,5)}", "/api/n/6", None),
        ("api/n/{v:int:min(1)}", "/api/n/0", None),
        ("api/n/{v:int:min(1)}", "/api/n/3", {"v": "3"}),
        ("api/n/{v:regex(^\\d{{3}}-\\d{{2}}$)}", "/api/n/123-45", {"v": "123-45"}),
        ("api/n/{v:regex(^\\d{{3}}-\\d{{2}}$)}", "/api/n/123-456", None),
        ("api/n/{v:regex(ab)}", "/api/n/xxABxx", {"v": "xxABxx"}),
        ("api/n/{v:regex(^a/b$)}", "/api/n/a%2Fb", {"v": "a/b"}),
        ("api/files/{name}.{ext}", "/api/files/report.tar.gz", {"name": "report.tar", "ext": "gz"}),
        ("api/files/{name}.{ext?}", "/api/files/readme", {"name": "readme"}),
        ("api/files/{name}.{ext?}", "/api/files/readme.md", {"name": "readme", "ext": "md"}),
        ("api/files/{name}.{ext?}", "/api/files/a.tar.gz", {"name": "a.tar", "ext": "gz"}),
        ("api/files/file-{id:int}", "/api/files/FILE-12", {"id": "12"}),
        ("api/files/file-{id:int}", "/api/files/file-x", None),
        ("api/hello/{name}", "/api/hello/Ann%20Lee", {"name": "Ann Lee"}),
        ("api/a b/{x}", "/api/a%20b/1", {"x": "1"}),
        ("hello", "/hello", {}),
        ("", "/", {}),
        ("", "/x", None),
        ("api/{x}", "/api//", None),
    ],
)
def test_template_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert match(template, path) == expected


@pytest.mark.parametrize(
    "template",
    [
        "api/{a?}/b",
        "api/{*rest}/x",
        "api/{*rest?}",
        "api/{a}/{A}",
        "api/{a",
        "api/a}",
        "api/{a:nope}",
        "api/{a:min(x)}",
        "api/{a}{b}",
        "api/{a:regex([)}",
        "api/{}",
    ],
)
def test_invalid_templates(template: str) -> None:
    with pytest.raises(IndexingError):
        parse_template(template)


def http_fn(name: str, route: str | None = None, methods: list[str] | None = None) -> FunctionInfo:
    settings: dict[str, object] = {"authLevel": "ANONYMOUS"}
    if route is not None:
        settings["route"] = route
    if methods is not None:
        settings["methods"] = methods
    trigger = Binding("req", HTTP_TRIGGER, "in", settings)
    return FunctionInfo(name, trigger, [trigger, Binding("$return", "http", "out")], lambda req: None)


def test_literal_beats_parameter_regardless_of_name_order() -> None:
    router = build_router([http_fn("a_param", "items/{id}"), http_fn("z_literal", "items/special")])
    found = router.match("GET", "/api/items/special")
    assert found is not None and found.route.function_name == "z_literal"
    found = router.match("GET", "/api/items/other")
    assert found is not None and found.route.function_name == "a_param" and found.params == {"id": "other"}


def test_constrained_parameter_before_unconstrained() -> None:
    router = build_router([http_fn("a", "v/{name}"), http_fn("b", "v/{id:int}")])
    assert [r.function_name for r in router.routes] == ["b", "a"]
    first, second = router.match("GET", "/api/v/12"), router.match("GET", "/api/v/xy")
    assert first is not None and first.route.function_name == "b"
    assert second is not None and second.route.function_name == "a"


def test_longer_template_first_and_catch_all_fallback() -> None:
    router = build_router([http_fn("all", "{*rest}"), http_fn("deep", "x/{a}/y"), http_fn("short", "x/{a}")])
    assert [r.function_name for r in router.routes] == ["deep", "short", "all"]
    m = router.match("GET", "/api/x/1/y")
    assert m is not None and m.route.function_name == "deep"
    m = router.match("GET", "/api/zzz/1")
    assert m is not None and m.route.function_name == "all" and m.params == {"rest": "zzz/1"}


def test_methods_are_route_constraints() -> None:
    router = build_router([http_fn("get_it", "thing", ["GET"]), http_fn("post_it", "thing", ["post"])])
    g, p = router.match("get", "/api/thing"), router.match("POST", "/api/thing")
    assert g is not None and g.route.function_name == "get_it"
    assert p is not None and p.route.function_name == "post_it"
    assert router.match("DELETE", "/api/thing") is None


def test_default_route_is_function_name_and_prefix_options() -> None:
    assert build_router([http_fn("Plain")]).match("GET", "/api/plain") is not None
    assert build_router([http_fn("Plain")], "").match("GET", "/plain") is not None
    assert build_router([http_fn("Plain")], "").match("GET", "/api/plain") is None
    assert build_router([http_fn("Plain")], "v1/x").match("GET", "/v1/x/Plain") is not None


def test_router_with_explicit_routes_keeps_given_order_on_ties() -> None:
    r1 = Route("one", parse_template("api/{a}"))
    r2 = Route("two", parse_template("api/{b}"))
    m = Router([r1, r2]).match("GET", "/api/q")
    assert m is not None and m.route.function_name == "one" and m.params == {"a": "q"}
