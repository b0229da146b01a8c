"""Composition root: production adapters wired to the use cases, once per sandbox."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medialens.catalog.writer import DynamoDBCatalog
from medialens.images.alerts import SnsAlertPublisher
from medialens.images.analyze import analyze_inline_request, analyze_s3_object
from medialens.images.idempotency import Idempotency
from medialens.images.ports import ImagePorts
from medialens.images.rekognition import RekognitionImageAdapter
from medialens.images.settings import ImageAnalysisSettings
from medialens.images.suggester_endpoint import SageMakerLabelSuggester
from medialens.shared.media import MediaObject
from medialens.shared.outcome import AnalysisOutcome
from medialens.shared.s3_store import S3MediaStore
from medialens.video.settings import VideoSettings
from medialens.video.wiring import video_ports

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


S3_IDEMPOTENCY_KEY = "[bucket, key, version_id, etag, sequencer]"
"""An object version is analysed once per event, however often S3 delivers it; the
sequencer tells a version restored after a deletion from its first analysis."""


def image_ports(
    settings: ImageAnalysisSettings, recognizer: RekognitionImageAdapter | None = None
) -> ImagePorts:
    """Build the boto3-backed ports of the image use cases.

    Parameters
    ----------
    settings : ImageAnalysisSettings
        Supplies table and topic names.
    recognizer : RekognitionImageAdapter, optional
        A Rekognition adapter of the caller's (the ingest path's is paced); the shared
        client's otherwise.

    Returns
    -------
    ImagePorts
    """
    return ImagePorts(
        recognizer=recognizer or RekognitionImageAdapter(),
        store=S3MediaStore(),
        catalog=DynamoDBCatalog(settings.catalog_table),
        alerts=SnsAlertPublisher(settings.alerts_topic_arn),
        suggester=(
            SageMakerLabelSuggester(
                settings.suggester_endpoint, timeout_s=settings.suggester_timeout_s
            )
            if settings.suggester_endpoint
            else None
        ),
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
        from medialens.video.start import start_video_analysis

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
