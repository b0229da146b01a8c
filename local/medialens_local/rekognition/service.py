"""The local Rekognition's operations, answered by the engines with Rekognition's shapes."""

from __future__ import annotations

from typing import Any

from medialens_local.rekognition.collections import FaceCollections
from medialens_local.rekognition.engines.faces import MODEL_VERSION as FACE_MODEL
from medialens_local.rekognition.engines.faces import Face, describe
from medialens_local.rekognition.engines.labels import MODEL_VERSION as LABEL_MODEL
from medialens_local.rekognition.engines.labels import Prediction
from medialens_local.rekognition.engines.moderation import LABEL as EXPLICIT
from medialens_local.rekognition.engines.moderation import MODEL_VERSION as MODERATION_MODEL
from medialens_local.rekognition.engines.text import MODEL_VERSION as TEXT_MODEL
from medialens_local.rekognition.engines.text import TextPiece
from medialens_local.rekognition.images import (
    MAX_LABELS_DIMENSION,
    LoadedImage,
    ObjectReader,
    bounding_box,
    load_image,
)
from medialens_local.rekognition.inference import Inference
from medialens_local.rekognition.properties import image_properties
from medialens_local.rekognition.protocol import Operation, RekognitionError

REGION = "eu-west-1"
LIST_FACES_PAGE = 1000
"""The local page of ListFaces when the request names no MaxResults (its model allows 4,096)."""
ACCOUNT_ID = "123456789012"


def _face_box(face: Face, image: LoadedImage) -> dict[str, float]:
    return bounding_box(face.left, face.top, face.right, face.bottom, image)


def _geometry(piece: TextPiece, image: LoadedImage) -> dict[str, Any]:
    xs = [x for x, _ in piece.corners]
    ys = [y for _, y in piece.corners]
    return {
        "BoundingBox": bounding_box(min(xs), min(ys), max(xs), max(ys), image),
        "Polygon": [{"X": x / image.width, "Y": y / image.height} for x, y in piece.corners],
    }


def label_document(prediction: Prediction) -> dict[str, Any]:
    """Shape a local prediction as Rekognition's ``Label``."""
    return {
        "Name": prediction.name,
        "Confidence": prediction.confidence,
        "Instances": [],
        "Parents": [{"Name": parent} for parent in prediction.parents],
        "Aliases": [],
        "Categories": [{"Name": prediction.category}],
    }


