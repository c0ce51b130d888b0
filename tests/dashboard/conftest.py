"""The dashboard's browser tests: a host with the sample app, Debian's Chromium through Playwright.

Chromium is ``/usr/bin/chromium`` (``FUNCHOST_CHROMIUM`` overrides; Playwright's own download
is not used). Locally a missing browser skips the browser tests with the reason; in CI
(``CI=true``) it fails them: ``.ci/run`` installs it. Screenshots go to ``$FUNCHOST_SCREENSHOTS``
when set (kept), else to a temporary folder of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_support import chromium_path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save each page (``$FUNCHOST_SCREENSHOTS`` or a temporary folder)."""
    given = os.environ.get("FUNCHOST_SCREENSHOTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (one per test module)."""
    path = chromium_path()  # skips (locally) or fails (CI) without a browser
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context's page that accepts every confirmation dialog (each action asks)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    p = context.new_page()
    p.on("dialog", lambda dialog: dialog.accept())
    try:
        yield p
    finally:
        context.close()
