"""Amazon Rekognition image operations, answered as domain models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from medialens.adapters.aws import rekognition_client
from medialens.errors import FeatureUnavailableError, RejectedMediaError
from medialens.models.analysis import (
    BoundingBox,
    DominantColor,
    Emotion,
    FaceDetail,
    FaceMatch,
    ImageProperties,
    IndexedFace,
    Label,
    ModerationLabel,
    TextDetection,
    TextKind,
)
from medialens.models.media import BytesImageRef, ImageRef

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

T = TypeVar("T")

REJECTING_ERRORS = {
    "InvalidImageFormatException": "invalid_image_format",
    "ImageTooLargeException": "image_too_large",
    "InvalidS3ObjectException": "unreadable_object",
}
"""Errors that say the image itself is unusable: recorded as rejections, never retried."""

UNAVAILABLE_CUSTOM_MODEL_ERRORS = {"ResourceNotReadyException", "ResourceNotFoundException"}

FACE_BOOLEAN_ATTRIBUTES = (
    "Smile",
    "Eyeglasses",
    "Sunglasses",
    "Beard",
    "Mustache",
    "EyesOpen",
    "MouthOpen",
    "FaceOccluded",
)

MAX_DOMINANT_COLORS = 5


def image_parameter(image: ImageRef) -> dict[str, Any]:
    """Build Rekognition's ``Image`` parameter.

    Parameters
    ----------
    image : ImageRef
        An S3 reference (Rekognition reads the object itself) or raw bytes.

    Returns
    -------
    dict[str, Any]
        ``{"S3Object": {...}}`` or ``{"Bytes": ...}``.
    """
    if isinstance(image, BytesImageRef):
        return {"Bytes": image.data}
    s3_object: dict[str, str] = {"Bucket": image.bucket, "Name": image.key}
    if image.version_id:
        s3_object["Version"] = image.version_id
    return {"S3Object": s3_object}


def _box(raw: Mapping[str, Any] | None) -> BoundingBox | None:
    if not raw:
        return None
    return BoundingBox(
        left=float(raw.get("Left", 0.0)),
        top=float(raw.get("Top", 0.0)),
        width=float(raw.get("Width", 0.0)),
        height=float(raw.get("Height", 0.0)),
    )


def _names(items: list[Mapping[str, Any]] | None) -> tuple[str, ...]:
    return tuple(str(item["Name"]) for item in items or ())


def _label(raw: Mapping[str, Any], source: str = "rekognition") -> Label:
    boxes = (_box(instance.get("BoundingBox")) for instance in raw.get("Instances", ()))
    geometry_box = _box((raw.get("Geometry") or {}).get("BoundingBox"))
    instances = tuple(box for box in (*boxes, geometry_box) if box is not None)
    return Label(
        name=str(raw["Name"]),
        confidence=float(raw["Confidence"]),
        parents=_names(raw.get("Parents")),
        categories=_names(raw.get("Categories")),
        aliases=_names(raw.get("Aliases")),
        instances=instances,
        source=source,
    )


def _image_properties(raw: Mapping[str, Any] | None) -> ImageProperties | None:
    if not raw:
        return None
    quality = raw.get("Quality", {})
    colors = tuple(
        DominantColor(
            hex_code=str(color.get("HexCode", "")),
            simplified=str(color.get("SimplifiedColor", "")),
            pixel_percent=float(color.get("PixelPercent", 0.0)),
        )
        for color in raw.get("DominantColors", ())
    )
    return ImageProperties(
        brightness=quality.get("Brightness"),
        sharpness=quality.get("Sharpness"),
        contrast=quality.get("Contrast"),
        dominant_colors=colors,
    )


def _face(raw: Mapping[str, Any]) -> FaceDetail:
    age = raw.get("AgeRange") or {}
    attributes = {name: bool(raw[name]["Value"]) for name in FACE_BOOLEAN_ATTRIBUTES if name in raw}
    return FaceDetail(
        box=_box(raw.get("BoundingBox")) or BoundingBox(0.0, 0.0, 0.0, 0.0),
        confidence=float(raw.get("Confidence", 0.0)),
        age_low=age.get("Low"),
        age_high=age.get("High"),
        gender=(raw.get("Gender") or {}).get("Value"),
        emotions=tuple(
            Emotion(kind=str(emotion["Type"]), confidence=float(emotion["Confidence"]))
            for emotion in raw.get("Emotions", ())
        ),
        attributes=attributes,
    )


class RekognitionImageAdapter:
    """Calls Rekognition's image APIs and translates its answers and refusals.

    Parameters
    ----------
    client : RekognitionClient, optional
        Injected client (tests pass a stubbed one); the shared retrying client otherwise.
    """

    def __init__(self, client: RekognitionClient | None = None) -> None:
        self._client = client or rekognition_client()

    def _call(self, operation: Callable[..., T], **params: Any) -> T:
        try:
            return operation(**params)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in REJECTING_ERRORS:
                message = error.response.get("Error", {}).get("Message", code)
                raise RejectedMediaError(REJECTING_ERRORS[code], message) from error
            raise

    def detect_labels(
        self, image: ImageRef, *, min_confidence: float, max_labels: int, image_properties: bool
    ) -> tuple[list[Label], ImageProperties | None]:
        """DetectLabels with GENERAL_LABELS and, when asked, IMAGE_PROPERTIES.

        Returns
        -------
        tuple[list[Label], ImageProperties | None]
        """
        params: dict[str, Any] = {
            "Image": image_parameter(image),
            "MaxLabels": max_labels,
            "MinConfidence": min_confidence,
            "Features": ["GENERAL_LABELS"],
        }
        if image_properties:
            params["Features"].append("IMAGE_PROPERTIES")
            params["Settings"] = {"ImageProperties": {"MaxDominantColors": MAX_DOMINANT_COLORS}}
        response = self._call(self._client.detect_labels, **params)
        labels = [_label(raw) for raw in response.get("Labels", [])]
        return labels, _image_properties(response.get("ImageProperties"))

    def detect_text(self, image: ImageRef, *, min_confidence: float) -> list[TextDetection]:
        """DetectText, keeping lines and words at or above ``min_confidence``."""
        response = self._call(
            self._client.detect_text,
            Image=image_parameter(image),
            Filters={"WordFilter": {"MinConfidence": min_confidence}},
        )
        return [
            TextDetection(
                text=str(raw["DetectedText"]),
                kind=TextKind(raw["Type"]),
                confidence=float(raw["Confidence"]),
                box=_box((raw.get("Geometry") or {}).get("BoundingBox")),
            )
            for raw in response.get("TextDetections", [])
            if raw.get("Type") in TextKind.__members__
        ]

    def detect_faces(self, image: ImageRef) -> list[FaceDetail]:
        """DetectFaces with ``Attributes=["ALL"]`` (emotions, age range, ...)."""
        response = self._call(
            self._client.detect_faces, Image=image_parameter(image), Attributes=["ALL"]
        )
        return [_face(raw) for raw in response.get("FaceDetails", [])]

    def detect_moderation_labels(
        self, image: ImageRef, *, min_confidence: float
    ) -> list[ModerationLabel]:
        """DetectModerationLabels."""
        response = self._call(
            self._client.detect_moderation_labels,
            Image=image_parameter(image),
            MinConfidence=min_confidence,
        )
        return [
            ModerationLabel(
                name=str(raw["Name"]),
                parent=raw.get("ParentName") or None,
                confidence=float(raw["Confidence"]),
                taxonomy_level=raw.get("TaxonomyLevel"),
            )
            for raw in response.get("ModerationLabels", [])
        ]

    def detect_custom_labels(
        self, image: ImageRef, *, project_version_arn: str, min_confidence: float
    ) -> list[Label]:
        """DetectCustomLabels.

        Raises
        ------
        FeatureUnavailableError
            When the project version is not running or does not exist.
        """
        try:
            response = self._call(
                self._client.detect_custom_labels,
                ProjectVersionArn=project_version_arn,
                Image=image_parameter(image),
                MinConfidence=min_confidence,
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in UNAVAILABLE_CUSTOM_MODEL_ERRORS:
                raise FeatureUnavailableError(
                    f"Custom Labels model {project_version_arn} is not available ({code})"
                ) from error
            raise
        return [_label(raw, source="custom") for raw in response.get("CustomLabels", [])]

    def index_faces(
        self, image: ImageRef, *, collection_id: str, person_id: str
    ) -> list[IndexedFace]:
        """IndexFaces: add the largest good-quality face as a reference of ``person_id``."""
        response = self._call(
            self._client.index_faces,
            CollectionId=collection_id,
            Image=image_parameter(image),
            ExternalImageId=person_id,
            DetectionAttributes=["DEFAULT"],
            MaxFaces=1,
            QualityFilter="AUTO",
        )
        return [
            IndexedFace(
                person_id=str(record["Face"].get("ExternalImageId", person_id)),
                face_id=str(record["Face"]["FaceId"]),
                confidence=float(record["Face"].get("Confidence", 0.0)),
            )
            for record in response.get("FaceRecords", [])
        ]

    def search_faces(
        self, image: ImageRef, *, collection_id: str, threshold: float, max_faces: int
    ) -> list[FaceMatch]:
        """SearchFacesByImage: who, of the collection, is the largest face in the image.

        An image without a face answers an empty list (Rekognition raises
        InvalidParameterException for it).
        """
        try:
            response = self._call(
                self._client.search_faces_by_image,
                CollectionId=collection_id,
                Image=image_parameter(image),
                FaceMatchThreshold=threshold,
                MaxFaces=max_faces,
                QualityFilter="AUTO",
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            if (
                details.get("Code") == "InvalidParameterException"
                and "face" in str(details.get("Message", "")).lower()
            ):
                return []
            raise
        return [
            FaceMatch(
                person_id=str(match["Face"]["ExternalImageId"]),
                face_id=str(match["Face"]["FaceId"]),
                similarity=float(match["Similarity"]),
            )
            for match in response.get("FaceMatches", [])
            if match.get("Face", {}).get("ExternalImageId")
        ]
