"""Configuration precedence: environment > local.settings.json > host.json defaults; overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from host.config.hostjson import misspelled_keys, parse_timespan
from host.config.settings import load_settings
from host.errors import ConfigError


def write_app(root: Path, host: dict | None = None, local: dict | None = None) -> Path:
    if host is not None:
        (root / "host.json").write_text(json.dumps(host))
    if local is not None:
        (root / "local.settings.json").write_text(json.dumps(local))
    return root


def test_environment_wins_over_local_settings(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {"version": "2.0"},
        {"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file", "N": 5, "F": True}},
    )
    env = {"A": "from-env"}
    s = load_settings(tmp_path, environ=env)
    assert s.setting("A") == "from-env"
    assert s.setting("B") == "from-file"
    assert env["B"] == "from-file"  # copied into the environment
    assert s.setting("N") == "5" and s.setting("F") == "True"  # Newtonsoft string conversion
    assert any("Skipping 'A'" in m for m in s.messages)


def test_core_tools_variables_are_set(tmp_path: Path) -> None:
    env: dict[str, str] = {"AZURE_FUNCTIONS_ENVIRONMENT": "Production"}
    s = load_settings(write_app(tmp_path, {"version": "2.0"}), port=7099, environ=env)
    assert env["WEBSITE_HOSTNAME"] == "localhost:7099"
    assert env["AzureWebJobsScriptRoot"] == str(s.script_root)
    assert env["AZURE_FUNCTIONS_ENVIRONMENT"] == "Development"


def test_host_json_defaults_and_env_overrides(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {
            "version": "2.0",
            "Extensions": {"Http": {"RoutePrefix": "v1"}, "durableTask": {"hubName": "FileHub"}},
        },
    )
    s = load_settings(tmp_path, environ={})
    assert s.route_prefix == "v1"
    assert s.get_path("extensions.durabletask.HUBNAME") == "FileHub"  # case-insensitive
    env = {
        "AzureFunctionsJobHost__extensions__durableTask__hubName": "EnvHub",
        "AzureFunctionsJobHost__extensions__http__routePrefix": "",
        "AzureFunctionsJobHost__extensions__queues__batchSize": "4",
    }
    s = load_settings(tmp_path, environ=env)
    assert s.get_path("extensions.durableTask.hubName") == "EnvHub"
    assert s.route_prefix == ""
    assert s.get_int("extensions.queues.batchSize", 16) == 4
    # the override reuses the file's key spelling instead of adding a second key
    assert list(s.host_json["Extensions"]["durableTask"]) == ["hubName"]


def test_route_prefix_default(tmp_path: Path) -> None:
    assert load_settings(write_app(tmp_path, {"version": "2.0"}), environ={}).route_prefix == "api"


def test_missing_host_json_is_the_default(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.get_path("version") == "2.0"


def test_functions_allow_list_from_env_array_and_cli(tmp_path: Path) -> None:
    write_app(tmp_path, {"version": "2.0", "functions": ["a"]})
    env = {"AzureFunctionsJobHost__functions__1": "b"}
    assert load_settings(tmp_path, environ=env).functions == ("a", "b")
    assert load_settings(tmp_path, functions=["c"], environ={}).functions == ("c",)


def test_local_settings_host_section_and_cli_precedence(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {"version": "2.0"},
        {
            "IsEncrypted": False,
            "Values": {},
            "Host": {"LocalHttpPort": 7075, "CORS": "http://a.test, http://b.test", "CORSCredentials": True},
        },
    )
    s = load_settings(tmp_path, environ={})
    assert (s.port, s.cors_origins, s.cors_credentials) == (7075, ("http://a.test", "http://b.test"), True)
    s = load_settings(tmp_path, port=8080, cors="*", cors_credentials=False, environ={})
    assert (s.port, s.cors_origins, s.cors_credentials) == (8080, ("*",), False)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ({"logging": {}}, "missing the required 'version'"),
        ({"version": "1.0"}, "'1.0' is an invalid value for host.json 'version'"),
    ],
)
def test_host_json_version_errors(tmp_path: Path, host: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(write_app(tmp_path, host), environ={})


def test_invalid_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{not json")
    with pytest.raises(ConfigError, match="Unable to parse host configuration file"):
        load_settings(tmp_path, environ={})


def test_a_misspelled_host_json_key_is_named_with_the_likely_one(tmp_path: Path) -> None:
    # The host ignores keys it does not know (so does Azure): a typo silently changes nothing.
    host = {
        "version": "2.0",
        "functionTimout": "00:05:00",
        "extensions": {
            "durableTasks": {"hubName": "MyHub"},
            "http": {"routePrefx": ""},
            "myCustomExtension": {},  # unknown but like nothing known: not a typo
        },
    }
    s = load_settings(write_app(tmp_path, host), environ={})
    typos = [m for m in s.messages if "did you mean" in m]
    assert typos == [
        "host.json: 'functionTimout' is not a setting: did you mean 'functionTimeout'?",
        "host.json: 'extensions.durableTasks' is not a setting: did you mean 'extensions.durableTask'?",
        "host.json: 'extensions.http.routePrefx' is not a setting: "
        "did you mean 'extensions.http.routePrefix'?",
    ]


def test_known_host_json_keys_in_any_case_are_no_typos() -> None:
    host = {
        "version": "2.0",
        "Logging": {"logLevel": {"default": "Information"}},
        "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"},
        "extensions": {
            "DurableTask": {"hubName": "H", "defaultVersion": "1.0", "storageProvider": {}},
            "queues": {"batchSize": 8},
        },
    }
    assert misspelled_keys(host) == []
    assert misspelled_keys({"extensions": {"durableTask": {"defaultVersoin": "2"}}}) == [
        "host.json: 'extensions.durableTask.defaultVersoin' is not a setting: "
        "did you mean 'extensions.durableTask.defaultVersion'?"
    ]


def test_malformed_local_settings_warns_and_continues(tmp_path: Path) -> None:
    write_app(tmp_path, {"version": "2.0"}, {"IsEncrypted": False, "Values": {"A": {"nested": 1}}})
    env: dict[str, str] = {}
    s = load_settings(tmp_path, environ=env)
    assert "A" not in env
    assert any("Failed to read app settings file" in m for m in s.messages)


def test_script_file_name_setting(tmp_path: Path) -> None:
    write_app(
        tmp_path, {"version": "2.0"}, {"IsEncrypted": False, "Values": {"PYTHON_SCRIPT_FILE_NAME": "main.py"}}
    )
    assert load_settings(tmp_path, environ={}).script_path == tmp_path.resolve() / "main.py"
    with pytest.raises(ConfigError, match="PYTHON_SCRIPT_FILE_NAME"):
        load_settings(tmp_path, environ={"PYTHON_SCRIPT_FILE_NAME": "../evil.py"})


def test_worker_runtime_must_be_python(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FUNCTIONS_WORKER_RUNTIME"):
        load_settings(tmp_path, environ={"FUNCTIONS_WORKER_RUNTIME": "node"})


def test_app_setting_references_and_connections(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {"version": "2.0", "extensions": {"durableTask": {"hubName": "%HubSetting%"}}},
        {
            "IsEncrypted": False,
            "Values": {"HubSetting": "MyHub"},
            "ConnectionStrings": {"Other": {"ConnectionString": "cs-other"}},
        },
    )
    s = load_settings(tmp_path, environ={"AzureWebJobsStorage": "cs-default", "AzureWebJobsQ": "cs-q"})
    assert s.get_str("extensions.durableTask.hubName") == "MyHub"
    assert s.resolve("work-%HubSetting%-items") == "work-MyHub-items"
    with pytest.raises(ConfigError, match="'%Nope%' does not resolve"):
        s.resolve("%Nope%")
    assert s.connection(None) == s.connection("") == "cs-default"
    assert s.connection("Q") == "cs-q"  # AzureWebJobs<name> first
    assert s.connection("Other") == "cs-other"
    assert s.connection("Missing") is None


def test_bad_port(tmp_path: Path) -> None:
    write_app(tmp_path, {"version": "2.0"}, {"IsEncrypted": False, "Host": {"LocalHttpPort": "abc"}})
    with pytest.raises(ConfigError, match="LocalHttpPort"):
        load_settings(tmp_path, environ={})


def test_timespans() -> None:
    assert parse_timespan("00:01:00") == 60
    assert parse_timespan("1.00:00:01.5") == 86401.5
    assert parse_timespan("-1") is None
    assert parse_timespan(2000) == 2.0
    with pytest.raises(ConfigError):
        parse_timespan("soon")
