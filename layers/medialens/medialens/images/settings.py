"""Settings of the image analysis, parsed from the function's environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.shared.errors import ConfigurationError
from medialens.shared.settings import (
    EnvironmentSettings,
    read_flag,
    read_number,
    read_prefix,
    read_required,
)

MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
"""Rekognition's limit for an image passed as an S3 object."""


MAX_INLINE_IMAGE_BYTES = 5 * 1024 * 1024
"""Rekognition's limit for an image passed as raw bytes."""


@dataclass(frozen=True, slots=True)
class FeatureSwitches:
    """Which Rekognition image operations run for each image."""

    labels: bool = True
    image_properties: bool = True
    text: bool = True
    faces: bool = True
    moderation: bool = True
    face_search: bool = True


@dataclass(frozen=True, slots=True)
class ImageAnalysisSettings(EnvironmentSettings):
    """Everything the image use cases need to know about their deployment.

    Attributes
    ----------
    catalog_table, idempotency_table : str
        DynamoDB table names.
    results_bucket : str
        Bucket that receives ``results/<key>.json``; S3 drops write next to their source.
    alerts_topic_arn : str
        SNS topic that announces flagged media.
    face_collection_id : str
        Rekognition face collection used by IndexFaces and SearchFacesByImage.
    custom_labels_arn : str | None
        Rekognition Custom Labels project version ARN; ``None`` disables the call.
    suggester_endpoint : str | None
        The label suggester's SageMaker endpoint; ``None`` when the stack hosts none.
    suggester_timeout_s : float
        Longest wait for the endpoint's answer before the image goes on without it.
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset(
        {
            "CATALOG_TABLE",
            "IDEMPOTENCY_TABLE",
            "RESULTS_BUCKET",
            "ALERTS_TOPIC_ARN",
            "FACE_COLLECTION_ID",
            "CUSTOM_LABELS_PROJECT_VERSION_ARN",
            "UPLOADS_PREFIX",
            "FACES_PREFIX",
            "RESULTS_PREFIX",
            "ENABLE_LABELS",
            "ENABLE_IMAGE_PROPERTIES",
            "ENABLE_TEXT",
            "ENABLE_FACES",
            "ENABLE_MODERATION",
            "ENABLE_FACE_SEARCH",
            "LABELS_MIN_CONFIDENCE",
            "MAX_LABELS",
            "TEXT_MIN_CONFIDENCE",
            "MODERATION_MIN_CONFIDENCE",
            "MODERATION_FLAG_THRESHOLD",
            "FACE_MATCH_THRESHOLD",
            "FACE_SEARCH_MAX_FACES",
            "SUGGESTER_ENDPOINT",
        }
    )
    """What template.yaml sets for every function that analyses images."""
    TUNABLES: ClassVar[frozenset[str]] = frozenset(
        {
            "MAX_FACE_MATCHES",
            "CUSTOM_LABELS_MIN_CONFIDENCE",
            "IMAGE_CALL_CONCURRENCY",
            "SUGGESTER_TIMEOUT_S",
        }
    )
    """Read when set by hand; the defaults below otherwise."""

    catalog_table: str
    idempotency_table: str
    results_bucket: str
    alerts_topic_arn: str
    face_collection_id: str
    features: FeatureSwitches = FeatureSwitches()
    custom_labels_arn: str | None = None
    uploads_prefix: str = "uploads/"
    faces_prefix: str = "faces/"
    results_prefix: str = "results/"
    min_label_confidence: float = 55.0
    max_labels: int = 25
    min_text_confidence: float = 80.0
    moderation_min_confidence: float = 50.0
    moderation_flag_threshold: float = 80.0
    face_match_threshold: float = 90.0
    max_face_matches: int = 5
    max_faces_searched: int = 10
    custom_labels_min_confidence: float = 50.0
    call_concurrency: int = 4
    """Rekognition calls one image may have in flight at once (labels, text, faces and
    moderation are independent)."""
    suggester_endpoint: str | None = None
    suggester_timeout_s: float = 3.0

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> ImageAnalysisSettings:
        """Read the variables from ``env``."""
        features = FeatureSwitches(
            labels=read_flag(env, "ENABLE_LABELS", True),
            image_properties=read_flag(env, "ENABLE_IMAGE_PROPERTIES", True),
            text=read_flag(env, "ENABLE_TEXT", True),
            faces=read_flag(env, "ENABLE_FACES", True),
            moderation=read_flag(env, "ENABLE_MODERATION", True),
            face_search=read_flag(env, "ENABLE_FACE_SEARCH", True),
        )
        settings = cls(
            catalog_table=read_required(env, "CATALOG_TABLE"),
            idempotency_table=read_required(env, "IDEMPOTENCY_TABLE"),
            results_bucket=read_required(env, "RESULTS_BUCKET"),
            alerts_topic_arn=read_required(env, "ALERTS_TOPIC_ARN"),
            face_collection_id=read_required(env, "FACE_COLLECTION_ID"),
            features=features,
            custom_labels_arn=env.get("CUSTOM_LABELS_PROJECT_VERSION_ARN", "").strip() or None,
            uploads_prefix=read_prefix(env, "UPLOADS_PREFIX", "uploads/"),
            faces_prefix=read_prefix(env, "FACES_PREFIX", "faces/"),
            results_prefix=read_prefix(env, "RESULTS_PREFIX", "results/"),
            min_label_confidence=read_number(env, "LABELS_MIN_CONFIDENCE", 55.0, 0, 100),
            max_labels=int(read_number(env, "MAX_LABELS", 25, 1, 1000)),
            min_text_confidence=read_number(env, "TEXT_MIN_CONFIDENCE", 80.0, 0, 100),
            moderation_min_confidence=read_number(env, "MODERATION_MIN_CONFIDENCE", 50.0, 0, 100),
            moderation_flag_threshold=read_number(env, "MODERATION_FLAG_THRESHOLD", 80.0, 0, 100),
            face_match_threshold=read_number(env, "FACE_MATCH_THRESHOLD", 90.0, 0, 100),
            max_face_matches=int(read_number(env, "MAX_FACE_MATCHES", 5, 1, 4096)),
            max_faces_searched=int(read_number(env, "FACE_SEARCH_MAX_FACES", 10, 1, 100)),
            custom_labels_min_confidence=read_number(
                env, "CUSTOM_LABELS_MIN_CONFIDENCE", 50.0, 0, 100
            ),
            call_concurrency=int(read_number(env, "IMAGE_CALL_CONCURRENCY", 4, 1, 16)),
            suggester_endpoint=env.get("SUGGESTER_ENDPOINT", "").strip() or None,
            suggester_timeout_s=read_number(env, "SUGGESTER_TIMEOUT_S", 3.0, 0.1, 60),
        )
        settings.check_prefixes()
        return settings

    def check_prefixes(self) -> None:
        """Refuse overlapping prefixes.

        Results under a watched prefix would re-trigger the analysis, and S3 refuses
        two notification rules whose prefixes overlap.

        Raises
        ------
        ConfigurationError
            When any two of the uploads, faces and results prefixes overlap.
        """
        pairs = (
            (self.results_prefix, self.uploads_prefix),
            (self.results_prefix, self.faces_prefix),
            (self.faces_prefix, self.uploads_prefix),
        )
        for first, second in pairs:
            if first.startswith(second) or second.startswith(first):
                raise ConfigurationError(f"prefixes {first!r} and {second!r} overlap")
