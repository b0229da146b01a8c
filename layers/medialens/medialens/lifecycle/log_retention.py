"""Retention for the log groups AWS services create on the stack's behalf.

SageMaker writes a Batch Transform job's container logs to ``/aws/sagemaker/TransformJobs``
and keeps them "indefinitely" by default ("Log groups and streams that Amazon SageMaker AI
sends to Amazon CloudWatch Logs",
https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html), so they would
accumulate without bound. EMR writes its logs to the bucket (``emr-logs/``, a lifecycle
rule's), not to CloudWatch Logs. The group is shared by every transform job of
the account and Region, so it is given a retention only where it has none: an
expiry someone chose is left alone, and reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

SAGEMAKER_LOG_GROUPS = ("/aws/sagemaker/TransformJobs",)


class LogGroups(Protocol):
    """CloudWatch Logs' groups, as far as their retention goes."""

    def retention(self, name: str) -> tuple[bool, int | None]:
        """Whether the group exists, and its retention in days (``None``: never expires)."""
        ...

    def create(self, name: str) -> None:
        """Create the group."""
        ...

    def set_retention(self, name: str, days: int) -> None:
        """Expire the group's events after ``days``."""
        ...


def bound_retention(names: Iterable[str], days: int, groups: LogGroups) -> dict[str, str]:
    """Give every group in ``names`` a retention of ``days`` unless it has one already.

    Returns
    -------
    dict[str, str]
        Per group: ``set to <days> days`` or ``kept at <n> days``.
    """
    outcome: dict[str, str] = {}
    for name in names:
        exists, current = groups.retention(name)
        if not exists:
            groups.create(name)
        if current is None:
            groups.set_retention(name, days)
            outcome[name] = f"set to {days} days"
        else:
            outcome[name] = f"kept at {current} days"
    return outcome
