"""CloudWatch Logs: the retention of log groups the stack does not create itself."""

from __future__ import annotations

from typing import Any

from medialens.shared.aws import logs_client


class CloudWatchLogGroups:
    """Reads and sets log groups' retention.

    Parameters
    ----------
    logs : Any, optional
        Injected CloudWatch Logs client; the shared retrying client otherwise.
    """

    def __init__(self, logs: Any | None = None) -> None:
        self._logs = logs or logs_client()

    def retention(self, name: str) -> tuple[bool, int | None]:
        """Whether the group exists, and its retention in days (``None``: never expires)."""
        groups = self._logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        for group in groups:
            if group.get("logGroupName") == name:
                days = group.get("retentionInDays")
                return True, int(days) if days else None
        return False, None

    def create(self, name: str) -> None:
        """Create the group (empty) so a retention can be set before the service writes."""
        self._logs.create_log_group(logGroupName=name)

    def set_retention(self, name: str, days: int) -> None:
        """Expire the group's events after ``days``."""
        self._logs.put_retention_policy(logGroupName=name, retentionInDays=days)
