"""Composition root: production adapters wired to the use cases, once per sandbox."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medialens.adapters.alerts import SnsAlertPublisher
from medialens.adapters.catalog import DynamoDBCatalog
from medialens.adapters.idempotency import Idempotency
from medialens.adapters.rekognition import RekognitionImageAdapter
from medialens.adapters.s3_store import S3MediaStore
from medialens.config import ChatbotSettings, ImageAnalysisSettings, VideoSettings
from medialens.domain.analyze_image import (
    AnalysisOutcome,
    ImagePorts,
    analyze_inline_request,
    analyze_s3_object,
)
from medialens.models.media import MediaObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from medialens.domain.chatbot import ChatPorts
    from medialens.domain.video import VideoPorts

S3_IDEMPOTENCY_KEY = "[bucket, key, version_id, etag]"
"""An object version is analysed once, however often S3 delivers its event."""


def image_ports(settings: ImageAnalysisSettings) -> ImagePorts:
    """Build the boto3-backed ports of the image use cases.

    Parameters
    ----------
    settings : ImageAnalysisSettings
        Supplies table and topic names.

    Returns
    -------
    ImagePorts
    """
    return ImagePorts(
        recognizer=RekognitionImageAdapter(),
        store=S3MediaStore(),
        catalog=DynamoDBCatalog(settings.catalog_table),
        alerts=SnsAlertPublisher(settings.alerts_topic_arn),
    )


@dataclass(frozen=True, slots=True)
class S3Analyzer:
    """Analyses S3 objects once per version; duplicates get the stored outcome."""

    idempotency: Idempotency
    run: Callable[..., dict[str, Any]]

    def register(self, context: LambdaContext) -> None:
        """Tie in-progress idempotency records to this invocation's timeout."""
        self.idempotency.register(context)

    def __call__(self, media: MediaObject) -> AnalysisOutcome:
        """Analyse ``media`` (or return the outcome of its earlier analysis)."""
        return AnalysisOutcome.from_dict(self.run(media=media))


def video_ports(settings: VideoSettings) -> VideoPorts:
    """Build the boto3-backed ports of the video use cases.

    Parameters
    ----------
    settings : VideoSettings

    Returns
    -------
    VideoPorts
    """
    # Imported here: the S3 entry point loads this module for every drop, and the video
    # side stays out of the images' cold start until a video arrives.
    from medialens.adapters.jobs import DynamoDBJobStore
    from medialens.adapters.queues import SqsOutbox
    from medialens.adapters.rekognition_video import RekognitionVideoAdapter
    from medialens.domain.video import VideoPorts

    return VideoPorts(
        recognizer=RekognitionVideoAdapter(),
        jobs=DynamoDBJobStore(settings.jobs_table),
        catalog=DynamoDBCatalog(settings.catalog_table),
        store=S3MediaStore(),
        continuations=SqsOutbox(settings.continuation_queue_url),
        dead_letters=SqsOutbox(settings.failures_queue_url),
    )


def s3_analyzer(
    settings: ImageAnalysisSettings,
    ports: ImagePorts | None = None,
    video: VideoSettings | None = None,
) -> S3Analyzer:
    """Wire :func:`analyze_s3_object` to its ports behind DynamoDB idempotency.

    Parameters
    ----------
    settings : ImageAnalysisSettings
    ports : ImagePorts, optional
        Defaults to :func:`image_ports`.
    video : VideoSettings, optional
        Where videos go; without it, videos are rejected as an unsupported format.

    Returns
    -------
    S3Analyzer
    """
    wired = ports or image_ports(settings)
    videos = _video_starter(video) if video is not None else None

    def analyze(media: MediaObject) -> dict[str, Any]:
        return analyze_s3_object(media, ports=wired, settings=settings, videos=videos).to_dict()

    idempotency = Idempotency(settings.idempotency_table, key_jmespath=S3_IDEMPOTENCY_KEY)
    return S3Analyzer(idempotency=idempotency, run=idempotency.wrap(analyze, data_argument="media"))


def _video_starter(settings: VideoSettings) -> Callable[[MediaObject, str], AnalysisOutcome]:
    """Start a video's jobs; the video side is imported and wired on the first video."""

    @functools.cache
    def wired() -> Callable[[MediaObject, str], AnalysisOutcome]:
        from medialens.domain.video import start_video_analysis

        return functools.partial(
            start_video_analysis, ports=video_ports(settings), settings=settings
        )

    def start(media: MediaObject, now: str) -> AnalysisOutcome:
        return wired()(media, now)

    return start


def inline_analyzer(
    settings: ImageAnalysisSettings, ports: ImagePorts | None = None
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Wire :func:`analyze_inline_request` to its ports.

    Returns
    -------
    Callable[[Mapping[str, Any]], dict[str, Any]]
        Takes the invocation payload, returns the response document.
    """
    wired = ports or image_ports(settings)

    def analyze(payload: Mapping[str, Any]) -> dict[str, Any]:
        return analyze_inline_request(payload, ports=wired, settings=settings)

    return analyze


def chat_ports(settings: ChatbotSettings) -> ChatPorts:
    """Build the boto3-backed ports of the chatbot.

    Parameters
    ----------
    settings : ChatbotSettings

    Returns
    -------
    ChatPorts
    """
    from medialens.adapters.aws import dynamodb_chat_resource
    from medialens.adapters.catalog_search import DynamoDBCatalogSearch, S3LinkSigner
    from medialens.adapters.related_labels import DynamoDBRelatedLabels
    from medialens.domain.chatbot import ChatPorts

    # Both read the catalog table with the chatbot's fail-fast policy: Lex is waiting.
    resource = dynamodb_chat_resource()
    return ChatPorts(
        catalog=DynamoDBCatalogSearch(settings.catalog_table, resource=resource),
        links=S3LinkSigner(),
        related=DynamoDBRelatedLabels(settings.catalog_table, resource=resource),
    )
