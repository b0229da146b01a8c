"""What the image use cases need from the outside world, as structural interfaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from medialens.catalog.location import CatalogLocation
from medialens.images.models import (
    Answer,
    FaceDetail,
    FaceMatch,
    ImageAnalysis,
    IndexedFace,
    Label,
    LabelDetection,
    ModerationLabel,
    SuggestedLabel,
    TextDetection,
)
from medialens.shared.media import ImageRef
from medialens.shared.ports import MediaStore


@dataclass(frozen=True, slots=True)
class ImagePorts:
    """The adapters an image use case talks to."""

    recognizer: ImageRecognizer
    store: MediaStore
    catalog: Catalog
    alerts: AlertPublisher
    suggester: LabelSuggester | None = None
    """The endpoint that suggests labels for each new image; ``None`` when not hosted."""


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


class FaceDeleter(Protocol):
    """Takes faces out of a collection."""

    def delete_faces(self, *, collection_id: str, face_ids: Sequence[str]) -> None:
        """DeleteFaces."""
        ...


class ReferenceFaces(Protocol):
    """The catalog's record of the faces each reference file put in the collection."""

    def reference_faces(self, media_id: str) -> tuple[str, ...]:
        """Face ids indexed into the collection from this media id."""
        ...

    def forget_reference_faces(self, media_id: str) -> None:
        """Drop the record of this media id's indexed faces (once they are deleted)."""
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

    def forget_reference_faces(self, media_id: str) -> None:
        """Drop the record of this media id's indexed faces (once they are deleted)."""
        ...


class AlertPublisher(Protocol):
    """Announces media that moderation flagged."""

    def announce_flagged(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Publish one alert for the flagged media item."""
        ...


class LabelSuggester(Protocol):
    """The label suggester's real-time endpoint (SageMaker hosting)."""

    def suggest(self, labels: Sequence[Label]) -> tuple[SuggestedLabel, ...]:
        """Labels the image probably also shows, best first.

        Raises ``SuggestionsUnavailableError`` with the reason when the endpoint gives no
        usable answer (missing, cold, throttled, failing, timed out).
        """
        ...
