"""Settings of the image pipeline, parsed from the environment on each invocation.

``template.yaml`` turns its Parameters into these environment variables; use cases
receive the parsed, typed settings and never read ``os.environ`` themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from medialens.errors import ConfigurationError

MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
"""Rekognition's limit for an image passed as an S3 object."""

MAX_INLINE_IMAGE_BYTES = 5 * 1024 * 1024
"""Rekognition's limit for an image passed as raw bytes."""

MAX_STORED_VIDEO_BYTES = 10 * 1024 * 1024 * 1024
"""Rekognition Video's limit for a stored video."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    return value if value.endswith("/") else value + "/"


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
class ImageAnalysisSettings:
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
    """

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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ImageAnalysisSettings:
        """Parse the settings from environment variables.

        Parameters
        ----------
        env : Mapping[str, str], optional
            Variables to read; ``os.environ`` when omitted.

        Returns
        -------
        ImageAnalysisSettings

        Raises
        ------
        ConfigurationError
            When a required variable is missing or a value is out of range.
        """
        env = os.environ if env is None else env
        features = FeatureSwitches(
            labels=_flag(env, "ENABLE_LABELS", True),
            image_properties=_flag(env, "ENABLE_IMAGE_PROPERTIES", True),
            text=_flag(env, "ENABLE_TEXT", True),
            faces=_flag(env, "ENABLE_FACES", True),
            moderation=_flag(env, "ENABLE_MODERATION", True),
            face_search=_flag(env, "ENABLE_FACE_SEARCH", True),
        )
        settings = cls(
            catalog_table=_required(env, "CATALOG_TABLE"),
            idempotency_table=_required(env, "IDEMPOTENCY_TABLE"),
            results_bucket=_required(env, "RESULTS_BUCKET"),
            alerts_topic_arn=_required(env, "ALERTS_TOPIC_ARN"),
            face_collection_id=_required(env, "FACE_COLLECTION_ID"),
            features=features,
            custom_labels_arn=env.get("CUSTOM_LABELS_PROJECT_VERSION_ARN", "").strip() or None,
            uploads_prefix=_prefix(env, "UPLOADS_PREFIX", "uploads/"),
            faces_prefix=_prefix(env, "FACES_PREFIX", "faces/"),
            results_prefix=_prefix(env, "RESULTS_PREFIX", "results/"),
            min_label_confidence=_number(env, "LABELS_MIN_CONFIDENCE", 55.0, 0, 100),
            max_labels=int(_number(env, "MAX_LABELS", 25, 1, 1000)),
            min_text_confidence=_number(env, "TEXT_MIN_CONFIDENCE", 80.0, 0, 100),
            moderation_min_confidence=_number(env, "MODERATION_MIN_CONFIDENCE", 50.0, 0, 100),
            moderation_flag_threshold=_number(env, "MODERATION_FLAG_THRESHOLD", 80.0, 0, 100),
            face_match_threshold=_number(env, "FACE_MATCH_THRESHOLD", 90.0, 0, 100),
            max_face_matches=int(_number(env, "MAX_FACE_MATCHES", 5, 1, 4096)),
            max_faces_searched=int(_number(env, "FACE_SEARCH_MAX_FACES", 10, 1, 100)),
            custom_labels_min_confidence=_number(env, "CUSTOM_LABELS_MIN_CONFIDENCE", 50.0, 0, 100),
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


VIDEO_SWITCHES = {
    "LABEL_DETECTION": ("ENABLE_VIDEO_LABELS", True),
    "TEXT_DETECTION": ("ENABLE_VIDEO_TEXT", True),
    "FACE_DETECTION": ("ENABLE_VIDEO_FACES", True),
    "FACE_SEARCH": ("ENABLE_VIDEO_FACE_SEARCH", True),
    "CONTENT_MODERATION": ("ENABLE_VIDEO_MODERATION", True),
    "SEGMENT_DETECTION": ("ENABLE_VIDEO_SEGMENTS", True),
    "CELEBRITY_RECOGNITION": ("ENABLE_VIDEO_CELEBRITIES", False),
    "PERSON_TRACKING": ("ENABLE_VIDEO_PERSON_TRACKING", False),
}
"""Video analysis name -> (environment variable, default)."""


@dataclass(frozen=True, slots=True)
class VideoSettings:
    """Everything the video use cases need to know about their deployment.

    Attributes
    ----------
    enabled_apis : tuple[str, ...]
        Names of the video analyses to start (``LABEL_DETECTION``, ...).
    topic_arn, role_arn : str
        The jobs' NotificationChannel: the SNS topic Rekognition publishes completion
        messages to, and the role it assumes to do so.
    continuation_queue_url : str
        Where a result collection that runs out of time leaves its next page token.
    failures_queue_url : str
        Where messages that cannot be processed (malformed, unknown job) are kept.
    min_remaining_ms : int
        Below this much invocation time left, collection hands over to a new invocation.
    job_timeout_minutes : int
        A started job without a completion message after this long is marked timed out.
    collection_lease_s : int
        A collection started this long ago is taken over by a redelivered message: no
        invocation outlives the results function's timeout, so it must be at least that.
        One that fails with an error gives the collection up at once.
    """

    catalog_table: str
    jobs_table: str
    results_bucket: str
    topic_arn: str
    role_arn: str
    face_collection_id: str
    continuation_queue_url: str
    failures_queue_url: str
    enabled_apis: tuple[str, ...] = ("LABEL_DETECTION",)
    uploads_prefix: str = "uploads/"
    results_prefix: str = "results/"
    min_label_confidence: float = 55.0
    moderation_min_confidence: float = 50.0
    moderation_flag_threshold: float = 80.0
    face_match_threshold: float = 90.0
    page_size: int = 1000
    min_remaining_ms: int = 20_000
    job_timeout_minutes: int = 120
    sweep_batch: int = 20
    max_continuations: int = 1000
    collection_lease_s: int = 310

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VideoSettings:
        """Parse the settings from environment variables.

        Parameters
        ----------
        env : Mapping[str, str], optional
            Variables to read; ``os.environ`` when omitted.

        Returns
        -------
        VideoSettings

        Raises
        ------
        ConfigurationError
            When a required variable is missing or a value is out of range.
        """
        env = os.environ if env is None else env
        return cls(
            catalog_table=_required(env, "CATALOG_TABLE"),
            jobs_table=_required(env, "VIDEO_JOBS_TABLE"),
            results_bucket=_required(env, "RESULTS_BUCKET"),
            topic_arn=_required(env, "VIDEO_TOPIC_ARN"),
            role_arn=_required(env, "VIDEO_ROLE_ARN"),
            face_collection_id=_required(env, "FACE_COLLECTION_ID"),
            continuation_queue_url=_required(env, "VIDEO_CONTINUATION_QUEUE_URL"),
            failures_queue_url=_required(env, "FAILURES_QUEUE_URL"),
            enabled_apis=tuple(
                name
                for name, (variable, default) in VIDEO_SWITCHES.items()
                if _flag(env, variable, default)
            ),
            uploads_prefix=_prefix(env, "UPLOADS_PREFIX", "uploads/"),
            results_prefix=_prefix(env, "RESULTS_PREFIX", "results/"),
            min_label_confidence=_number(env, "LABELS_MIN_CONFIDENCE", 55.0, 0, 100),
            moderation_min_confidence=_number(env, "MODERATION_MIN_CONFIDENCE", 50.0, 0, 100),
            moderation_flag_threshold=_number(env, "MODERATION_FLAG_THRESHOLD", 80.0, 0, 100),
            face_match_threshold=_number(env, "FACE_MATCH_THRESHOLD", 90.0, 0, 100),
            page_size=int(_number(env, "VIDEO_PAGE_SIZE", 1000, 1, 1000)),
            min_remaining_ms=int(_number(env, "VIDEO_MIN_REMAINING_MS", 20_000, 0, 900_000)),
            job_timeout_minutes=int(_number(env, "VIDEO_JOB_TIMEOUT_MINUTES", 120, 1, 10_080)),
            sweep_batch=int(_number(env, "VIDEO_SWEEP_BATCH", 20, 1, 1000)),
            collection_lease_s=int(_number(env, "VIDEO_COLLECTION_LEASE_S", 310, 60, 7200)),
        )


@dataclass(frozen=True, slots=True)
class ChatbotSettings:
    """Everything the chatbot's fulfilment needs to know about its deployment.

    Attributes
    ----------
    catalog_table : str
        The catalog it answers from.
    page_size : int
        Most results listed in one answer ("show me more" lists the next ones).
    link_expiry_s : int
        Lifetime of the pre-signed links to the media and their full results.
    scan_budget : int
        Most index pages read for one answer when filters (photos only, since a date)
        skip matches; past it, the answer says how far it got and "more" goes on.
    max_reprompts : int
        Times a slot is asked for again after an answer that cannot be used, before the
        bot gives up politely instead of looping.
    uploads_prefix : str
        Where users drop files; "is beach.mp4 done?" looks there first.
    """

    catalog_table: str
    page_size: int = 5
    link_expiry_s: int = 300
    scan_budget: int = 5
    max_reprompts: int = 2
    uploads_prefix: str = "uploads/"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChatbotSettings:
        """Parse the settings from environment variables.

        Parameters
        ----------
        env : Mapping[str, str], optional
            Variables to read; ``os.environ`` when omitted.

        Returns
        -------
        ChatbotSettings

        Raises
        ------
        ConfigurationError
            When a required variable is missing or a value is out of range.
        """
        env = os.environ if env is None else env
        return cls(
            catalog_table=_required(env, "CATALOG_TABLE"),
            page_size=int(_number(env, "CHAT_PAGE_SIZE", 5, 1, 25)),
            link_expiry_s=int(_number(env, "CHAT_LINK_EXPIRY_S", 300, 30, 3600)),
            scan_budget=int(_number(env, "CHAT_SCAN_BUDGET", 5, 1, 50)),
            max_reprompts=int(_number(env, "CHAT_MAX_REPROMPTS", 2, 0, 5)),
            uploads_prefix=_prefix(env, "UPLOADS_PREFIX", "uploads/"),
        )
