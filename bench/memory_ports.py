"""In-memory ports: the use case's own cost, with every AWS call taken out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medialens.catalog.location import CatalogLocation
from medialens.catalog.writer import analysis_items
from medialens.images.models import (
    Answer,
    BoundingBox,
    Emotion,
    FaceDetail,
    FaceMatch,
    ImageAnalysis,
    ImageProperties,
    IndexedFace,
    Label,
    LabelDetection,
    ModerationLabel,
    TextDetection,
    TextKind,
)
from medialens.images.ports import ImagePorts
from medialens.shared.media import ImageRef, MediaObject

from tests.support import rekognition as answers
from tests.support.images import jpeg_bytes

BOX = BoundingBox(0.1, 0.2, 0.3, 0.4)


class MemoryRecognizer:
    """Answers as Rekognition would, from prebuilt findings and documented responses."""

    def detect_labels(
        self, image: ImageRef, *, min_confidence: float, max_labels: int, image_properties: bool
    ) -> Answer[LabelDetection]:
        labels = (Label("Dog", 97.5, parents=("Animal",), instances=(BOX,)), Label("Beach", 91.0))
        found = LabelDetection(labels, ImageProperties(74.0, 86.0, 61.0))
        return Answer("DetectLabels", found, answers.labels_response(("Dog", 97.5)))

    def detect_text(
        self, image: ImageRef, *, min_confidence: float
    ) -> Answer[tuple[TextDetection, ...]]:
        words = tuple(TextDetection(w, TextKind.WORD, 98.0, BOX) for w in ("INVOICE", "42", "PAID"))
        found = (TextDetection("INVOICE 42 PAID", TextKind.LINE, 99.0, BOX), *words)
        return Answer("DetectText", found, answers.text_response("INVOICE 42 PAID"))

    def detect_faces(self, image: ImageRef) -> Answer[tuple[FaceDetail, ...]]:
        face = FaceDetail(BOX, 99.9, 26, 34, "Female", (Emotion("HAPPY", 93.0),), {"Smile": True})
        return Answer("DetectFaces", (face,), answers.faces_response(1))

    def detect_moderation_labels(
        self, image: ImageRef, *, min_confidence: float
    ) -> Answer[tuple[ModerationLabel, ...]]:
        return Answer("DetectModerationLabels", (), answers.moderation_response())

    def detect_custom_labels(
        self, image: ImageRef, *, project_version_arn: str, min_confidence: float
    ) -> Answer[tuple[Label, ...]]:
        return Answer("DetectCustomLabels", (), {"CustomLabels": []})

    def index_faces(
        self, image: ImageRef, *, collection_id: str, external_id: str, max_faces: int
    ) -> Answer[tuple[IndexedFace, ...]]:
        found = (IndexedFace(external_id, "face-1", 99.0),)
        return Answer("IndexFaces", found, answers.index_response(external_id))

    def search_faces_by_image(
        self, image: ImageRef, *, collection_id: str, threshold: float, max_faces: int
    ) -> Answer[tuple[FaceMatch, ...]]:
        found = (FaceMatch("alice", "face-1", 99.1),)
        return Answer("SearchFacesByImage", found, answers.search_response(("alice", 99.1)))

    def search_faces(
        self, *, collection_id: str, face_id: str, threshold: float, max_faces: int
    ) -> Answer[tuple[FaceMatch, ...]]:
        return Answer("SearchFaces", (), answers.search_faces_response(face_id))

    def delete_faces(self, *, collection_id: str, face_ids: Sequence[str]) -> None:
        return None


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

    def recorded_sequencer(self, media_id: str) -> str | None:
        return None

    def record_analysis(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        self.items[location.media_id] = analysis_items(analysis, location)

    def record_rejection(
        self, location: CatalogLocation, reason: str, detail: str, rejected_at: str
    ) -> None:
        self.items[location.media_id] = [{"status": "REJECTED", "reason": reason}]

    def reference_faces(self, media_id: str) -> tuple[str, ...]:
        return ()

    def remember_reference_faces(
        self, media_id: str, person_id: str, face_ids: Sequence[str]
    ) -> None:
        return None

    def forget_reference_faces(self, media_id: str) -> None:
        return None


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
