"""The retry policy of every storage call: bounded exponential back-off with jitter.

As the Azure SDKs do it: only failures that may pass on their own are retried — connection
errors, timeouts and the statuses 408, 429, 500, 502, 503 and 504. Nothing else is: a 412 says
somebody else wrote first (retrying it blindly would overwrite their work), a 409 or 404 will not
change by waiting. The same policy drives the lean REST path (:mod:`host.storage.azure.rest_client`)
and the SDK pipelines (:mod:`host.storage.azure.base`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt (the server was busy, failed or too slow)."""


def is_retryable_status(status: int) -> bool:
    """Whether a response with ``status`` may succeed when sent again."""
    return status in RETRYABLE_STATUS


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` more attempts after the first, waiting ``initial · 2ⁿ`` (capped at ``maximum``)
    seconds before retry n+1, each wait spread by ±``jitter`` (a fraction) so clients that failed
    together do not come back together."""

    retries: int = 3
    initial: float = 0.2
    maximum: float = 4.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.retries < 0 or self.initial < 0 or self.maximum < self.initial or not 0 <= self.jitter < 1:
            raise ValueError(f"invalid retry policy {self!r}")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        base = min(self.maximum, self.initial * 2.0 ** max(0, retry - 1))
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return min(self.maximum, base * spread)

    @property
    def worst_case(self) -> float:
        """The longest total wait of one call that fails every attempt."""
        return sum(
            min(self.maximum, self.initial * 2.0 ** (n - 1) * (1 + self.jitter))
            for n in range(1, self.retries + 1)
        )


DEFAULT_POLICY = RetryPolicy()
"""What every storage client uses: 3 retries after ~0.2, 0.4, 0.8 s (±25 %): ≤ 1.75 s in all."""
