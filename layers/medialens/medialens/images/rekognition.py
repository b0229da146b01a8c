"""Amazon Rekognition image operations, answered as domain models."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from medialens.images.image_format import MIN_IMAGE_DIMENSION
from medialens.images.models import (
    Answer,
    BoundingBox,
    DominantColor,
    Emotion,
    FaceDetail,
    FaceMatch,
    ImageProperties,
    IndexedFace,
    Label,
    LabelDetection,
    ModerationLabel,
    TextDetection,
    TextKind,
)
from medialens.shared.aws import rekognition_client
from medialens.shared.errors import FeatureUnavailableError, RejectedMediaError
from medialens.shared.media import BytesImageRef, ImageRef

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

REJECTING_ERRORS = {
    "InvalidImageFormatException": "invalid_image_format",
    "ImageTooLargeException": "image_too_large",
}
"""Errors that say the image itself is unusable: recorded as rejections, never retried.

``InvalidS3ObjectException`` is deliberately absent: Rekognition also answers it for
missing permissions, KMS keys and region mix-ups, which retries and the failure queue
must surface instead of quietly marking every image rejected."""

INVALID_IMAGE_PARAMETERS = "invalid_image_parameters"
"""The reason recorded when an image operation answers ``InvalidParameterException``.

Rekognition answers it, with the bare message "Request has invalid parameters", for an
image under 80 pixels in either dimension (Set quotas,
https://docs.aws.amazon.com/rekognition/latest/dg/limits.html). The analysis rejects
such an image from its header first (``image_format.check_dimensions``); this catches a
JPEG whose frame header lies past the bytes read. The requests' own parameters are held
to botocore's model by the adapter's tests, so on an image call the image is what is
left; retrying would only redeliver it to the dead-letter queue."""

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
MAX_FACES_PER_DELETE = 4096

LIST_FACES_PAGE = 4096
"""ListFaces' largest MaxResults (its API model: 0 to 4,096)."""


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


def _invalid_image(details: Mapping[str, Any]) -> str:
    message = str(details.get("Message") or "InvalidParameterException")
    return (
        f"Rekognition answered InvalidParameterException for the image: {message} (the "
        f"documented cause is a side under {MIN_IMAGE_DIMENSION} pixels, "
        "https://docs.aws.amazon.com/rekognition/latest/dg/limits.html)"
    )


def _box(raw: Mapping[str, Any] | None) -> BoundingBox | None:
    if not raw:
        return None
    return BoundingBox(
        left=float(raw.get("Left", 0.0)),
        top=float(raw.get("Top", 0.0)),
        width=float(raw.get("Width", 0.0)),
        height=float(raw.get("Height", 0.0)),
    )


def _match(raw: Mapping[str, Any]) -> FaceMatch:
    return FaceMatch(
        person_id=str(raw["Face"]["ExternalImageId"]),
        face_id=str(raw["Face"]["FaceId"]),
        similarity=float(raw["Similarity"]),
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

    Every method returns an :class:`Answer`: the typed findings plus the whole
    response, which the results document keeps.

    Parameters
    ----------
    client : RekognitionClient, optional
        Injected client (tests pass a stubbed one); the shared retrying client otherwise.
    """

    def __init__(self, client: RekognitionClient | None = None) -> None:
        self._client = client or rekognition_client()

    def _call(self, operation: Callable[..., Any], **params: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = dict(operation(**params))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in REJECTING_ERRORS:
                message = error.response.get("Error", {}).get("Message", code)
                raise RejectedMediaError(REJECTING_ERRORS[code], message) from error
            raise
        response.pop("ResponseMetadata", None)
        return response

    def _image_call(self, operation: Callable[..., Any], **params: Any) -> dict[str, Any]:
        """:meth:`_call` for an operation on one image, whose invalid parameter is the image."""
        try:
            return self._call(operation, **params)
        except ClientError as error:
            details = error.response.get("Error", {})
            if details.get("Code") != "InvalidParameterException":
                raise
            raise RejectedMediaError(INVALID_IMAGE_PARAMETERS, _invalid_image(details)) from error

    def detect_labels(
        self, image: ImageRef, *, min_confidence: float, max_labels: int, image_properties: bool
    ) -> Answer[LabelDetection]:
        """DetectLabels with GENERAL_LABELS and, when asked, IMAGE_PROPERTIES."""
        params: dict[str, Any] = {
            "Image": image_parameter(image),
            "MaxLabels": max_labels,
            "MinConfidence": min_confidence,
            "Features": ["GENERAL_LABELS"],
        }
        if image_properties:
            params["Features"].append("IMAGE_PROPERTIES")
            params["Settings"] = {"ImageProperties": {"MaxDominantColors": MAX_DOMINANT_COLORS}}
        response = self._image_call(self._client.detect_labels, **params)
        found = LabelDetection(
            labels=tuple(_label(raw) for raw in response.get("Labels", [])),
            image_properties=_image_properties(response.get("ImageProperties")),
        )
        return Answer("DetectLabels", found, response)

    def detect_text(
        self, image: ImageRef, *, min_confidence: float
    ) -> Answer[tuple[TextDetection, ...]]:
        """DetectText, keeping lines and words at or above ``min_confidence``."""
        response = self._image_call(
            self._client.detect_text,
            Image=image_parameter(image),
            Filters={"WordFilter": {"MinConfidence": min_confidence}},
        )
        found = tuple(
            TextDetection(
                text=str(raw["DetectedText"]),
                kind=TextKind(raw["Type"]),
                confidence=float(raw["Confidence"]),
                box=_box((raw.get("Geometry") or {}).get("BoundingBox")),
            )
            for raw in response.get("TextDetections", [])
            if raw.get("Type") in TextKind.__members__
        )
        return Answer("DetectText", found, response)

    def detect_faces(self, image: ImageRef) -> Answer[tuple[FaceDetail, ...]]:
        """DetectFaces with ``Attributes=["ALL"]`` (emotions, age range, ...)."""
        response = self._image_call(
            self._client.detect_faces, Image=image_parameter(image), Attributes=["ALL"]
        )
        found = tuple(_face(raw) for raw in response.get("FaceDetails", []))
        return Answer("DetectFaces", found, response)

    def detect_moderation_labels(
        self, image: ImageRef, *, min_confidence: float
    ) -> Answer[tuple[ModerationLabel, ...]]:
        """DetectModerationLabels."""
        response = self._image_call(
            self._client.detect_moderation_labels,
            Image=image_parameter(image),
            MinConfidence=min_confidence,
        )
        found = tuple(
            ModerationLabel(
                name=str(raw["Name"]),
                parent=raw.get("ParentName") or None,
                confidence=float(raw["Confidence"]),
                taxonomy_level=raw.get("TaxonomyLevel"),
            )
            for raw in response.get("ModerationLabels", [])
        )
        return Answer("DetectModerationLabels", found, response)

    def detect_custom_labels(
        self, image: ImageRef, *, project_version_arn: str, min_confidence: float
    ) -> Answer[tuple[Label, ...]]:
        """DetectCustomLabels.

        Raises
        ------
        FeatureUnavailableError
            When the project version is not running or does not exist.
        """
        try:
            response = self._image_call(
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
        found = tuple(_label(raw, source="custom") for raw in response.get("CustomLabels", []))
        return Answer("DetectCustomLabels", found, response)

    def index_faces(
        self, image: ImageRef, *, collection_id: str, external_id: str, max_faces: int
    ) -> Answer[tuple[IndexedFace, ...]]:
        """IndexFaces: add up to ``max_faces`` of the largest good faces under ``external_id``."""
        response = self._image_call(
            self._client.index_faces,
            CollectionId=collection_id,
            Image=image_parameter(image),
            ExternalImageId=external_id,
            DetectionAttributes=["DEFAULT"],
            MaxFaces=max_faces,
            QualityFilter="AUTO",
        )
        found = tuple(
            IndexedFace(
                person_id=str(record["Face"].get("ExternalImageId", external_id)),
                face_id=str(record["Face"]["FaceId"]),
                confidence=float(record["Face"].get("Confidence", 0.0)),
            )
            for record in response.get("FaceRecords", [])
        )
        return Answer("IndexFaces", found, response)

    def search_faces_by_image(
        self, image: ImageRef, *, collection_id: str, threshold: float, max_faces: int
    ) -> Answer[tuple[FaceMatch, ...]]:
        """SearchFacesByImage: who, of the collection, is the largest face in the image.

        An image without a face answers no match (Rekognition raises
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
            message = str(details.get("Message", ""))
            if details.get("Code") != "InvalidParameterException":
                raise
            if "face" in message.lower():
                return Answer("SearchFacesByImage", (), {"FaceMatches": [], "Note": message})
            raise RejectedMediaError(INVALID_IMAGE_PARAMETERS, _invalid_image(details)) from error
        found = tuple(
            _match(raw)
            for raw in response.get("FaceMatches", [])
            if raw.get("Face", {}).get("ExternalImageId")
        )
        return Answer("SearchFacesByImage", found, response)

    def search_faces(
        self, *, collection_id: str, face_id: str, threshold: float, max_faces: int
    ) -> Answer[tuple[FaceMatch, ...]]:
        """SearchFaces: who, of the collection, matches a face already in it."""
        response = self._call(
            self._client.search_faces,
            CollectionId=collection_id,
            FaceId=face_id,
            FaceMatchThreshold=threshold,
            MaxFaces=max_faces,
        )
        found = tuple(
            _match(raw)
            for raw in response.get("FaceMatches", [])
            if raw.get("Face", {}).get("ExternalImageId")
        )
        return Answer("SearchFaces", found, response)

    def faces_of(self, *, collection_id: str, external_id: str) -> list[str]:
        """Face ids of the collection indexed under ``external_id`` (ListFaces, every page).

        ListFaces filters by face or user id only, so the whole collection is read.
        """
        found: list[str] = []
        params: dict[str, Any] = {"CollectionId": collection_id, "MaxResults": LIST_FACES_PAGE}
        while True:
            response = self._call(self._client.list_faces, **params)
            found += [
                str(face["FaceId"])
                for face in response.get("Faces", [])
                if face.get("ExternalImageId") == external_id
            ]
            if not response.get("NextToken"):
                return found
            params["NextToken"] = response["NextToken"]

    def delete_faces(self, *, collection_id: str, face_ids: Sequence[str]) -> None:
        """DeleteFaces (at most 4096 per call, Rekognition's limit)."""
        for start in range(0, len(face_ids), MAX_FACES_PER_DELETE):
            self._call(
                self._client.delete_faces,
                CollectionId=collection_id,
                FaceIds=list(face_ids[start : start + MAX_FACES_PER_DELETE]),
            )
