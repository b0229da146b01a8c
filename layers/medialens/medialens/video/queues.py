"""SQS queues the pipeline sends to: continuations and dead letters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medialens.shared.aws import sqs_client

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsOutbox:
    """Sends messages to one queue.

    Parameters
    ----------
    queue_url : str
    client : SQSClient, optional
    """

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client

    def send(self, body: str) -> None:
        """Send one message (the shared client is made on first use)."""
        client = self._client or sqs_client()
        client.send_message(QueueUrl=self._queue_url, MessageBody=body)
