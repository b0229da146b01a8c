"""Composition root of the ingest consumer: paced Rekognition, idempotent analysis, SQS."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medialens.catalog.writer import DynamoDBCatalog
from medialens.images.rekognition import RekognitionImageAdapter
from medialens.images.settings import ImageAnalysisSettings
from medialens.images.wiring import S3Analyzer, image_ports, s3_analyzer
from medialens.ingest.consume import IngestPorts, QueueMessage, consume_message
from medialens.ingest.pacing import Pacer
from medialens.ingest.settings import IngestSettings
from medialens.ingest.sqs import THROTTLED_ATTRIBUTE, SqsIngestQueue
from medialens.lifecycle.removal import RemovalPorts, remove_media
from medialens.shared import aws
from medialens.shared.s3_store import S3MediaStore
from medialens.video.settings import VideoSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True, slots=True)
class IngestConsumer:
    """Consumes ingest queue records, one sandbox's share of the quotas at a time."""

    analyzer: S3Analyzer
    ports: IngestPorts
    pacer: Pacer

    def register(self, context: LambdaContext) -> None:
        """Tie in-progress idempotency records to this invocation's timeout."""
        self.analyzer.register(context)

    def __call__(self, record: SQSRecord) -> list[dict[str, Any]]:
        """Handle one record; raise to report it as a batch item failure."""
        attributes = record.message_attributes
        throttled = attributes.get(THROTTLED_ATTRIBUTE)
        message = QueueMessage(
            message_id=record.message_id,
            body=record.body,
            receipt_handle=record.receipt_handle,
            receive_count=int(record.attributes.approximate_receive_count or 1),
            throttled_before=int(throttled.string_value or 0) if throttled else 0,
        )
        return [outcome.to_dict() for outcome in consume_message(message, self.ports)]


def ingest_consumer(
    images: ImageAnalysisSettings, video: VideoSettings, ingest: IngestSettings
) -> IngestConsumer:
    """Wire the consumer to boto3: a paced Rekognition client, DynamoDB, S3, SQS.

    Removals share the paced client (DeleteFaces has a TPS quota too) and the analysis,
    which catalogues a version that a deletion made current again.

    Parameters
    ----------
    images, video, ingest : settings of the analysis, the video starter and the queue.

    Returns
    -------
    IngestConsumer
    """
    pacer = Pacer(ingest.quotas, ingest.max_concurrency)
    recognizer = RekognitionImageAdapter(aws.paced_rekognition_client(pacer.attach))
    analyzer = s3_analyzer(images, image_ports(images, recognizer=recognizer), video=video)
    catalog = DynamoDBCatalog(images.catalog_table)
    removal = RemovalPorts(
        catalog=catalog, store=S3MediaStore(), faces=recognizer, analyze=analyzer
    )
    ports = IngestPorts(
        analyze=analyzer,
        remove=functools.partial(remove_media, ports=removal, settings=images),
        catalogued=catalog.is_catalogued,
        queue=SqsIngestQueue(ingest.queue_url, ingest.dead_letter_queue_url),
    )
    return IngestConsumer(analyzer=analyzer, ports=ports, pacer=pacer)
