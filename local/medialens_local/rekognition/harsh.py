"""What makes the local Rekognition as harsh as the real one: TPS quotas and faults.

Quotas: Rekognition's TPS quotas are per account, operation and Region ("Amazon
Rekognition endpoints and quotas", https://docs.aws.amazon.com/general/latest/gr/rekognition.html).
How much burst the service tolerates is not documented; here each operation has a token
bucket refilled at its quota with one second's worth of capacity, and a call that finds
it empty is refused with ``ProvisionedThroughputExceededException`` (HTTP 400), as the
image operations document ("Errors" of DetectLabels,
https://docs.aws.amazon.com/rekognition/latest/APIReference/API_DetectLabels.html).

Faults, injected by configuration: ``ThrottlingException`` and ``InternalServerError``
(HTTP 500, "Amazon Rekognition is temporarily unable to process the request" and "...
experienced a service issue"), calls that hang past the client's read timeout, and slow
calls. Every answered call is written to a ledger, so a load run can count what a real
account would be billed for.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from medialens_local.rekognition.protocol import Operation, RekognitionError

DEFAULT_TPS = 5.0
"""The quota every image operation gets unless told otherwise (the template's default,
``RekognitionTpsQuotas``, deliberately low; see its comment in template.yaml)."""


@dataclass(frozen=True)
class Faults:
    """How often each fault is injected (probabilities per call) and how long delays last.

    Attributes
    ----------
    throttle, server_error, timeout, slow : float
        Probability that a call is answered ``ThrottlingException``, ``InternalServerError``,
        not at all within ``timeout_s``, or only after ``slow_s``.
    """

    throttle: float = 0.0
    server_error: float = 0.0
    timeout: float = 0.0
    slow: float = 0.0
    timeout_s: float = 12.0
    slow_s: float = 2.0
    seed: int | None = None

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Read ``"server_error=0.1,timeout=0.01"`` (the names of the attributes)."""
        values: dict[str, float] = {}
        for pair in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = pair.partition("=")
            if name not in cls.__dataclass_fields__ or name == "seed":
                raise ValueError(f"unknown fault {name!r}")
            values[name] = float(value)
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Call:
    """One answered call, as the ledger keeps it."""

    at: float
    operation: str
    subject: str
    outcome: str
    """``ok``, or the error code it was answered with."""
    duration_s: float = 0.0


@dataclass
class _Bucket:
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Harshness:
    """Quotas, faults and the ledger, wrapped around the local operations.

    Parameters
    ----------
    quotas : Mapping[str, float] | None
        TPS per operation; operations not named get :data:`DEFAULT_TPS` when they are
        image operations, and no quota otherwise. ``None`` disables quotas.
    faults : Faults
        What to inject.
    """

    quotas: Mapping[str, float] | None = None
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    ledger: list[Call] = field(default_factory=list)
    _buckets: dict[str, _Bucket] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.faults.seed)  # noqa: S311 - a simulation, not a secret

    def wrap(self, operations: Mapping[str, Operation]) -> dict[str, Operation]:
        """Return the operations with quotas and faults in front of each."""
        return {name: self._guarded(name, operation) for name, operation in operations.items()}

    def billed(self) -> list[Call]:
        """List the calls answered with a result (what a real account pays for)."""
        with self._lock:
            return [call for call in self.ledger if call.outcome == "ok"]

    def _guarded(self, name: str, operation: Operation) -> Operation:
        def call(request: dict[str, Any]) -> dict[str, Any]:
            subject = _subject(request)
            started = self.clock()
            try:
                self._admit(name)
                self._inject()
                response = operation(request)
            except RekognitionError as error:
                self._record(name, subject, error.code, started)
                raise
            self._record(name, subject, "ok", started)
            return response

        return call

    def _admit(self, name: str) -> None:
        if self.quotas is None:
            return
        quota = self.quotas.get(name)
        if quota is None:
            return
        with self._lock:
            now = self.clock()
            bucket = self._buckets.setdefault(name, _Bucket(quota, quota, now))
            admitted = bucket.take(now)
        if not admitted:
            raise RekognitionError(
                "ProvisionedThroughputExceededException",
                f"Provisioned rate exceeded: {name} allows {quota:g} transactions per second",
            )

    def _draw_fault(self) -> str | None:
        faults = self.faults
        with self._lock:
            draw = self._random.random()
        for probability, fault in (
            (faults.throttle, "throttle"),
            (faults.server_error, "server_error"),
            (faults.timeout, "timeout"),
            (faults.slow, "slow"),
        ):
            if draw < probability:
                return fault
            draw -= probability
        return None

    def _inject(self) -> None:
        fault = self._draw_fault()
        if fault is None:
            return
        if fault == "throttle":
            raise RekognitionError(
                "ThrottlingException",
                "Amazon Rekognition is temporarily unable to process the request.",
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )
        if fault == "server_error":
            raise RekognitionError(
                "InternalServerError",
                "Amazon Rekognition experienced a service issue.",
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )
        self.sleep(self.faults.timeout_s if fault == "timeout" else self.faults.slow_s)

    def _record(self, name: str, subject: str, outcome: str, started: float) -> None:
        with self._lock:
            now = self.clock()
            self.ledger.append(Call(now, name, subject, outcome, now - started))


def _subject(request: Mapping[str, Any]) -> str:
    """Name what a call is about: the S3 key of its image, or the face it searches with."""
    image = request.get("Image") or request.get("Video") or {}
    if isinstance(image, Mapping) and isinstance(image.get("S3Object"), Mapping):
        return str(image["S3Object"].get("Name", ""))
    return str(request.get("FaceId") or request.get("CollectionId") or "")


IMAGE_OPERATIONS = (
    "DetectLabels",
    "DetectText",
    "DetectFaces",
    "DetectModerationLabels",
    "SearchFacesByImage",
    "IndexFaces",
    "SearchFaces",
    "DeleteFaces",
)


def default_quotas(tps: float = DEFAULT_TPS) -> dict[str, float]:
    """Every image operation at ``tps``: what the stack assumes by default."""
    return dict.fromkeys(IMAGE_OPERATIONS, tps)
