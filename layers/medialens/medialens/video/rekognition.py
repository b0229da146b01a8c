"""Amazon Rekognition Video's Start and Get operations."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from medialens.shared.aws import rekognition_client, rekognition_start_client
from medialens.shared.errors import PaginationExpiredError, QuotaExceededError, RejectedMediaError
from medialens.video.models import VideoJob, VideoPage

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

QUOTA_ERRORS = frozenset(
    {"LimitExceededException", "ThrottlingException", "ProvisionedThroughputExceededException"}
)
"""Rekognition cannot take the job now; it waits in the backlog."""

REJECTING_ERRORS = {
    "VideoTooLargeException": "too_large",
    "InvalidParameterException": "invalid_video",
}
"""Rekognition refuses the video itself; retrying cannot help."""


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class RekognitionVideoAdapter:
    """Starts video jobs and reads their result pages.

    Parameters
    ----------
    start_client : RekognitionClient, optional
        Client for Start operations; it must not retry (see ``aws.START_CONFIG``).
    client : RekognitionClient, optional
        Client for Get operations, with the shared adaptive retries.
    """

    def __init__(
        self,
        start_client: RekognitionClient | None = None,
        client: RekognitionClient | None = None,
    ) -> None:
        self._given_start_client = start_client
        self._given_client = client

    # Made on first use: the S3 entry point wires these ports for every drop, and most
    # drops are images, which should not pay for video clients at cold start.
    @cached_property
    def _start_client(self) -> RekognitionClient:
        return self._given_start_client or rekognition_start_client()

    @cached_property
    def _client(self) -> RekognitionClient:
        return self._given_client or rekognition_client()

    def start(
        self, job: VideoJob, *, topic_arn: str, role_arn: str, options: Mapping[str, Any]
    ) -> str:
        """Start ``job``; its token is the ClientRequestToken and the JobTag.

        Raises
        ------
        QuotaExceededError
            When the concurrent-job quota is full or the call is throttled.
        RejectedMediaError
            When Rekognition refuses the video (too large, invalid).
        """
        s3_object: dict[str, str] = {"Bucket": job.bucket, "Name": job.key}
        if job.version_id:
            s3_object["Version"] = job.version_id
        start = getattr(self._start_client, _snake(job.api.start))
        try:
            response = start(
                Video={"S3Object": s3_object},
                ClientRequestToken=job.token,
                JobTag=job.token,
                NotificationChannel={"SNSTopicArn": topic_arn, "RoleArn": role_arn},
                **options,
            )
        except ClientError as error:
            code = _code(error)
            if code in QUOTA_ERRORS:
                raise QuotaExceededError(f"{job.api.start}: {code}") from error
            if code in REJECTING_ERRORS:
                message = str(error.response.get("Error", {}).get("Message", code))
                raise RejectedMediaError(REJECTING_ERRORS[code], message) from error
            raise
        return str(response["JobId"])

    def get_page(self, job: VideoJob, *, next_token: str | None, max_results: int) -> VideoPage:
        """Read one page of results.

        Raises
        ------
        PaginationExpiredError
            When Rekognition no longer accepts ``next_token``.
        """
        params: dict[str, Any] = {"JobId": job.job_id, "MaxResults": max_results}
        if next_token:
            params["NextToken"] = next_token
        if job.api.sort_by_timestamp:
            params["SortBy"] = "TIMESTAMP"
        get = getattr(self._client, _snake(job.api.get))
        try:
            response = get(**params)
        except ClientError as error:
            if _code(error) == "InvalidPaginationTokenException":
                raise PaginationExpiredError(str(error)) from error
            raise
        document = {key: value for key, value in response.items() if key != "ResponseMetadata"}
        return VideoPage(
            items=document.get(job.api.results_key, []),
            next_token=document.get("NextToken") or None,
            document=document,
        )
