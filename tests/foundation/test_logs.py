"""func-style log lines and attribution of user logs to the running invocation."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator

import pytest

from host.logs import current_invocation, invocation_scope, setup_logging


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging(verbose=False, stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "


def test_executing_and_executed_lines(console: io.StringIO) -> None:
    with invocation_scope("hello", "inv-1"):
        logging.getLogger("user.module").info("user says hi")
    lines = console.getvalue().splitlines()
    assert re.fullmatch(
        STAMP + r"Executing 'Functions\.hello' \(Reason='This function was programmatically "
        r"called via the host APIs\.', Id=inv-1\)",
        lines[0],
    )
    assert re.fullmatch(STAMP + "user says hi", lines[1])
    assert re.fullmatch(
        STAMP + r"Executed 'Functions\.hello' \(Succeeded, Id=inv-1, Duration=\d+ms\)", lines[2]
    )


def test_failure_is_logged_and_reraised(console: io.StringIO) -> None:
    reason = "New queue message detected on 'q'."
    with pytest.raises(RuntimeError), invocation_scope("boom", "inv-2", reason=reason):
        raise RuntimeError("bad")
    text = console.getvalue()
    assert "(Reason='New queue message detected on 'q'.', Id=inv-2)" in text
    assert re.search(r"Executed 'Functions\.boom' \(Failed, Id=inv-2, Duration=\d+ms\)", text)
    assert "Exception: RuntimeError: bad" in text


def test_system_info_hidden_unless_verbose(console: io.StringIO) -> None:
    logging.getLogger("host.runtime").info("internal detail")
    logging.getLogger("host.runtime").warning("a warning")
    assert "internal detail" not in console.getvalue() and "a warning" in console.getvalue()


async def test_records_carry_the_invocation_across_tasks_and_threads() -> None:
    seen: list[tuple[str, str | None]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            scope = current_invocation.get()
            seen.append((record.getMessage(), scope.invocation_id if scope else None))

    handler = Capture()
    user = logging.getLogger("user.capture")
    user.addHandler(handler)
    user.setLevel(logging.INFO)
    try:

        async def one(inv: str) -> None:
            with invocation_scope("f", inv, log=False):
                await asyncio.sleep(0.01)
                user.info("async %s", inv)
                await asyncio.to_thread(user.info, "thread %s", inv)

        await asyncio.gather(one("a"), one("b"))
        user.info("outside")
    finally:
        user.removeHandler(handler)
    assert sorted(seen, key=str) == sorted(
        [("async a", "a"), ("thread a", "a"), ("async b", "b"), ("thread b", "b"), ("outside", None)], key=str
    )


def test_user_frames_are_those_outside_the_host_stdlib_and_packages(tmp_path) -> None:
    import concurrent.futures
    import sysconfig

    import azure.functions

    import host.invocation
    from host.failures import is_user_frame

    assert is_user_frame(str(tmp_path / "function_app.py"))
    assert is_user_frame("/usr/src/app/function_app.py")  # an app under the interpreter's prefix
    for library in (
        host.invocation.__file__,
        concurrent.futures.__file__,
        azure.functions.__file__,
        sysconfig.get_paths()["purelib"] + "/x.py",
    ):
        assert not is_user_frame(library), library
    assert not is_user_frame("<frozen runpy>")
