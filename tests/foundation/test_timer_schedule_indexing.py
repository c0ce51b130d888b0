"""Indexing checks timer schedules (issue #6): a bad expression is one line naming file, line, function."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.config.settings import load_settings
from host.errors import IndexingError
from host.indexing.loader import index_app
from host.indexing.registry import Registry


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    sys.modules.pop("function_app", None)


def index(root: Path, schedule: str, env: dict[str, str] | None = None) -> Registry:
    (root / "host.json").write_text('{"version": "2.0"}')
    (root / "function_app.py").write_text(
        textwrap.dedent(f"""\
        import azure.functions as func
        app = func.FunctionApp()


        @app.timer_trigger(schedule={schedule!r}, arg_name="timer")
        def tick(timer: func.TimerRequest) -> None:
            pass
        """)
    )
    return index_app(load_settings(root, environ=dict(env or {})), chdir=False)


@pytest.mark.parametrize("schedule", ["0 */5 * * * *", "*/10 * * * *", "00:00:30", "1.02:03:04"])
def test_valid_schedules_index(tmp_path: Path, schedule: str) -> None:
    reg = index(tmp_path, schedule)
    fn = reg.get("tick")
    assert fn is not None and fn.trigger.get("schedule") == schedule


@pytest.mark.parametrize(
    ("schedule", "detail"),
    [
        ("0 */5 * * *  * *", "not a valid crontab expression"),
        ("0 61 * * * *", "Minute"),
        ("every five minutes", "was not recognized"),
        ("00:00:00", "zero TimeSpan"),
    ],
)
def test_bad_schedule_is_an_indexing_error_naming_file_line_function(
    tmp_path: Path, schedule: str, detail: str
) -> None:
    with pytest.raises(IndexingError) as info:
        index(tmp_path, schedule)
    message = str(info.value)
    assert message.startswith("function_app.py:5: tick: timer trigger 'timer': "), message
    assert detail in message
    assert "\n" not in message


def test_schedule_from_an_app_setting_is_resolved_before_parsing(tmp_path: Path) -> None:
    reg = index(tmp_path, "%TickSchedule%", env={"TickSchedule": "0 0 * * * *"})
    fn = reg.get("tick")
    assert fn is not None and fn.trigger.get("schedule") == "0 0 * * * *"
    with pytest.raises(IndexingError, match=r"^function_app.py:5: tick: .*'nope'"):
        index(tmp_path, "%TickSchedule%", env={"TickSchedule": "nope"})
