"""What the use cases need from the outside world, as structural interfaces.

Adapters in :mod:`medialens.adapters` implement these with boto3; tests may pass
anything with the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from medialens.models.analysis import (
    FaceDetail,
    FaceMatch,
    ImageAnalysis,
    ImageProperties,
    IndexedFace,
    Label,
    ModerationLabel,
    TextDetection,
)
from medialens.models.catalog import CatalogLocation
from medialens.models.media import ImageRef, MediaObject


class ImageRecognizer(Protocol):
    """Rekognition's image operations, returning domain models."""

    def detect_labels(
        self, image: ImageRef, *, min_confidence: float, max_labels: int, image_properties: bool
    ) -> tuple[list[Label], ImageProperties | None]:
        """DetectLabels with GENERAL_LABELS and optionally IMAGE_PROPERTIES."""
        ...

    def detect_text(self, image: ImageRef, *, min_confidence: float) -> list[TextDetection]:
        """DetectText."""
        ...

    def detect_faces(self, image: ImageRef) -> list[FaceDetail]:
        """DetectFaces with all attributes."""
        ...

    def detect_moderation_labels(
        self, image: ImageRef, *, min_confidence: float
    ) -> list[ModerationLabel]:
        """DetectModerationLabels."""
        ...

    def detect_custom_labels(
        self, image: ImageRef, *, project_version_arn: str, min_confidence: float
    ) -> list[Label]:
        """DetectCustomLabels against a running project version."""
        ...

    def index_faces(
        self, image: ImageRef, *, collection_id: str, person_id: str
    ) -> list[IndexedFace]:
        """IndexFaces with ExternalImageId set to the person id."""
        ...

    def search_faces(
        self, image: ImageRef, *, collection_id: str, threshold: float, max_faces: int
    ) -> list[FaceMatch]:
        """SearchFacesByImage (Rekognition searches the largest face of the image)."""
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

    def record_analysis(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Replace the media item's entries with this analysis."""
        ...

    def record_rejection(
        self, location: CatalogLocation, reason: str, detail: str, rejected_at: str
    ) -> None:
        """Mark the media item as rejected, with the reason."""
        ...


class AlertPublisher(Protocol):
    """Announces media that moderation flagged."""

    def announce_flagged(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Publish one alert for the flagged media item."""
        ...
