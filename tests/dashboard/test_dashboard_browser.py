"""The dashboard in a real browser: a host running the sample app, every seed pattern, Chromium.

One host (subprocess, the session's Azurite, a fresh task hub) serves the module. The seeds are
started over the app's own HTTP starters, then each page is checked as a user sees it, and a
screenshot of it is saved (see ``screenshots`` in conftest.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_support import copy_sample_app
from host_process_support import host_env, host_process
from playwright.sync_api import Page, expect
from waiting import eventually_sync

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)

MONITOR = {"poll_seconds": 0.5, "expiry_seconds": 60, "ready_at": "2000-01-01T00:00:00"}
SEEDS: dict[str, tuple[str, Any, str]] = {
    # seed: (pattern, input, the status it settles in)
    "chaining": ("chaining", None, "Completed"),
    "fan-out": ("fan-out", None, "Completed"),
    "monitor": ("monitor", MONITOR, "Completed"),
    "approval": ("approval", {"subject": "laptop", "amount": 900}, "Running"),
    "failing": ("chaining", {"id": "empty", "items": {}}, "Failed"),
}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, azurite_connection_string: str
) -> Iterator[dict[str, Any]]:
    """The host's URL and the instance id of each seed once it settled."""
    app = copy_sample_app(tmp_path_factory.mktemp("sample-app"))
    hub = f"Dash{uuid.uuid4().hex[:10]}"
    with host_process(app, host_env(azurite_connection_string, hub)) as url, httpx.Client(timeout=30) as c:
        ids: dict[str, str] = {}
        for seed, (pattern, payload, _) in SEEDS.items():
            resp = (
                c.post(f"{url}/api/patterns/{pattern}", json=payload)
                if payload
                else c.post(f"{url}/api/patterns/{pattern}")
            )
            assert resp.status_code == 202, resp.text
            ids[seed] = resp.json()["id"]
        assert c.post(f"{url}/api/aggregator/k1", json=5).status_code == 202

        def settled() -> bool:
            for seed, (_, _, status) in SEEDS.items():
                got = c.get(f"{url}/runtime/webhooks/durabletask/instances/{ids[seed]}").json()
                if got.get("runtimeStatus") != status or (
                    seed == "approval" and "waiting_until" not in str(got.get("customStatus"))
                ):
                    return False
            counter = c.get(f"{url}/api/aggregator/k1")
            return counter.status_code == 200 and counter.json().get("value") == 5

        eventually_sync(settled, 90, "every seed to settle", interval=0.3)
        yield {"url": url, "ids": ids, "hub": hub, "log": app / f"host-{url.rsplit(':', 1)[1]}.log"}


def row(page: Page, instance_id: str) -> Any:
    return page.locator(f'#instances tr[data-instance="{instance_id}"]')


def test_the_list_shows_every_seed_with_its_status(
    page: Page, served: dict[str, Any], screenshots: Path
) -> None:
    page.goto(served["url"] + "/dashboard")
    for seed, (_, _, status) in SEEDS.items():
        expect(row(page, served["ids"][seed])).to_have_attribute("data-status", status)
    expect(page.locator('#counts li[data-status="Completed"] .n')).to_have_text("3")
    expect(page.locator('#counts li[data-status="Failed"] .n')).to_have_text("1")
    expect(page.locator('#counts li[data-status="Running"] .n')).to_have_text("1")
    page.screenshot(path=str(screenshots / "instances.png"), full_page=True)

    page.evaluate("window.notReloaded = true")
    started = httpx.post(f"{served['url']}/api/patterns/chaining")
    assert started.status_code == 202
    expect(row(page, started.json()["id"])).to_have_attribute("data-status", "Completed")  # live
    expect(page.locator('#counts li[data-status="Completed"] .n')).to_have_text("4")
    assert page.evaluate("window.notReloaded") is True


