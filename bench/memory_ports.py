"""In-memory ports: the use case's own cost, with every AWS call taken out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medialens.adapters.catalog import analysis_items
from medialens.domain.analyze_image import ImagePorts
from medialens.models.analysis import (
    BoundingBox,
    Emotion,
    FaceDetail,
    FaceMatch,
    ImageAnalysis,
    ImageProperties,
    IndexedFace,
    Label,
    ModerationLabel,
    TextDetection,
    TextKind,
)
from medialens.models.catalog import CatalogLocation
from medialens.models.media import ImageRef, MediaObject

from tests.support.images import jpeg_bytes

BOX = BoundingBox(0.1, 0.2, 0.3, 0.4)


class MemoryRecognizer:
    def detect_labels(
        self, image: ImageRef, *, min_confidence: float, max_labels: int, image_properties: bool
    ) -> tuple[list[Label], ImageProperties | None]:
        labels = [Label("Dog", 97.5, parents=("Animal",), instances=(BOX,)), Label("Beach", 91.0)]
        return labels, ImageProperties(74.0, 86.0, 61.0)

    def detect_text(self, image: ImageRef, *, min_confidence: float) -> list[TextDetection]:
        words = [TextDetection(w, TextKind.WORD, 98.0, BOX) for w in ("INVOICE", "42", "PAID")]
        return [TextDetection("INVOICE 42 PAID", TextKind.LINE, 99.0, BOX), *words]

    def detect_faces(self, image: ImageRef) -> list[FaceDetail]:
        return [FaceDetail(BOX, 99.9, 26, 34, "Female", (Emotion("HAPPY", 93.0),), {"Smile": True})]

    def detect_moderation_labels(
        self, image: ImageRef, *, min_confidence: float
    ) -> list[ModerationLabel]:
        return []

    def detect_custom_labels(
        self, image: ImageRef, *, project_version_arn: str, min_confidence: float
    ) -> list[Label]:
        return []

    def index_faces(
        self, image: ImageRef, *, collection_id: str, person_id: str
    ) -> list[IndexedFace]:
        return [IndexedFace(person_id, "face-1", 99.0)]

    def search_faces(
        self, image: ImageRef, *, collection_id: str, threshold: float, max_faces: int
    ) -> list[FaceMatch]:
        return [FaceMatch("alice", "face-1", 99.1)]


class MemoryStore:
    def __init__(self) -> None:
        self.documents: dict[str, Mapping[str, Any]] = {}

    def read_head(self, media: MediaObject, length: int) -> bytes:
        return jpeg_bytes()[:length]

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        self.documents[key] = document


class MemoryCatalog:
    """Builds the same DynamoDB items the real catalog writes, and keeps them."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {}

    def record_analysis(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        self.items[location.media_id] = analysis_items(analysis, location)

    def record_rejection(
        self, location: CatalogLocation, reason: str, detail: str, rejected_at: str
    ) -> None:
        self.items[location.media_id] = [{"status": "REJECTED", "reason": reason}]


class MemoryAlerts:
    def announce_flagged(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        return None


def memory_ports() -> ImagePorts:
    return ImagePorts(
        recognizer=MemoryRecognizer(),
        store=MemoryStore(),
        catalog=MemoryCatalog(),
        alerts=MemoryAlerts(),
    )
