"""What happened to one dropped media item, for images and videos alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OutcomeStatus(StrEnum):
    """What happened to one media item."""

    ANALYSED = "analysed"
    REJECTED = "rejected"
    IGNORED = "ignored"
    STARTED = "started"
    """A video whose Rekognition Video jobs were started (or parked in the backlog)."""
    REMOVED = "removed"
    """A deleted object taken out of the catalog, with its results and reference faces."""


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    """Result of one use-case call, small enough to keep as the idempotency record."""

    media_id: str
    status: OutcomeStatus
    reason: str | None = None
    detail: str | None = None
    result_key: str | None = None
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "media_id": self.media_id,
            "status": self.status.value,
            "reason": self.reason,
            "detail": self.detail,
            "result_key": self.result_key,
            "flagged": self.flagged,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisOutcome:
        """Inverse of :meth:`to_dict`."""
        return cls(
            media_id=data["media_id"],
            status=OutcomeStatus(data["status"]),
            reason=data.get("reason"),
            detail=data.get("detail"),
            result_key=data.get("result_key"),
            flagged=bool(data.get("flagged", False)),
        )


def summarize(outcomes: Iterable[AnalysisOutcome]) -> dict[str, int]:
    """Count outcomes by status, for the handler's response.

    Parameters
    ----------
    outcomes : Iterable[AnalysisOutcome]

    Returns
    -------
    dict[str, int]
        One count per :class:`OutcomeStatus`, plus ``flagged``.
    """
    counts = {status.value: 0 for status in OutcomeStatus} | {"flagged": 0}
    for outcome in outcomes:
        counts[outcome.status.value] += 1
        counts["flagged"] += int(outcome.flagged)
    return counts
