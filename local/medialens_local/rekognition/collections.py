"""Face collections: indexed faces with their embeddings, searched by distance."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import numpy as np

from medialens_local.rekognition.protocol import RekognitionError

MATCH_DISTANCE = 0.6
"""dlib's documented threshold: embeddings of one person lie closer than this."""


def similarity(distance: float) -> float:
    """Map an embedding distance to Rekognition's 0-100 similarity.

    Linear in two pieces so that dlib's 0.6 same-person threshold lands at 90: the
    template's default FaceMatchThreshold then means what dlib's authors recommend.
    """
    if distance <= MATCH_DISTANCE:
        return 100.0 - distance / MATCH_DISTANCE * 10.0
    return max(0.0, 90.0 - (distance - MATCH_DISTANCE) / MATCH_DISTANCE * 90.0)


@dataclass
class StoredFace:
    """A face in a collection, with the embedding searches compare against."""

    face_id: str
    image_id: str
    external_image_id: str | None
    bounding_box: dict[str, float]
    confidence: float
    embedding: np.ndarray

    def describe(self) -> dict[str, object]:
        """Rekognition's ``Face`` shape."""
        face: dict[str, object] = {
            "FaceId": self.face_id,
            "BoundingBox": self.bounding_box,
            "ImageId": self.image_id,
            "Confidence": self.confidence,
        }
        if self.external_image_id:
            face["ExternalImageId"] = self.external_image_id
        return face


@dataclass
class FaceCollections:
    """All collections of the local service, safe to use from its request threads."""

    collections: dict[str, dict[str, StoredFace]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, collection_id: str) -> None:
        """CreateCollection."""
        with self.lock:
            if collection_id in self.collections:
                raise RekognitionError(
                    "ResourceAlreadyExistsException", f"collection {collection_id} exists"
                )
            self.collections[collection_id] = {}

    def _faces(self, collection_id: str) -> dict[str, StoredFace]:
        if collection_id not in self.collections:
            raise RekognitionError(
                "ResourceNotFoundException", f"collection {collection_id} not found"
            )
        return self.collections[collection_id]

    def add(
        self,
        collection_id: str,
        *,
        external_image_id: str | None,
        faces: list[tuple[dict[str, float], float, np.ndarray]],
    ) -> list[StoredFace]:
        """Store faces of one image (IndexFaces)."""
        image_id = str(uuid.uuid4())
        stored = [
            StoredFace(str(uuid.uuid4()), image_id, external_image_id, box, confidence, vector)
            for box, confidence, vector in faces
        ]
        with self.lock:
            target = self._faces(collection_id)
            for face in stored:
                target[face.face_id] = face
        return stored

    def delete(self, collection_id: str, face_ids: list[str]) -> list[str]:
        """DeleteFaces; answers the ids that existed."""
        with self.lock:
            target = self._faces(collection_id)
            return [face_id for face_id in face_ids if target.pop(face_id, None) is not None]

    def listed(self, collection_id: str) -> list[StoredFace]:
        """Every face of the collection, in a stable order (ListFaces pages through it)."""
        with self.lock:
            return sorted(self._faces(collection_id).values(), key=lambda face: face.face_id)

    def get(self, collection_id: str, face_id: str) -> StoredFace:
        """One stored face, or InvalidParameterException."""
        with self.lock:
            face = self._faces(collection_id).get(face_id)
        if face is None:
            raise RekognitionError("InvalidParameterException", f"face {face_id} not found")
        return face

    def search(
        self,
        collection_id: str,
        embedding: np.ndarray,
        *,
        threshold: float,
        max_faces: int,
        exclude: str | None = None,
    ) -> list[dict[str, object]]:
        """FaceMatches at or above ``threshold``, most similar first."""
        with self.lock:
            candidates = [f for f in self._faces(collection_id).values() if f.face_id != exclude]
        matches = []
        for face in candidates:
            score = similarity(float(np.linalg.norm(face.embedding - embedding)))
            if score >= threshold:
                matches.append({"Similarity": score, "Face": face.describe()})
        matches.sort(key=lambda match: -float(match["Similarity"]))  # type: ignore[arg-type]
        return matches[:max_faces]
