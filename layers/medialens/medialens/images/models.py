"""Analysis results: Rekognition's answers reduced to what medialens keeps."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from medialens.catalog.terms import normalize_word

T = TypeVar("T")


def to_plain(value: Any) -> Any:
    """Convert dataclasses, tuples and enums to JSON-ready dicts, lists and strings.

    ``dataclasses.asdict`` deep-copies every leaf; on an analysis with faces and
    labels that alone took over 1 ms per image, more than the rest of the handler.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Box as ratios of the image width and height, as Rekognition reports it."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Label:
    """An object, scene or concept found in the image."""

    name: str
    confidence: float
    parents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    instances: tuple[BoundingBox, ...] = ()
    source: str = "rekognition"


@dataclass(frozen=True, slots=True)
class DominantColor:
    """A dominant colour of the image."""

    hex_code: str
    simplified: str
    pixel_percent: float


@dataclass(frozen=True, slots=True)
class ImageProperties:
    """Quality and colours of the whole image (DetectLabels IMAGE_PROPERTIES)."""

    brightness: float | None
    sharpness: float | None
    contrast: float | None
    dominant_colors: tuple[DominantColor, ...] = ()


class TextKind(StrEnum):
    """Rekognition returns each line and each word of text."""

    LINE = "LINE"
    WORD = "WORD"


@dataclass(frozen=True, slots=True)
class TextDetection:
    """A line or word of text found in the image."""

    text: str
    kind: TextKind
    confidence: float
    box: BoundingBox | None = None


@dataclass(frozen=True, slots=True)
class Emotion:
    """One of the emotions Rekognition scores for a face."""

    kind: str
    confidence: float


@dataclass(frozen=True, slots=True)
class FaceDetail:
    """A face and its attributes (DetectFaces with Attributes=ALL)."""

    box: BoundingBox
    confidence: float
    age_low: int | None = None
    age_high: int | None = None
    gender: str | None = None
    emotions: tuple[Emotion, ...] = ()
    attributes: dict[str, bool] = field(default_factory=dict)

    @property
    def dominant_emotion(self) -> str | None:
        """The emotion with the highest confidence, if any was scored."""
        if not self.emotions:
            return None
        return max(self.emotions, key=lambda emotion: emotion.confidence).kind


@dataclass(frozen=True, slots=True)
class ModerationLabel:
    """Unsafe or inappropriate content found in the image."""

    name: str
    parent: str | None
    confidence: float
    taxonomy_level: int | None = None


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """A face in the image that matches a person of the face collection."""

    person_id: str
    face_id: str
    similarity: float


@dataclass(frozen=True, slots=True)
class IndexedFace:
    """A reference face added to the face collection for a person."""

    person_id: str
    face_id: str
    confidence: float


class Feature(StrEnum):
    """Analyses the pipeline can run; each one is switched by a setting."""

    LABELS = "labels"
    TEXT = "text"
    FACES = "faces"
    MODERATION = "moderation"
    CUSTOM_LABELS = "custom_labels"
    FACE_INDEX = "face_index"
    FACE_SEARCH = "face_search"


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """What one Rekognition call found, with its full response.

    Attributes
    ----------
    operation : str
        The API operation, for example ``"DetectFaces"``.
    found : T
        The typed part medialens indexes and reasons about.
    response : Mapping[str, Any]
        Rekognition's whole response (without ``ResponseMetadata``): landmarks, pose,
        polygons, model versions. It goes to ``results/<key>.json`` untouched.
    """

    operation: str
    found: T
    response: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LabelDetection:
    """DetectLabels' labels and, when asked for, the image's properties."""

    labels: tuple[Label, ...]
    image_properties: ImageProperties | None = None


@dataclass(frozen=True, slots=True)
class SuggestedLabel:
    """A label the image probably also shows: suggested by the mined rules, not detected.

    Attributes
    ----------
    name : str
        The suggested label, lower-case as mined.
    confidence : float
        The rule's confidence (0-1): of the media showing ``because``, the share that
        also show this label.
    because : str
        The detected label that led to it.
    """

    name: str
    confidence: float
    because: str


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    """Everything Rekognition said about one image."""

    media_id: str
    analysed_at: str
    labels: tuple[Label, ...] = ()
    custom_labels: tuple[Label, ...] = ()
    image_properties: ImageProperties | None = None
    text: tuple[TextDetection, ...] = ()
    faces: tuple[FaceDetail, ...] = ()
    moderation: tuple[ModerationLabel, ...] = ()
    flagged: bool = False
    indexed_faces: tuple[IndexedFace, ...] = ()
    face_matches: tuple[FaceMatch, ...] = ()
    features_run: tuple[Feature, ...] = ()
    notes: tuple[str, ...] = ()
    responses: tuple[Answer[Any], ...] = ()
    suggested: tuple[SuggestedLabel, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """Distinct detected words, lower-cased, in order of appearance."""
        seen: dict[str, None] = {}
        for detection in self.text:
            if detection.kind is TextKind.WORD:
                word = normalize_word(detection.text)
                if word:
                    seen.setdefault(word, None)
        return tuple(seen)

    @property
    def persons(self) -> tuple[str, ...]:
        """Distinct person ids matched or indexed in this image."""
        found = [match.person_id for match in self.face_matches]
        found += [face.person_id for face in self.indexed_faces]
        return tuple(dict.fromkeys(found))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, as written to ``results/<key>.json``."""
        document: dict[str, Any] = {
            f.name: to_plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "responses"
        }
        rekognition: dict[str, list[Mapping[str, Any]]] = {}
        for answer in self.responses:
            rekognition.setdefault(answer.operation, []).append(answer.response)
        document["rekognition"] = rekognition
        document["words"] = list(self.words)
        document["persons"] = list(self.persons)
        for face, detail in zip(document["faces"], self.faces, strict=True):
            face["dominant_emotion"] = detail.dominant_emotion
        return document
