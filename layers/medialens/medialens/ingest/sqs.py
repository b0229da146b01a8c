"""The ingest queue and its dead-letter queue, on SQS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medialens.shared.aws import sqs_client

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

THROTTLED_ATTRIBUTE = "medialens.throttled"
REASON_ATTRIBUTE = "medialens.reason"
MAX_ATTRIBUTE_VALUE = 1024
"""Kept short: a reason is for people; SQS allows 256 KiB per message in all
("Amazon SQS message quotas",
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html)."""


class SqsIngestQueue:
    """Puts throttled messages back, delays failed ones, parks unreadable ones.

    Parameters
    ----------
    queue_url, dead_letter_queue_url : str
    client : SQSClient, optional
        Injected client; the shared retrying client otherwise.
    """

    def __init__(
        self, queue_url: str, dead_letter_queue_url: str, client: SQSClient | None = None
    ) -> None:
        self._queue_url = queue_url
        self._dead_letter_queue_url = dead_letter_queue_url
        self._client = client or sqs_client()

    def put_back(self, body: str, *, delay_s: int, throttled: int) -> None:
        """Send ``body`` to the ingest queue again, visible after ``delay_s``."""
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            DelaySeconds=delay_s,
            MessageAttributes={
                THROTTLED_ATTRIBUTE: {"DataType": "Number", "StringValue": str(throttled)}
            },
        )

    def delay_retry(self, receipt_handle: str, delay_s: int) -> None:
        """Keep the received message invisible for ``delay_s`` seconds."""
        self._client.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_s
        )

    def dead_letter(self, body: str, reason: str) -> None:
        """Send ``body`` to the dead-letter queue with the reason it could not be read."""
        self._client.send_message(
            QueueUrl=self._dead_letter_queue_url,
            MessageBody=body,
            MessageAttributes={
                REASON_ATTRIBUTE: {
                    "DataType": "String",
                    "StringValue": reason[:MAX_ATTRIBUTE_VALUE] or "unreadable",
                }
            },
        )
