"""The replay check over a task hub (in-process app, in-memory storage): it replays unfinished
instances only, samples when there are more than it may check, and says how many it skipped."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from host.reload.reloader import Reloader, ReloadOptions
from host.reload.safety import check_hub
from host.testing import AppHost
from host.testing.replay import index_folder

APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext):
    yield context.call_activity("first", None)
    yield context.wait_for_external_event("go")
    return "done"


@app.activity_trigger(input_name="x")
def first(x: None) -> str:
    return "ok"


@app.activity_trigger(input_name="x")
def renamed(x: None) -> str:
    return "ok"
"""


def _write(root: Path, code: str) -> Path:
    root.mkdir()
    (root / "function_app.py").write_text(code)
    (root / "host.json").write_text(json.dumps({"version": "2.0"}))
    return root


async def test_unfinished_instances_are_sampled_and_the_rest_counted(tmp_path: Path) -> None:
    v1 = _write(tmp_path / "v1", APP)
    v2 = _write(tmp_path / "v2", APP.replace('call_activity("first"', 'call_activity("renamed"'))
    async with AppHost(v1) as app:
        waiting = [await app.start("waits") for _ in range(5)]
        done = await app.start("waits")
        await app.settle()
        await app.raise_event(done, "go")
        assert app.output(await app.wait(done)) == "done"

        same = await check_hub(app.management, app.registry, v1)
        assert (same.ok, same.checked, same.unchecked) == (True, 5, 0)  # the finished one is not replayed

        sampled = await check_hub(app.management, index_folder(v2), v2, sample=2)
        assert (sampled.checked, sampled.unchecked) == (2, 3)
        assert {d.instance_id for d in sampled.divergences} <= set(waiting)
        assert len(sampled.divergences) == 2
        line = next(
            i
            for i, text in enumerate((v2 / "function_app.py").read_text().splitlines(), 1)
            if "renamed" in text
        )
        assert {d.source for d in sampled.divergences} == {f"function_app.py:{line}"}
        assert sampled.lines()[-1] == "  3 more unfinished instance(s) not checked (bounded sample)"

        other_app = await check_hub(app.management, index_folder(v2), v2, orchestrators=["elsewhere"])
        assert (other_app.checked, other_app.unchecked, other_app.lines()) == (0, 0, [])


async def test_the_strict_check_reads_the_hub_the_new_settings_select(tmp_path: Path) -> None:
    """A save that moves the app to another hub is checked against that hub's instances, not
    the instances of the hub it leaves (they stay where they are, untouched by the new code)."""
    v1 = _write(tmp_path / "v1", APP)
    v2 = _write(tmp_path / "v2", APP.replace('call_activity("first"', 'call_activity("renamed"'))
    async with AppHost(v1) as app:
        await app.start("waits")
        await app.settle()
        runtime = app.runtime
        assert runtime is not None
        reloader = Reloader(runtime, ReloadOptions(load_settings=lambda: runtime.settings, strict=True))
        here = await reloader.check(index_folder(v2), also=app.registry, settings=runtime.settings)
        assert here is not None and (here.ok, here.checked) == (False, 1)

        durable = {"extensions": {"durableTask": {"hubName": "SomewhereElse"}}}
        elsewhere = dataclasses.replace(runtime.settings, host_json={**runtime.settings.host_json, **durable})
        moved = await reloader.check(index_folder(v2), also=app.registry, settings=elsewhere)
        assert moved is not None and (moved.ok, moved.checked, moved.divergences) == (True, 0, [])
