"""Pacing Rekognition calls so that a fleet of sandboxes stays under the account's quotas.

Rekognition's TPS quotas are per account, operation and Region ("Amazon Rekognition
endpoints and quotas", https://docs.aws.amazon.com/general/latest/gr/rekognition.html).
botocore's adaptive retry mode paces one client after it has been throttled; it does not
know how many other sandboxes share the quota. The ingest queue's event source mapping
caps the sandboxes at ``max_concurrency``, so each sandbox may spend a fixed share of
each quota: ``share * quota / max_concurrency`` calls per second, with no burst. Then
the fleet cannot exceed the quota whatever the sandboxes' phases, provided
``max_concurrency`` is at most the smallest quota (see :func:`ingest_concurrency`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from medialens.shared.errors import ConfigurationError

PACING_SHARE = 0.95
"""Fraction of each quota the ingest fleet spends; the rest absorbs timing jitter and the
few calls other functions make (the chatbot makes none; reference photos are rare)."""

MIN_MAX_CONCURRENCY = 2
MAX_MAX_CONCURRENCY = 1000
"""An SQS event source mapping's ``ScalingConfig.MaximumConcurrency`` is 2-1000 (Lambda
API Reference, ScalingConfig:
https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html)."""


@dataclass
class TokenBucket:
    """Calls at ``rate`` per second at most, with a burst of one call.

    Thread-safe: the image pipeline makes its calls for one image in parallel.
    """

    rate: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next_free: float = field(default=0.0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def acquire(self) -> float:
        """Wait for the next free slot; return the seconds waited."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next_free)
            self._next_free = slot + 1.0 / self.rate
        wait = slot - now
        if wait > 0:
            self.sleep(wait)
        return wait


@dataclass(frozen=True, slots=True)
class RekognitionQuotas:
    """Transactions per second allowed per operation, as the stack was told them."""

    tps: Mapping[str, float]

    def __hash__(self) -> int:
        """Hash the quotas (settings are cache keys of the wiring)."""
        return hash(tuple(sorted(self.tps.items())))

    @classmethod
    def parse(cls, text: str) -> RekognitionQuotas:
        """Read ``"DetectLabels=5,DetectText=5"``.

        Raises
        ------
        ConfigurationError
            On a malformed pair or a quota that is not a positive number.
        """
        tps: dict[str, float] = {}
        for pair in filter(None, (part.strip() for part in text.split(","))):
            operation, _, value = pair.partition("=")
            try:
                quota = float(value)
            except ValueError as error:
                raise ConfigurationError(f"quota {pair!r} is not Operation=number") from error
            if not operation.isalnum() or quota <= 0 or not math.isfinite(quota):
                raise ConfigurationError(f"quota {pair!r} is not Operation=positive number")
            tps[operation] = quota
        return cls(tps=tps)

    def ceiling(self, calls_per_image: Mapping[str, int]) -> float:
        """Images per second the binding quota allows, for an image making these calls.

        Raises
        ------
        ConfigurationError
            When an operation the image calls has no quota.
        """
        missing = sorted(set(calls_per_image) - set(self.tps))
        if missing:
            raise ConfigurationError(f"no TPS quota given for {', '.join(missing)}")
        return min(
            (self.tps[operation] / calls for operation, calls in calls_per_image.items() if calls),
            default=math.inf,
        )

    def binding(self, calls_per_image: Mapping[str, int]) -> str:
        """Name the operation whose quota sets :meth:`ceiling`."""
        return min(
            (operation for operation, calls in calls_per_image.items() if calls),
            key=lambda operation: self.tps[operation] / calls_per_image[operation],
        )


def ingest_concurrency(quotas: RekognitionQuotas, operations: Iterable[str]) -> int:
    """Choose the event source mapping's ``MaximumConcurrency`` for these quotas.

    Each sandbox may hold one call's burst per operation, so at most the smallest quota
    of the operations an image calls; within the mapping's 2-1000.
    """
    smallest = min(quotas.tps[operation] for operation in operations)
    return max(MIN_MAX_CONCURRENCY, min(MAX_MAX_CONCURRENCY, math.floor(smallest)))


class Pacer:
    """One token bucket per Rekognition operation: this sandbox's share of each quota.

    Parameters
    ----------
    quotas : RekognitionQuotas
        The account's TPS per operation.
    max_concurrency : int
        Sandboxes that may run at once (the mapping's ``MaximumConcurrency``).
    share : float
        Fraction of each quota the whole fleet spends.
    """

    def __init__(
        self,
        quotas: RekognitionQuotas,
        max_concurrency: int,
        share: float = PACING_SHARE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._buckets = {
            operation: TokenBucket(share * quota / max_concurrency, clock, sleep)
            for operation, quota in quotas.tps.items()
        }
        self.waited_s = 0.0

    def acquire(self, operation: str) -> None:
        """Wait for this sandbox's next slot of ``operation``; unknown operations pass."""
        bucket = self._buckets.get(operation)
        if bucket is not None:
            self.waited_s += bucket.acquire()

    def attach(self, client: Any) -> None:
        """Pace every HTTP attempt ``client`` sends (retries count against quotas too).

        botocore emits ``before-send`` once per attempt, after signing.
        """
        service = client.meta.service_model.service_id.hyphenize()

        def before_send(event_name: str, **_: Any) -> None:
            self.acquire(event_name.rsplit(".", 1)[-1])

        client.meta.events.register(f"before-send.{service}", before_send)
