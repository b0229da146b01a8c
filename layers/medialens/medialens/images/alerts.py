"""SNS alerts for flagged media."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from medialens.catalog.location import CatalogLocation
from medialens.images.models import ImageAnalysis
from medialens.shared.aws import sns_client

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

FLAGGED_EVENT = "media.flagged"


class SnsAlertPublisher:
    """Publishes one message per flagged media item to the alerts topic.

    Parameters
    ----------
    topic_arn : str
        The alerts topic.
    client : SNSClient, optional
        Injected client; the shared retrying client otherwise.
    """

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._client = client or sns_client()

    def announce_flagged(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Publish the moderation labels of a flagged media item."""
        message = {
            "event": FLAGGED_EVENT,
            "media_id": analysis.media_id,
            "source_bucket": location.source_bucket,
            "source_key": location.source_key,
            "version_id": location.version_id,
            "result": f"s3://{location.result_bucket}/{location.result_key}",
            "analysed_at": analysis.analysed_at,
            "moderation_labels": [
                {"name": label.name, "parent": label.parent, "confidence": label.confidence}
                for label in analysis.moderation
            ],
        }
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject="medialens: media flagged by moderation",
            Message=json.dumps(message),
            MessageAttributes={"event": {"DataType": "String", "StringValue": FLAGGED_EVENT}},
        )
