"""What the video use cases need from the outside world, as structural interfaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from medialens.catalog.location import CatalogLocation
from medialens.shared.ports import MediaStore

if TYPE_CHECKING:
    from medialens.video.models import JobState, MediaStatus, VideoJob, VideoPage, VideoTerm


class VideoRecognizer(Protocol):
    """Rekognition Video's asynchronous Start and Get operations."""

    def start(
        self, job: VideoJob, *, topic_arn: str, role_arn: str, options: Mapping[str, Any]
    ) -> str:
        """Start ``job`` with its token as ClientRequestToken and JobTag; return the JobId.

        Raises ``QuotaExceededError`` when Rekognition cannot take the job now and
        ``RejectedMediaError`` when it refuses the video itself.
        """
        ...

    def get_page(self, job: VideoJob, *, next_token: str | None, max_results: int) -> VideoPage:
        """Read one page of the job's results.

        Raises ``PaginationExpiredError`` when ``next_token`` is no longer valid.
        """
        ...


class JobStore(Protocol):
    """The video jobs table."""

    def create(self, job: VideoJob) -> bool:
        """Record a new job; ``False`` (and no write) when its token is already recorded."""
        ...

    def get(self, token: str) -> VideoJob | None:
        """Read the job recorded under ``token``."""
        ...

    def save(self, job: VideoJob, *, previous: VideoJob | None = None) -> None:
        """Overwrite the job's record (and its place in the open-jobs index).

        With ``previous``, only if the record still matches it (state, collection start,
        next token); otherwise raise ``StaleJobError``.
        """
        ...

    def open_jobs(self, state: JobState, *, since_before: str | None, limit: int) -> list[VideoJob]:
        """Jobs in ``state``, oldest first, optionally only those in it since before a time."""
        ...


class VideoCatalog(Protocol):
    """The catalog's video entries."""

    def start_video(self, location: CatalogLocation, apis: Sequence[str], now: str) -> None:
        """Replace the media item's entries with an in-progress video (same superseding rule)."""
        ...

    def record_job_state(
        self, media_id: str, api: str, state: JobState, now: str, *, version_id: str | None
    ) -> MediaStatus:
        """Record one job's state on the video; return the video's overall status.

        Raises ``SupersededError`` when the catalog holds another version of the media
        item (or no video entry at all).
        """
        ...

    def add_video_terms(self, media_id: str, terms: Sequence[VideoTerm], now: str) -> None:
        """Make the video findable by these terms, merging with what earlier pages found."""
        ...

    def flag(self, media_id: str, now: str) -> None:
        """List the media item among flagged content."""
        ...

    def current_version(self, media_id: str) -> str | None:
        """Return the S3 version id the catalog holds for this media item.

        ``""`` for an entry without one (an unversioned bucket), ``None`` when the
        catalog holds no entry (the media was deleted).
        """
        ...


class Outbox(Protocol):
    """A queue messages are sent to."""

    def send(self, body: str) -> None:
        """Send one message."""
        ...


@dataclass(frozen=True, slots=True)
class VideoPorts:
    """The adapters a video use case talks to."""

    recognizer: VideoRecognizer
    jobs: JobStore
    catalog: VideoCatalog
    store: MediaStore
    continuations: Outbox
    dead_letters: Outbox
