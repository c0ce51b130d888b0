"""The pure checks of ``doctor``: versions given as arguments, files in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

from host.doctor import FAIL, OK, WARN, check_host_json, check_python, check_sdk_versions
from host.doctor_cli import render


def test_supported_sdk_versions_pass() -> None:
    check = check_sdk_versions({"azure-functions": "1.26.0", "azure-functions-durable": "1.7.2"})
    assert check.status == OK
    assert check.detail == "azure-functions 1.26.0, azure-functions-durable 1.7.2"


def test_an_old_or_missing_sdk_fails_with_the_install_command() -> None:
    check = check_sdk_versions({"azure-functions": "1.11.0", "azure-functions-durable": None})
    assert check.status == FAIL
    assert "azure-functions 1.11.0 is outside the supported range >=1.26,<2" in check.detail
    assert "azure-functions-durable is not installed" in check.detail
    assert check.fix == "python -m pip install 'azure-functions>=1.26,<2' 'azure-functions-durable>=1.7,<2'"


def test_a_too_new_major_version_fails() -> None:
    assert check_sdk_versions({"azure-functions": "2.0.0", "azure-functions-durable": "1.7.0"}).status == FAIL


def test_python_version() -> None:
    assert check_python((3, 12, 1)).status == OK
    old = check_python((3, 9, 18))
    assert old.status == FAIL and old.fix == "use Python 3.11 or newer"


def test_the_checklist_shows_the_fix_under_each_failure() -> None:
    text = render([check_python((3, 12, 0)), check_python((3, 8, 0))])
    assert text.splitlines() == [
        "[ok]   Python: Python 3.12.0",
        "[FAIL] Python: Python 3.8.0 is too old",
        "       fix: use Python 3.11 or newer",
        "1 problem found.",
    ]


def test_a_misspelled_host_json_key_is_a_warning_naming_the_likely_one(tmp_path: Path) -> None:
    host = {"version": "2.0", "extensions": {"durableTasks": {"hubName": "MyHub"}}}
    (tmp_path / "host.json").write_text(json.dumps(host))
    check = check_host_json(tmp_path)
    assert check.status == WARN
    assert (
        "'extensions.durableTasks' is not a setting: did you mean 'extensions.durableTask'?" in check.detail
    )
    assert check.fix == "correct the key: the host ignores keys it does not know"
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {"durableTask": {}}}))
    assert check_host_json(tmp_path).status == OK
