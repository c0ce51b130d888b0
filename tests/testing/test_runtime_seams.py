"""The runtime's typed places: the clock, the invoker and the durable service reach the components."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.config.settings import HostSettings
from host.errors import HostError
from host.runtime import HostRuntime
from host.testing import AppHost

APP = Path(__file__).parent / "apps" / "toolkit"
pytestmark = pytest.mark.funchost(app_dir=str(APP))


def test_a_runtime_not_started_has_no_invoker_and_no_durable_service(tmp_path: Path) -> None:
    runtime = HostRuntime(HostSettings(script_root=tmp_path, host_json={}, environ={}))
    assert runtime.durable is None and runtime.clock is None and runtime.durable_overrides == {}
    with pytest.raises(HostError, match="not been started"):
        _ = runtime.invoker


async def test_the_virtual_clock_and_the_durable_service_go_through_the_runtime(func_app: AppHost) -> None:
    runtime = func_app.runtime
    assert runtime is not None and func_app.clock is not None
    assert runtime.clock is func_app.clock
    service = runtime.durable
    assert service is not None and func_app.durable is service
    assert service.engine.clock is func_app.clock  # the engine runs on the clock the runtime owns
    assert service.runtime.invoker is runtime.testing_invoker
