"""Composition root: production adapters wired to the use cases, once per sandbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medialens.adapters.alerts import SnsAlertPublisher
from medialens.adapters.catalog import DynamoDBCatalog
from medialens.adapters.idempotency import Idempotency
from medialens.adapters.rekognition import RekognitionImageAdapter
from medialens.adapters.s3_store import S3MediaStore
from medialens.config import ImageAnalysisSettings
from medialens.domain.analyze_image import (
    AnalysisOutcome,
    ImagePorts,
    analyze_inline_request,
    analyze_s3_object,
)
from medialens.models.media import MediaObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

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


def s3_analyzer(settings: ImageAnalysisSettings, ports: ImagePorts | None = None) -> S3Analyzer:
    """Wire :func:`analyze_s3_object` to its ports behind DynamoDB idempotency.

    Parameters
    ----------
    settings : ImageAnalysisSettings
    ports : ImagePorts, optional
        Defaults to :func:`image_ports`.

    Returns
    -------
    S3Analyzer
    """
    wired = ports or image_ports(settings)

    def analyze(media: MediaObject) -> dict[str, Any]:
        return analyze_s3_object(media, ports=wired, settings=settings).to_dict()

    idempotency = Idempotency(settings.idempotency_table, key_jmespath=S3_IDEMPOTENCY_KEY)
    return S3Analyzer(idempotency=idempotency, run=idempotency.wrap(analyze, data_argument="media"))


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
