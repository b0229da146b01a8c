"""The video jobs table: one item per (video version, analysis).

==================================  ==================================================
question                            key condition
==================================  ==================================================
a job, from its JobTag              ``token = <token>``
parked jobs, oldest first           index ``Open``: ``open_state = PARKED``
jobs silent since before a time     index ``Open``: ``open_state = RUNNING,
                                    open_since < <time>``
==================================  ==================================================

``open_state`` and ``open_since`` exist only while a job is open, so the index holds
just the backlog and the jobs in flight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from medialens.shared.aws import dynamodb_resource
from medialens.shared.errors import StaleJobError
from medialens.video.models import JobState, VideoJob, video_api

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

OPEN_INDEX = "Open"


def job_item(job: VideoJob) -> dict[str, Any]:
    """Build the table item of a job."""
    fields: dict[str, Any] = {
        "token": job.token,
        "api": job.api.name,
        "bucket": job.bucket,
        "key": job.key,
        "media_id": job.media_id,
        "version_id": job.version_id,
        "state": job.state.value,
        "created_at": job.created_at,
        "job_id": job.job_id,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "pages": job.pages,
        "items": job.items,
        "next_token": job.next_token,
        "error": job.error,
        "attempts": job.attempts,
        "parked_since": job.parked_since,
        "collecting_since": job.collecting_since,
        "start_errors": job.start_errors,
    }
    if job.state.is_open:
        fields["open_state"] = job.state.value
        fields["open_since"] = f"{job.open_since}#{job.token}"
    return {name: value for name, value in fields.items() if value is not None}


def job_from_item(item: dict[str, Any]) -> VideoJob:
    """Inverse of :func:`job_item`."""

    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value)

    return VideoJob(
        token=str(item["token"]),
        api=video_api(str(item["api"])),
        bucket=str(item["bucket"]),
        key=str(item["key"]),
        version_id=text("version_id"),
        created_at=str(item["created_at"]),
        state=JobState(str(item["state"])),
        job_id=text("job_id"),
        started_at=text("started_at"),
        finished_at=text("finished_at"),
        pages=int(item.get("pages", 0)),
        items=int(item.get("items", 0)),
        next_token=text("next_token"),
        error=text("error"),
        attempts=int(item.get("attempts", 0)),
        parked_since=text("parked_since"),
        collecting_since=text("collecting_since"),
        start_errors=int(item.get("start_errors", 0)),
    )


class DynamoDBJobStore:
    """Reads and writes video jobs.

    Parameters
    ----------
    table_name : str
    table : Table, optional
        Injected table resource; built from the shared resource otherwise.
    """

    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or dynamodb_resource().Table(table_name)

    def create(self, job: VideoJob) -> bool:
        """Record a new job; ``False`` when its token is already recorded."""
        try:
            self._table.put_item(Item=job_item(job), ConditionExpression=Attr("token").not_exists())
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, token: str) -> VideoJob | None:
        """Read the job recorded under ``token`` (strongly consistent)."""
        item = self._table.get_item(Key={"token": token}, ConsistentRead=True).get("Item")
        return job_from_item(dict(item)) if item else None

    def save(self, job: VideoJob, *, previous: VideoJob | None = None) -> None:
        """Overwrite the job's record; with ``previous``, only if it still reads so.

        The record "still reads so" when its state, collection start and next token
        are those of ``previous``: every writer reads, changes and writes back, and the
        one that read an older record loses.

        Raises
        ------
        StaleJobError
            When the record no longer matches ``previous``.
        """
        if previous is None:
            self._table.put_item(Item=job_item(job))
            return
        expected = {
            "state": previous.state.value,
            "collecting_since": previous.collecting_since,
            "next_token": previous.next_token,
        }
        condition: Any = Attr("token").exists()
        for name, value in expected.items():
            condition &= Attr(name).not_exists() if value is None else Attr(name).eq(value)
        try:
            self._table.put_item(Item=job_item(job), ConditionExpression=condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise StaleJobError(f"job {job.token} changed since it was read") from error
            raise

    def open_jobs(self, state: JobState, *, since_before: str | None, limit: int) -> list[VideoJob]:
        """Jobs in ``state``, oldest first, optionally only those open since before a time."""
        condition: Any = Key("open_state").eq(state.value)
        if since_before is not None:
            condition = condition & Key("open_since").lt(since_before)
        response = self._table.query(
            IndexName=OPEN_INDEX,
            KeyConditionExpression=condition,
            ScanIndexForward=True,
            Limit=limit,
        )
        return [job_from_item(dict(item)) for item in response.get("Items", [])]
