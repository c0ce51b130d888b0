"""Whether the storage account answers, judged from the outcome of every request (no extra traffic).

The clients report each request that finally failed with a transient failure (``unreachable``:
connection errors and timeouts; ``busy``: 408, 429, 5xx after the retries) and each request that
got an answer. While the last outcome was a failure, :attr:`StorageHealth.problem` says what is
wrong; the first failure and the recovery are logged once each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger("host.storage")


class StorageHealth:
    """The outage state of one storage account."""

    def __init__(self, account_name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.account_name = account_name
        self._clock = clock
        self._since: float | None = None
        self._since_utc: datetime | None = None
        self.failures = 0
        """Requests that failed since the account last answered."""
        self.kind: str | None = None
        self.detail = ""

    @property
    def healthy(self) -> bool:
        return self._since is None

    def failed(self, kind: str, detail: str) -> None:
        """A request failed for good with a transient failure (``unreachable`` or ``busy``)."""
        self.failures += 1
        self.kind, self.detail = kind, detail
        if self._since is None:
            self._since, self._since_utc = self._clock(), datetime.now(UTC)
            log.error(
                "Storage account %s is %s (%s); the host keeps running and retries. "
                "GET /admin/host/status shows the state.",
                self.account_name,
                kind,
                detail,
            )

    def succeeded(self) -> None:
        """A request got an answer: the account is back (if it was away)."""
        if self._since is None:
            return
        took = self._clock() - self._since
        log.warning(
            "Storage account %s answers again after %.1f s (%d failed requests).",
            self.account_name,
            took,
            self.failures,
        )
        self._since = self._since_utc = None
        self.failures, self.kind, self.detail = 0, None, ""

    @property
    def problem(self) -> str | None:
        """One line saying what is wrong, or ``None`` while the account answers."""
        if self._since_utc is None:
            return None
        since = self._since_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"Storage account {self.account_name} is {self.kind} since {since} "
            f"({self.failures} failed requests): {self.detail}"
        )