class LocalRekognition:
    """Rekognition operations over images in the local S3, with in-memory collections."""

    def __init__(self, read_object: ObjectReader, *, cache_inference: bool = False) -> None:
        self._read_object = read_object
        self.collections = FaceCollections()
        self.inference = Inference(cache=cache_inference)

    def operations(self) -> dict[str, Operation]:
        """Operation name -> implementation, as the protocol layer serves them."""
        return {
            "DetectLabels": self.detect_labels,
            "DetectText": self.detect_text,
            "DetectFaces": self.detect_faces,
            "DetectModerationLabels": self.detect_moderation_labels,
            "CreateCollection": self.create_collection,
            "IndexFaces": self.index_faces,
            "SearchFacesByImage": self.search_faces_by_image,
            "SearchFaces": self.search_faces,
            "DeleteFaces": self.delete_faces,
            "ListFaces": self.list_faces,
            "CompareFaces": self.compare_faces,
        }

    def _image(
        self, request: dict[str, Any], field: str = "Image", *, max_dimension: int | None = None
    ) -> LoadedImage:
        if field not in request:
            raise RekognitionError("InvalidParameterException", f"{field} is required")
        return load_image(request[field], self._read_object, max_dimension=max_dimension)

    def detect_labels(self, request: dict[str, Any]) -> dict[str, Any]:
        """DetectLabels: ImageNet labels, Person/Face from the face detector, image properties."""
        image = self._image(request, max_dimension=MAX_LABELS_DIMENSION)
        features = request.get("Features") or ["GENERAL_LABELS"]
        min_confidence = float(request.get("MinConfidence", 55.0))
        response: dict[str, Any] = {"LabelModelVersion": LABEL_MODEL}
        if "GENERAL_LABELS" in features:
            labels = [
                label_document(p)
                for p in self.inference.labels(image, min_confidence=min_confidence)
            ]
            faces = self.inference.faces(image)
            if faces:
                # A face implies a person, but no local model finds people's bodies: the
                # face boxes are Face instances, and Person carries none.
                instances = [
                    {"BoundingBox": _face_box(face, image), "Confidence": face.confidence}
                    for face in faces
                ]
                best = max(face.confidence for face in faces)
                if best >= min_confidence:
                    labels.append(
                        {
                            "Name": "Face",
                            "Confidence": best,
                            "Instances": instances,
                            "Parents": [{"Name": "Person"}],
                            "Aliases": [],
                            "Categories": [{"Name": "Person Description"}],
                        }
                    )
                    labels.append(
                        {
                            "Name": "Person",
                            "Confidence": best,
                            "Instances": [],
                            "Parents": [],
                            "Aliases": [{"Name": "Human"}],
                            "Categories": [{"Name": "Person Description"}],
                        }
                    )
            labels.sort(key=lambda label: -float(label["Confidence"]))
            response["Labels"] = labels[: int(request.get("MaxLabels", 1000))]
        if "IMAGE_PROPERTIES" in features:
            settings = request.get("Settings", {}).get("ImageProperties", {})
            max_colors = int(settings.get("MaxDominantColors", 10))
            response["ImageProperties"] = image_properties(image.pixels, max_colors)
        return response

    def detect_text(self, request: dict[str, Any]) -> dict[str, Any]:
        """DetectText: lines and their words, filtered by WordFilter.MinConfidence."""
        image = self._image(request)
        word_filter = request.get("Filters", {}).get("WordFilter", {})
        min_confidence = float(word_filter.get("MinConfidence", 80.0))  # Rekognition's default
        detections: list[dict[str, Any]] = []
        next_id = 0
        for line in self.inference.text(image):
            if line.line.score * 100 < min_confidence:
                continue
            line_id = next_id
            next_id += 1
            detections.append(
                {
                    "DetectedText": line.line.text,
                    "Type": "LINE",
                    "Id": line_id,
                    "Confidence": line.line.score * 100,
                    "Geometry": _geometry(line.line, image),
                }
            )
            for word in line.words:
                if word.score * 100 < min_confidence:
                    continue
                detections.append(
                    {
                        "DetectedText": word.text,
                        "Type": "WORD",
                        "Id": next_id,
                        "ParentId": line_id,
                        "Confidence": word.score * 100,
                        "Geometry": _geometry(word, image),
                    }
                )
                next_id += 1
        return {"TextDetections": detections, "TextModelVersion": TEXT_MODEL}

    def detect_faces(self, request: dict[str, Any]) -> dict[str, Any]:
        """DetectFaces: boxes, confidence and landmarks (no attributes locally)."""
        image = self._image(request)
        faces = self.inference.faces(image)
        return {"FaceDetails": [describe(face, image.width, image.height) for face in faces]}

    def detect_moderation_labels(self, request: dict[str, Any]) -> dict[str, Any]:
        """DetectModerationLabels: ``Explicit`` from open_nsfw's score."""
        image = self._image(request, max_dimension=MAX_LABELS_DIMENSION)
        confidence = self.inference.explicit_confidence(image)
        labels = []
        if confidence >= float(request.get("MinConfidence", 50.0)):
            labels.append(
                {"Name": EXPLICIT, "ParentName": "", "Confidence": confidence, "TaxonomyLevel": 1}
            )
        return {"ModerationLabels": labels, "ModerationModelVersion": MODERATION_MODEL}

    def create_collection(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateCollection."""
        collection_id = request["CollectionId"]
        self.collections.create(collection_id)
        return {
            "StatusCode": 200,
            "CollectionArn": f"aws:rekognition:{REGION}:{ACCOUNT_ID}:collection/{collection_id}",
            "FaceModelVersion": FACE_MODEL,
        }

    def index_faces(self, request: dict[str, Any]) -> dict[str, Any]:
        """IndexFaces: the largest ``MaxFaces`` faces, the rest unindexed."""
        image = self._image(request)
        faces = self.inference.faces(image)
        limit = int(request.get("MaxFaces", 100))
        kept, dropped = faces[:limit], faces[limit:]
        stored = self.collections.add(
            request["CollectionId"],
            external_image_id=request.get("ExternalImageId"),
            faces=[(_face_box(face, image), face.confidence, face.embedding) for face in kept],
        )
        return {
            "FaceRecords": [
                {"Face": record.describe(), "FaceDetail": describe(face, image.width, image.height)}
                for record, face in zip(stored, kept, strict=True)
            ],
            "FaceModelVersion": FACE_MODEL,
            "UnindexedFaces": [
                {
                    "Reasons": ["EXCEEDS_MAX_FACES"],
                    "FaceDetail": describe(face, image.width, image.height),
                }
                for face in dropped
            ],
        }

    def _largest_face(self, image: LoadedImage) -> Face:
        faces = self.inference.faces(image)
        if not faces:
            raise RekognitionError(
                "InvalidParameterException",
                "There are no faces in the image. Should be at least 1.",
            )
        return faces[0]

    def search_faces_by_image(self, request: dict[str, Any]) -> dict[str, Any]:
        """SearchFacesByImage: the largest face against the collection."""
        image = self._image(request)
        face = self._largest_face(image)
        matches = self.collections.search(
            request["CollectionId"],
            face.embedding,
            threshold=float(request.get("FaceMatchThreshold", 80.0)),
            max_faces=int(request.get("MaxFaces", 4096)),
        )
        return {
            "SearchedFaceBoundingBox": _face_box(face, image),
            "SearchedFaceConfidence": face.confidence,
            "FaceMatches": matches,
            "FaceModelVersion": FACE_MODEL,
        }

    def search_faces(self, request: dict[str, Any]) -> dict[str, Any]:
        """SearchFaces: a stored face against the rest of the collection."""
        stored = self.collections.get(request["CollectionId"], request["FaceId"])
        matches = self.collections.search(
            request["CollectionId"],
            stored.embedding,
            threshold=float(request.get("FaceMatchThreshold", 80.0)),
            max_faces=int(request.get("MaxFaces", 4096)),
            exclude=stored.face_id,
        )
        return {
            "SearchedFaceId": stored.face_id,
            "FaceMatches": matches,
            "FaceModelVersion": FACE_MODEL,
        }

    def delete_faces(self, request: dict[str, Any]) -> dict[str, Any]:
        """DeleteFaces."""
        requested = list(request.get("FaceIds", []))
        deleted = self.collections.delete(request["CollectionId"], requested)
        response: dict[str, Any] = {"DeletedFaces": deleted}
        missing = [face_id for face_id in requested if face_id not in deleted]
        if missing:
            response["UnsuccessfulFaceDeletions"] = [
                {"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]} for face_id in missing
            ]
        return response

    def list_faces(self, request: dict[str, Any]) -> dict[str, Any]:
        """ListFaces: a page of the collection's faces; ``NextToken`` is where the next starts."""
        faces = self.collections.listed(request["CollectionId"])
        start = int(request.get("NextToken") or 0)
        size = int(request.get("MaxResults") or LIST_FACES_PAGE)
        page = faces[start : start + size]
        response: dict[str, Any] = {
            "Faces": [face.describe() for face in page],
            "FaceModelVersion": FACE_MODEL,
        }
        if start + size < len(faces):
            response["NextToken"] = str(start + size)
        return response

    def compare_faces(self, request: dict[str, Any]) -> dict[str, Any]:
        """CompareFaces: the source's largest face against every target face."""
        from medialens_local.rekognition.collections import similarity

        source_image = self._image(request, "SourceImage")
        target_image = self._image(request, "TargetImage")
        source = self._largest_face(source_image)
        threshold = float(request.get("SimilarityThreshold", 80.0))
        matches, unmatched = [], []
        for face in self.inference.faces(target_image):
            score = similarity(float(((face.embedding - source.embedding) ** 2).sum() ** 0.5))
            detail = describe(face, target_image.width, target_image.height)
            if score >= threshold:
                matches.append({"Similarity": score, "Face": detail})
            else:
                unmatched.append(detail)
        return {
            "SourceImageFace": {
                "BoundingBox": _face_box(source, source_image),
                "Confidence": source.confidence,
            },
            "FaceMatches": matches,
            "UnmatchedFaces": unmatched,
        }
