"""Settings of the video analysis, parsed from the function's environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.shared.settings import (
    EnvironmentSettings,
    read_flag,
    read_number,
    read_prefix,
    read_required,
)

MAX_STORED_VIDEO_BYTES = 10 * 1024 * 1024 * 1024
"""Rekognition Video's limit for a stored video."""


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
class VideoSettings(EnvironmentSettings):
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

    VARIABLES: ClassVar[frozenset[str]] = frozenset(
        {
            "CATALOG_TABLE",
            "VIDEO_JOBS_TABLE",
            "RESULTS_BUCKET",
            "VIDEO_TOPIC_ARN",
            "VIDEO_ROLE_ARN",
            "FACE_COLLECTION_ID",
            "VIDEO_CONTINUATION_QUEUE_URL",
            "FAILURES_QUEUE_URL",
            "UPLOADS_PREFIX",
            "RESULTS_PREFIX",
            "LABELS_MIN_CONFIDENCE",
            "MODERATION_MIN_CONFIDENCE",
            "MODERATION_FLAG_THRESHOLD",
            "FACE_MATCH_THRESHOLD",
            "VIDEO_JOB_TIMEOUT_MINUTES",
            *(variable for variable, _ in VIDEO_SWITCHES.values()),
        }
    )
    """What template.yaml sets for every function that starts or follows video jobs."""
    TUNABLES: ClassVar[frozenset[str]] = frozenset(
        {
            "VIDEO_PAGE_SIZE",
            "VIDEO_MIN_REMAINING_MS",
            "VIDEO_SWEEP_BATCH",
            "VIDEO_COLLECTION_LEASE_S",
        }
    )
    """Read when set; the defaults below otherwise (the results function sets the lease)."""

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
    def parse(cls, env: Mapping[str, str]) -> VideoSettings:
        """Read the variables from ``env``."""
        return cls(
            catalog_table=read_required(env, "CATALOG_TABLE"),
            jobs_table=read_required(env, "VIDEO_JOBS_TABLE"),
            results_bucket=read_required(env, "RESULTS_BUCKET"),
            topic_arn=read_required(env, "VIDEO_TOPIC_ARN"),
            role_arn=read_required(env, "VIDEO_ROLE_ARN"),
            face_collection_id=read_required(env, "FACE_COLLECTION_ID"),
            continuation_queue_url=read_required(env, "VIDEO_CONTINUATION_QUEUE_URL"),
            failures_queue_url=read_required(env, "FAILURES_QUEUE_URL"),
            enabled_apis=tuple(
                name
                for name, (variable, default) in VIDEO_SWITCHES.items()
                if read_flag(env, variable, default)
            ),
            uploads_prefix=read_prefix(env, "UPLOADS_PREFIX", "uploads/"),
            results_prefix=read_prefix(env, "RESULTS_PREFIX", "results/"),
            min_label_confidence=read_number(env, "LABELS_MIN_CONFIDENCE", 55.0, 0, 100),
            moderation_min_confidence=read_number(env, "MODERATION_MIN_CONFIDENCE", 50.0, 0, 100),
            moderation_flag_threshold=read_number(env, "MODERATION_FLAG_THRESHOLD", 80.0, 0, 100),
            face_match_threshold=read_number(env, "FACE_MATCH_THRESHOLD", 90.0, 0, 100),
            page_size=int(read_number(env, "VIDEO_PAGE_SIZE", 1000, 1, 1000)),
            min_remaining_ms=int(read_number(env, "VIDEO_MIN_REMAINING_MS", 20_000, 0, 900_000)),
            job_timeout_minutes=int(read_number(env, "VIDEO_JOB_TIMEOUT_MINUTES", 120, 1, 10_080)),
            sweep_batch=int(read_number(env, "VIDEO_SWEEP_BATCH", 20, 1, 1000)),
            collection_lease_s=int(read_number(env, "VIDEO_COLLECTION_LEASE_S", 310, 60, 7200)),
        )
