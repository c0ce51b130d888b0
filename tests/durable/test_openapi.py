"""The OpenAPI document: docs/openapi.json is the generated one, the host serves it, and schemathesis
finds every answer of a running host (real engine, real Azurite) within it.

Schemathesis runs each documented operation with a bounded, derandomized set of generated
requests against ``python -m host start`` on a free port. Checks: no undocumented 5xx, status
codes, content types and bodies as documented, and every 4xx body names the problem. The
extension's own 500s for operations the instance's state refuses (documented as such) are
allowed only with a message.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from client_host_support import unique_hub
from host_process_support import REPO, host_env, host_process
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from waiting import eventually_sync

from host.openapi.document import build_document, document_text

APP = Path(__file__).parent / "apps" / "waiting"
MAX_EXAMPLES = 8
MAX_WAIT = 10.0
"""Generated starts that ask to wait longer for the result are left out."""


def test_docs_copy_is_the_generated_document() -> None:
    """``python -m host.openapi > docs/openapi.json`` after changing host/openapi/."""
    assert (REPO / "docs" / "openapi.json").read_text() == document_text()


def test_the_instance_listing_documents_the_orchestration_version() -> None:
    summary = build_document()["components"]["schemas"]["InstanceSummary"]
    assert "version" in summary["required"]  # null for an unversioned instance, never left out
    assert summary["properties"]["version"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, azurite_connection_string: str) -> Iterator[str]:
    root = tmp_path_factory.mktemp("openapi-app")
    for name in ("function_app.py", "host.json", "local.settings.json"):
        (root / name).write_text((APP / name).read_text())
    gate = root / "gate"
    gate.touch()
    with host_process(root, host_env(azurite_connection_string, unique_hub("oapi"))) as url:
        seed(url, str(gate))
        yield url


SEEDS = ("seed-waiting", "seed-done")
"""Instances the generated requests are also pointed at: one waiting for an event, one completed."""


def seed(url: str, gate: str) -> None:
    wh = f"{url}/runtime/webhooks/durabletask"
    for iid in SEEDS:
        assert httpx.post(f"{wh}/orchestrators/approval/{iid}", json=gate).status_code == 202

    def waiting(iid: str) -> bool:
        body = httpx.get(f"{url}/admin/durable/instances/{iid}").json()
        return 'event "Approval"' in body["waiting"]["sentence"]

    for iid in SEEDS:
        eventually_sync(functools.partial(waiting, iid), 30, f"{iid} to wait for its event")
    assert httpx.post(f"{wh}/instances/seed-done/raiseEvent/Approval", json="yes").status_code == 202
    eventually_sync(
        lambda: httpx.get(f"{wh}/instances/seed-done").json()["runtimeStatus"] == "Completed",
        30,
        "seed-done to complete",
    )


@pytest.mark.subprocess
def test_the_host_serves_the_document(served: str) -> None:
    r = httpx.get(f"{served}/admin/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == build_document()


def message_of(response: Any) -> str:
    try:
        value = json.loads(response.content or b"null")
    except ValueError:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("Message") or "")
    return ""


def requested_wait(case: Any) -> float:
    """Seconds a start/restart asks the host to hold the request (``timeout`` with ``pollingInterval``)."""
    query = case.query or {}
    if "timeout" not in query or "pollingInterval" not in query:
        return 0.0
    try:
        return float(query["timeout"])
    except (TypeError, ValueError):
        return 0.0  # not a number: refused at once


def check_answer(case: Any) -> int:
    """One generated request: its answer must be documented, and name the problem when refused."""
    if requested_wait(case) > MAX_WAIT:
        reject()  # the host holds the request as long as asked, as the extension does
    response = case.call(timeout=MAX_WAIT + 30)
    case.validate_response(
        response,
        checks=(status_code_conformance, content_type_conformance, response_schema_conformance),
    )
    code = response.status_code
    where = f"{case.method} {case.formatted_path}"
    if code >= 500:
        documented = str(code) in case.operation.definition.raw["responses"]
        assert documented and code == 500 and message_of(response), (
            f"{where}: server error {code}: {response.text[:300]}"
        )
    if 400 <= code < 500 and code != 401:
        assert message_of(response), f"{where}: {code} without a message: {response.text[:200]}"
    return int(code)


def _describe(err: BaseException) -> str:
    if isinstance(err, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in err.exceptions) + f" ({str(err)[:600]})"
    return f"{type(err).__name__}: {str(err)[:600]}"


@pytest.mark.subprocess
def test_every_answer_is_documented(served: str) -> None:
    api = schemathesis.openapi.from_dict(build_document())
    api.config.update(base_url=served)
    ran: list[str] = []
    answers: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    operations = []
    for found in api.get_all_operations():
        assert isinstance(found, Ok), found
        operations.append(found.ok())
    # reads first, purges last: the seeds should meet every operation in their original state
    operations.sort(
        key=lambda op: (["GET", "POST", "DELETE"].index(op.method.upper()), op.path.endswith("/terminate"))
    )
    for operation in operations:
        takes_id = any(p.name == "instanceId" for p in operation.path_parameters)
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [(m, None) for m in GenerationMode]
        if takes_id:  # also at real instances, in every state the seeds are in
            runs += [(GenerationMode.POSITIVE, {"instanceId": iid}) for iid in SEEDS]
        for mode, fixed in runs:

            @settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            def run(case: Any) -> None:
                ran.append(case.operation.label)
                answers[(case.operation.label, check_answer(case))] += 1

            try:
                run()
            except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters)
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (AssertionError, BaseExceptionGroup) as err:  # one failure must not hide the others
                failures.append(f"{operation.label} ({mode.value}, {fixed}): {_describe(err)}")
    print(f"schemathesis: {len(ran)} requests over {len(set(ran))} operations, {len(failures)} failing")
    print("answers:", ", ".join(f"{label} {code}: {n}" for (label, code), n in sorted(answers.items())))
    assert len(set(ran)) == len(list(api.get_all_operations()))
    # the seeds were reached: real status payloads and reports were checked against the schemas
    assert answers[("GET /runtime/webhooks/durabletask/instances/{instanceId}", 200)] > 0
    assert answers[("GET /runtime/webhooks/durabletask/instances/{instanceId}", 202)] > 0
    assert answers[("GET /admin/durable/instances/{instanceId}", 200)] > 0
    for listing in ("/admin/durable/instances", "/admin/durable/entities", "/admin/durable/hub"):
        assert answers[(f"GET {listing}", 200)] > 0  # the typed views were checked against their schemas
    assert not failures, "\n\n".join(failures)
