"""What the use cases need from the outside world, as structural interfaces.

Adapters in :mod:`medialens.adapters` implement these with boto3; tests and the
benchmarks pass anything with the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from medialens.models.analysis import (
    Answer,
    FaceDetail,
    FaceMatch,
    ImageAnalysis,
    IndexedFace,
    Label,
    LabelDetection,
    ModerationLabel,
    TextDetection,
)
from medialens.models.catalog import CatalogLocation
from medialens.models.media import ImageRef, MediaObject

if TYPE_CHECKING:
    # Typing only: importing the video models costs the images' cold start ~14 ms.
    from medialens.domain.suggester import RelatedLabel
    from medialens.models.search import MediaSummary, SearchKind, SearchPage, SearchQuery
    from medialens.models.video import JobState, MediaStatus, VideoJob, VideoPage, VideoTerm


class ImageRecognizer(Protocol):
    """Rekognition's image operations, answering typed findings and full responses."""

    def detect_labels(
        self, image: ImageRef, *, min_confidence: float, max_labels: int, image_properties: bool
    ) -> Answer[LabelDetection]:
        """DetectLabels with GENERAL_LABELS and optionally IMAGE_PROPERTIES."""
        ...

    def detect_text(
        self, image: ImageRef, *, min_confidence: float
    ) -> Answer[tuple[TextDetection, ...]]:
        """DetectText."""
        ...

    def detect_faces(self, image: ImageRef) -> Answer[tuple[FaceDetail, ...]]:
        """DetectFaces with all attributes."""
        ...

    def detect_moderation_labels(
        self, image: ImageRef, *, min_confidence: float
    ) -> Answer[tuple[ModerationLabel, ...]]:
        """DetectModerationLabels."""
        ...

    def detect_custom_labels(
        self, image: ImageRef, *, project_version_arn: str, min_confidence: float
    ) -> Answer[tuple[Label, ...]]:
        """DetectCustomLabels against a running project version."""
        ...

    def index_faces(
        self, image: ImageRef, *, collection_id: str, external_id: str, max_faces: int
    ) -> Answer[tuple[IndexedFace, ...]]:
        """IndexFaces with the given ExternalImageId."""
        ...

    def search_faces_by_image(
        self, image: ImageRef, *, collection_id: str, threshold: float, max_faces: int
    ) -> Answer[tuple[FaceMatch, ...]]:
        """SearchFacesByImage (Rekognition searches the largest face of the image)."""
        ...

    def search_faces(
        self, *, collection_id: str, face_id: str, threshold: float, max_faces: int
    ) -> Answer[tuple[FaceMatch, ...]]:
        """SearchFaces for a face already in the collection."""
        ...

    def delete_faces(self, *, collection_id: str, face_ids: Sequence[str]) -> None:
        """DeleteFaces."""
        ...


class MediaStore(Protocol):
    """Object storage for media and results."""

    def read_head(self, media: MediaObject, length: int) -> bytes:
        """Return the first ``length`` bytes of the exact object version."""
        ...

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        """Write a JSON document."""
        ...


class Catalog(Protocol):
    """The searchable record of every media item."""

    def recorded_sequencer(self, media_id: str) -> str | None:
        """Return the S3 sequencer (in order form) recorded for ``media_id``, if any."""
        ...

    def record_analysis(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Replace the media item's entries with this analysis.

        Raises ``SupersededError`` when a newer version of the object is recorded.
        """
        ...

    def record_rejection(
        self, location: CatalogLocation, reason: str, detail: str, rejected_at: str
    ) -> None:
        """Mark the media item as rejected, with the reason (same superseding rule)."""
        ...

    def reference_faces(self, media_id: str) -> tuple[str, ...]:
        """Face ids indexed into the collection from this media id."""
        ...

    def remember_reference_faces(
        self, media_id: str, person_id: str, face_ids: Sequence[str]
    ) -> None:
        """Record the face ids just indexed from this media id."""
        ...


class AlertPublisher(Protocol):
    """Announces media that moderation flagged."""

    def announce_flagged(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Publish one alert for the flagged media item."""
        ...


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
        """Return the S3 version id the catalog holds for this media item, if any."""
        ...


class Outbox(Protocol):
    """A queue messages are sent to."""

    def send(self, body: str) -> None:
        """Send one message."""
        ...


class CatalogReader(Protocol):
    """The catalog's read side, as the chatbot queries it."""

    def find(
        self, query: SearchQuery, *, limit: int, cursor: str | None, budget: int
    ) -> SearchPage:
        """Read up to ``limit`` matches after ``cursor``, reading at most ``budget`` pages."""
        ...

    def term_exists(self, kind: SearchKind, value: str) -> bool:
        """Whether any media item carries this term."""
        ...

    def describe(self, media_ids: Sequence[str]) -> dict[str, MediaSummary]:
        """Catalog entries of these media items, by media id (missing ones left out)."""
        ...

    def media(self, media_id: str) -> MediaSummary | None:
        """One media item's catalog entry."""
        ...

    def named(self, file_name: str, *, limit: int) -> tuple[str, ...]:
        """Media ids whose file name is ``file_name``, in any folder, newest first."""
        ...


class LinkSigner(Protocol):
    """Makes short-lived links to stored objects."""

    def link(self, bucket: str, key: str, *, version_id: str | None, expires_s: int) -> str:
        """Make a link that fetches the object version for ``expires_s`` seconds."""
        ...


class RelatedLabelsReader(Protocol):
    """The mined label suggestions ("beach" -> "sea"), as the chatbot reads them."""

    def related(self, label: str) -> tuple[RelatedLabel, ...]:
        """Labels suggested beside ``label``, best first; none when nothing was mined."""
        ...
