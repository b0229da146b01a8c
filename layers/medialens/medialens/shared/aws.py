"""boto3 clients with the retry policy every adapter shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

RETRY_CONFIG = Config(
    # total_max_attempts counts the first call; botocore's max_attempts would not.
    retries={"mode": "adaptive", "total_max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
)
"""Throttling (ThrottlingException, ProvisionedThroughputExceededException, ...) is retried
by botocore with exponential backoff and client-side rate limiting; nothing here loops."""


START_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5)
"""For Rekognition Video's Start operations: botocore counts LimitExceededException (the
concurrent-job quota) as throttling and would retry it with backoff; the pipeline parks
the job in its backlog instead, so these calls are made once."""


CHAT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=2
)
"""For the chatbot: Lex is waiting on the answer, so a slow call fails fast into a polite
apology instead of retrying past the function's 10-second timeout."""


INGEST_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=5,
    read_timeout=10,
)
"""For the paced ingest path: the pacer keeps calls under the quotas, so a throttle that
outlasts a few attempts is back pressure the queue absorbs (the message goes back with a
delay) rather than a sandbox waiting out adaptive back-offs."""


def suggester_config(timeout_s: float) -> Config:
    """For the label suggester's endpoint: one attempt, short timeouts.

    The suggestions are an extra the next batch run also delivers; botocore's standard
    mode would retry throttling and 5xx answers, each retry adding to the analysis' time
    and to the load of an endpoint that is already refusing.
    """
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=min(2.0, timeout_s),
        read_timeout=timeout_s,
    )


@cache
def sagemaker_runtime_client(timeout_s: float) -> SageMakerRuntimeClient:
    """SageMaker Runtime client with :func:`suggester_config`."""
    client: SageMakerRuntimeClient = boto3.client(
        "sagemaker-runtime", config=suggester_config(timeout_s)
    )
    return client


def paced_rekognition_client(pace: Callable[[Any], None]) -> RekognitionClient:
    """Make a Rekognition client of its own whose every HTTP attempt ``pace`` paces.

    ``pace`` receives the client and registers its hooks (see ``ingest.pacing.Pacer``).
    """
    client: RekognitionClient = boto3.client("rekognition", config=INGEST_CONFIG)
    pace(client)
    return client


@cache
def dynamodb_chat_resource() -> DynamoDBServiceResource:
    """DynamoDB resource with the chatbot's fail-fast policy (:data:`CHAT_CONFIG`)."""
    resource: DynamoDBServiceResource = boto3.resource("dynamodb", config=CHAT_CONFIG)
    return resource


@cache
def rekognition_start_client() -> RekognitionClient:
    """Rekognition client that never retries (see :data:`START_CONFIG`)."""
    client: RekognitionClient = boto3.client("rekognition", config=START_CONFIG)
    return client


def sqs_client() -> SQSClient:
    """Shared SQS client."""
    client: SQSClient = _client("sqs")
    return client


@cache
def _client(service: str) -> Any:
    return boto3.client(service, config=RETRY_CONFIG)  # type: ignore[call-overload]


def rekognition_client() -> RekognitionClient:
    """Shared Rekognition client (endpoint from ``AWS_ENDPOINT_URL_REKOGNITION`` if set)."""
    client: RekognitionClient = _client("rekognition")
    return client


def s3_client() -> S3Client:
    """Shared S3 client."""
    client: S3Client = _client("s3")
    return client


def sns_client() -> SNSClient:
    """Shared SNS client."""
    client: SNSClient = _client("sns")
    return client


def sagemaker_client() -> Any:
    """Shared SageMaker client (untyped: its stubs are not a dependency)."""
    return _client("sagemaker")


def logs_client() -> Any:
    """Shared CloudWatch Logs client (untyped: its stubs are not a dependency)."""
    return _client("logs")


def dynamodb_client() -> DynamoDBClient:
    """Shared DynamoDB client (also behind the idempotency records)."""
    client: DynamoDBClient = _client("dynamodb")
    return client


@cache
def dynamodb_resource() -> DynamoDBServiceResource:
    """Shared DynamoDB resource (its ``batch_writer`` resends unprocessed items)."""
    resource: DynamoDBServiceResource = boto3.resource("dynamodb", config=RETRY_CONFIG)
    return resource
