"""Rekognition Video: the analyses it offers, its completion messages, and our job records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from medialens.shared.errors import MalformedNotificationError
from medialens.shared.media import MediaObject


@dataclass(frozen=True, slots=True)
class VideoApi:
    """One asynchronous video analysis: its Start and Get operations and result list.

    Attributes
    ----------
    name : str
        Rekognition's name in completion messages, for example ``LABEL_DETECTION``.
    start : str
        Start operation, for example ``StartLabelDetection``.
    get : str
        Matching Get operation, for example ``GetLabelDetection``.
    results_key : str
        The list each Get page holds (``Labels``, ``Persons``, ...).
    sort_by_timestamp : bool
        Whether the Get operation takes ``SortBy=TIMESTAMP``.
    """

    name: str
    start: str
    get: str
    results_key: str
    sort_by_timestamp: bool

    @property
    def slug(self) -> str:
        """Lower-case name used in S3 keys and settings (``label_detection``)."""
        return self.name.lower()


VIDEO_APIS: tuple[VideoApi, ...] = (
    VideoApi("LABEL_DETECTION", "StartLabelDetection", "GetLabelDetection", "Labels", True),
    VideoApi("TEXT_DETECTION", "StartTextDetection", "GetTextDetection", "TextDetections", False),
    VideoApi("FACE_DETECTION", "StartFaceDetection", "GetFaceDetection", "Faces", False),
    VideoApi("FACE_SEARCH", "StartFaceSearch", "GetFaceSearch", "Persons", True),
    VideoApi(
        "CONTENT_MODERATION",
        "StartContentModeration",
        "GetContentModeration",
        "ModerationLabels",
        True,
    ),
    VideoApi(
        "SEGMENT_DETECTION", "StartSegmentDetection", "GetSegmentDetection", "Segments", False
    ),
    VideoApi(
        "CELEBRITY_RECOGNITION",
        "StartCelebrityRecognition",
        "GetCelebrityRecognition",
        "Celebrities",
        True,
    ),
    VideoApi("PERSON_TRACKING", "StartPersonTracking", "GetPersonTracking", "Persons", True),
)


def page_key(results_prefix: str, key: str, api: VideoApi, number: int) -> str:
    """S3 key of one result page: ``results/<video key>/<analysis>/page-00001.json``."""
    return f"{results_prefix}{key}/{api.slug}/page-{number:05d}.json"


_BY_ANY_NAME = {
    spelling: api for api in VIDEO_APIS for spelling in (api.name, api.start, api.get, api.slug)
}


def video_api(name: str) -> VideoApi:
    """Look an analysis up by any of its names (``LABEL_DETECTION``, ``StartLabelDetection``).

    AWS's documentation shows both spellings in the ``API`` field of completion messages.

    Raises
    ------
    KeyError
        For a name that is no video analysis.
    """
    return _BY_ANY_NAME[name]


class JobState(StrEnum):
    """Where a video job is in its life."""

    STARTING = "STARTING"
    """Recorded; the Start call has not been confirmed yet."""
    PARKED = "PARKED"
    """Rekognition's concurrent-job quota was full; waits in the backlog."""
    RUNNING = "RUNNING"
    """Started; Rekognition will publish the completion message."""
    COLLECTING = "COLLECTING"
    """Succeeded; its result pages are being read (possibly over several invocations)."""
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    """No completion message arrived in time; the sweeper gave up on it."""
    SUPERSEDED = "SUPERSEDED"
    """A newer version of the video replaced this one before its results were recorded."""

    @property
    def is_open(self) -> bool:
        """Whether the job still needs something to happen (start, message or pages)."""
        return self in {JobState.STARTING, JobState.PARKED, JobState.RUNNING, JobState.COLLECTING}


class MediaStatus(StrEnum):
    """A video's overall status, derived from its jobs."""

    IN_PROGRESS = "IN_PROGRESS"
    ANALYSED = "ANALYSED"
    PARTIAL = "PARTIAL"
    """Some analyses succeeded, some failed or timed out."""
    FAILED = "FAILED"


def overall_status(states: Mapping[str, str]) -> MediaStatus:
    """Combine the states of a video's jobs (analysis name -> state) into one status."""
    parsed = [JobState(state) for state in states.values()]
    if not parsed or any(state.is_open for state in parsed):
        return MediaStatus.IN_PROGRESS
    succeeded = sum(state is JobState.SUCCEEDED for state in parsed)
    if succeeded == len(parsed):
        return MediaStatus.ANALYSED
    return MediaStatus.PARTIAL if succeeded else MediaStatus.FAILED