def test_the_host_guard_covers_the_dashboard(served: dict[str, Any]) -> None:
    url = served["url"]
    cross = httpx.post(
        f"{url}/dashboard/instance/action",
        data={"id": served["ids"]["approval"], "action": "terminate"},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403 and "Cross-site" in cross.text
    rebound = httpx.get(f"{url}/dashboard", headers={"Host": "evil.example"})
    assert rebound.status_code == 403 and "DNS rebinding" in rebound.text


def test_the_url_is_printed_with_the_function_listing(served: dict[str, Any]) -> None:
    text = served["log"].read_text()
    port = served["url"].rsplit(":", 1)[1]
    assert f"Dashboard: http://localhost:{port}/dashboard" in text
    assert text.index("approval_request: orchestrationTrigger") < text.index("Dashboard:")


def test_filters_by_status_name_prefix_and_created_time(page: Page, served: dict[str, Any]) -> None:
    ids = served["ids"]
    page.goto(served["url"] + "/dashboard")
    page.check('#filters input[value="Failed"]')
    page.click('#filters button[type="submit"]')
    expect(page.locator("#instances tbody tr")).to_have_count(1)
    expect(row(page, ids["failing"])).to_be_visible()

    page.goto(served["url"] + "/dashboard")
    page.fill('#filters input[name="name"]', "word_count")
    page.click('#filters button[type="submit"]')
    expect(page.locator("#instances tbody tr")).to_have_count(1)
    expect(row(page, ids["fan-out"])).to_be_visible()

    page.goto(served["url"] + "/dashboard")
    page.fill('#filters input[name="prefix"]', ids["approval"][:12])
    page.click('#filters button[type="submit"]')
    expect(page.locator("#instances tbody tr[data-instance]")).to_have_count(1)
    expect(row(page, ids["approval"])).to_be_visible()

    page.goto(served["url"] + "/dashboard")
    page.fill('#filters input[name="from"]', "2999-01-01T00:00")
    page.click('#filters button[type="submit"]')
    expect(page.locator("#instances tbody tr[data-instance]")).to_have_count(0)
    expect(page.locator("#total")).to_have_text("0")


def test_the_approval_waits_for_its_event_and_raising_it_completes_it_live(
    page: Page, served: dict[str, Any], screenshots: Path
) -> None:
    iid = served["ids"]["approval"]
    page.goto(f"{served['url']}/dashboard/instance?id={iid}")
    expect(page.locator("#why-sentence")).to_contain_text('waiting for event "Approval"')
    expect(page.locator("#why-source")).to_have_text(re.compile(r"^function_app\.py:\d+$"))
    line = int(page.locator("#why-source").inner_text().split(":")[1])
    source = (Path(__file__).resolve().parents[2] / "function_app.py").read_text().splitlines()
    assert "task_any" in source[line - 1], source[line - 1]  # the yield the instance waits at
    expect(page.locator('#timeline tr[data-kind="timer"]')).to_have_attribute("data-state", "pending")
    page.screenshot(path=str(screenshots / "instance-waiting.png"), full_page=True)

    expect(page.locator('#awaited-events option[value="Approval"]')).to_have_count(1)  # offered
    page.evaluate("window.notReloaded = true")
    page.fill('#raise-form input[name="event"]', "Approval")
    page.fill('#raise-form input[name="data"]', '"alice"')
    page.click("#raise-form button")
    expect(page.locator("#flash")).to_have_text("Raised event 'Approval'.")
    expect(page.locator("#runtime-status")).to_have_text("Completed")
    expect(page.locator("#output")).to_contain_text('"by": "alice"')
    expect(page.locator("#why")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True  # updated in place, no reload


def test_an_action_the_state_refuses_shows_the_api_message(page: Page, served: dict[str, Any]) -> None:
    iid = served["ids"]["chaining"]
    page.goto(f"{served['url']}/dashboard/instance?id={iid}")
    page.click("#resume-form button")
    expect(page.locator("#flash")).to_have_text(
        f"Cannot resume the orchestration instance {iid} because instance is in the Completed state."
    )
    expect(page.locator("#flash")).to_have_class("error")


def test_a_failed_instance_shows_its_error_and_rewinds(
    page: Page, served: dict[str, Any], screenshots: Path
) -> None:
    iid = served["ids"]["failing"]
    page.goto(f"{served['url']}/dashboard/instance?id={iid}")
    expect(page.locator("#runtime-status")).to_have_text("Failed")
    expect(page.locator("#output")).to_contain_text("ValueError: order empty has no items")
    failed = page.locator('#timeline tr[data-kind="activity"][data-state="failed"]')
    expect(failed).to_contain_text("validate_order")
    page.screenshot(path=str(screenshots / "instance-failed.png"), full_page=True)

    page.fill('#rewind-form input[name="reason"]', "retry from the browser")
    page.click("#rewind-form button")
    expect(page.locator("#flash")).to_have_text("Rewound: the failed work runs again.")
    rewound = page.locator('#timeline tr[data-kind="control"]', has_text="rewound")
    expect(rewound).to_contain_text("retry from the browser")
    # the activity ran again (and, its input unchanged, failed again)
    expect(page.locator("#runtime-status")).to_have_text("Failed")
    expect(failed).to_have_count(1)


def test_the_entity_page_shows_the_counter_and_signals_it(
    page: Page, served: dict[str, Any], screenshots: Path
) -> None:
    page.goto(served["url"] + "/dashboard/entities")
    counter = page.locator('#entities tr[data-entity="counter"][data-key="k1"]')
    expect(counter.locator("pre.state")).to_have_text("5")
    page.screenshot(path=str(screenshots / "entities.png"), full_page=True)
    page.fill('#signal-form input[name="name"]', "Counter")
    page.fill('#signal-form input[name="key"]', "k1")
    page.fill('#signal-form input[name="operation"]', "add")
    page.fill('#signal-form input[name="input"]', "2")
    page.click("#signal-form button")
    expect(page.locator("#flash")).to_have_text("Signalled 'add' to counter/k1.")
    expect(counter.locator("pre.state")).to_have_text("7")


def test_the_hub_and_functions_pages(page: Page, served: dict[str, Any], screenshots: Path) -> None:
    page.goto(served["url"] + "/dashboard/hub")
    expect(page.locator("h1")).to_contain_text(served["hub"])
    # the hub's default 4 partitions, all held by this (only) host
    owned = page.locator("#partitions tr.this-host")
    expect(owned).to_have_count(4)
    expect(page.locator("#hosts tbody tr")).to_have_count(1)
    expect(page.locator("#this-host")).to_be_visible()
    expect(page.locator('#queues tr[data-queue$="-workitems"]')).to_be_visible()
    page.screenshot(path=str(screenshots / "hub.png"), full_page=True)
    page.goto(served["url"] + "/dashboard/functions")
    validate = page.locator('tr[data-function="validate_order"]')
    expect(validate).to_have_attribute("data-trigger", "activityTrigger")
    expect(validate.locator(".failures")).not_to_have_text("0")  # the failing seed's activity
    expect(validate.locator(".last-error")).to_contain_text("has no items")
    expect(page.locator('tr[data-function="count_words"] .invocations')).to_have_text("3")
    page.screenshot(path=str(screenshots / "functions.png"), full_page=True)