def job_token(media: MediaObject, api: VideoApi) -> str:
    """Derive the job's ClientRequestToken and JobTag from the object version and analysis.

    A duplicate S3 event yields the same token, so Rekognition returns the job it
    already started instead of starting (and charging for) a second one.
    """
    identity = "\0".join(
        (media.bucket, media.key, media.version_id or "", media.etag or "", api.name)
    )
    return "ml-" + hashlib.sha256(identity.encode()).hexdigest()[:48]


@dataclass(frozen=True, slots=True)
class VideoJob:
    """One analysis of one video version, as the jobs table records it."""

    token: str
    api: VideoApi
    bucket: str
    key: str
    version_id: str | None
    created_at: str
    state: JobState = JobState.STARTING
    job_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    pages: int = 0
    items: int = 0
    next_token: str | None = None
    error: str | None = None
    attempts: int = 0
    parked_since: str | None = None
    collecting_since: str | None = None
    start_errors: int = 0

    @classmethod
    def for_media(cls, media: MediaObject, api: VideoApi, now: str) -> VideoJob:
        """Create the record of a new job for ``media``."""
        return cls(
            token=job_token(media, api),
            api=api,
            bucket=media.bucket,
            key=media.key,
            version_id=media.version_id,
            created_at=now,
        )

    @property
    def media_id(self) -> str:
        """Catalog identifier of the video: its key."""
        return self.key

    @property
    def open_since(self) -> str | None:
        """When the job entered its open state (the backlog is served oldest first)."""
        if self.state is JobState.PARKED:
            return self.parked_since or self.created_at
        if self.state is JobState.COLLECTING:
            return self.collecting_since or self.started_at or self.created_at
        if self.state is JobState.RUNNING:
            return self.started_at or self.created_at
        if self.state is JobState.STARTING:
            return self.created_at
        return None

    def with_changes(self, **changes: Any) -> VideoJob:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class JobNotification:
    """Rekognition Video's completion message, as published to the job's SNS topic.

    See "Reference: Video analysis results notification" in the Rekognition guide.
    """

    job_id: str
    status: str
    api: str
    timestamp_ms: int
    bucket: str
    key: str
    job_tag: str | None = None
    message: str = ""

    @property
    def succeeded(self) -> bool:
        """Whether Rekognition reports success (else FAILED or ERROR)."""
        return self.status == "SUCCEEDED"

    @classmethod
    def parse(cls, text: str) -> JobNotification:
        """Parse the SNS message body.

        Raises
        ------
        MalformedNotificationError
            When the text is not JSON or lacks a field the format requires.
        """
        try:
            document = json.loads(text)
            video = document["Video"]
            notification = cls(
                job_id=str(document["JobId"]),
                status=str(document["Status"]),
                api=str(document["API"]),
                timestamp_ms=int(document["Timestamp"]),
                bucket=str(video["S3Bucket"]),
                key=str(video["S3ObjectName"]),
                job_tag=str(document["JobTag"]) if document.get("JobTag") else None,
                message=str(document.get("Message") or ""),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise MalformedNotificationError(
                f"not a Rekognition Video completion message: {error!r}"
            ) from error
        if notification.status not in {"SUCCEEDED", "FAILED", "ERROR"}:
            raise MalformedNotificationError(f"unknown job status {notification.status!r}")
        return notification


@dataclass(frozen=True, slots=True)
class Continuation:
    """Where a result collection stopped, to be resumed by a later invocation."""

    token: str
    next_token: str
    pages: int
    items: int
    hops: int = field(default=1)

    def to_message(self) -> str:
        """Serialise for the continuation queue."""
        return json.dumps(
            {
                "continuation": {
                    "token": self.token,
                    "next_token": self.next_token,
                    "pages": self.pages,
                    "items": self.items,
                    "hops": self.hops,
                }
            }
        )

    @classmethod
    def parse(cls, text: str) -> Continuation:
        """Parse a continuation queue message.

        Raises
        ------
        MalformedNotificationError
            When the message is not a continuation.
        """
        try:
            body = json.loads(text)["continuation"]
            return cls(
                token=str(body["token"]),
                next_token=str(body["next_token"]),
                pages=int(body["pages"]),
                items=int(body["items"]),
                hops=int(body.get("hops", 1)),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise MalformedNotificationError(f"not a continuation: {error!r}") from error


@dataclass(frozen=True, slots=True)
class VideoPage:
    """One page of a Get operation's results.

    Attributes
    ----------
    items : Sequence[Mapping[str, Any]]
        The page's result list (``Labels``, ``Persons``, ...), as Rekognition sent it.
    next_token : str | None
        Token of the next page; ``None`` on the last one.
    document : Mapping[str, Any]
        The whole response, without ``ResponseMetadata``, as stored in S3.
    """

    items: Sequence[Mapping[str, Any]]
    next_token: str | None
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class VideoTerm:
    """A searchable finding of one page, with the whole seconds at which it was seen."""

    kind: str
    value: str
    confidence: float
    seconds: frozenset[int]
