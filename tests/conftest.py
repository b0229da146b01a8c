from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws

# Before any boto3 client exists: no X-Ray, the EMF namespace.
os.environ.update(
    {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "medialens",
        "POWERTOOLS_METRICS_NAMESPACE": "Medialens",
    }
)
# One botocore data loader for every session the tests create: service models are
# read-only data, and each new session would otherwise parse them again (about a third
# of an integration test's time went there).
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)

OFFLINE_AWS = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("e2e", "user journeys (tests/e2e)")
    group.addoption(
        "--stack",
        default=None,
        metavar="NAME",
        help="run tests/e2e against this deployed CloudFormation stack (default: offline)",
    )
    group.addoption(
        "--with-emr",
        action="store_true",
        default=False,
        help="with --stack, also run the EMR label-mining workflow (it starts a billed cluster)",
    )


TIERS = ("unit", "contract", "integration", "offline", "workflows", "jobs", "e2e")
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier: the folder of tests/ it lives in."""
    for item in items:
        parts = item.path.resolve().relative_to(TESTS).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])


def pytest_configure(config: pytest.Config) -> None:
    """A Region and fake credentials, unless the run targets a deployed stack.

    ``pytest tests/e2e --stack NAME`` keeps the caller's credentials, profile and
    Region; every other run can reach no AWS account.
    """
    if config.getoption("stack"):
        return
    os.environ.update(OFFLINE_AWS)
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)


from medialens.shared import aws  # noqa: E402

from tests.support import stack as stack_support  # noqa: E402

pytest_plugins = ["tests.jobs.spark_session"]


@pytest.fixture(autouse=True)
def _no_endpoint_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget endpoints an offline-stack test set for its handlers: its server is gone.

    The offline router gives each handler its Lambda environment in ``os.environ``,
    endpoints of the local stand-ins included; a later test's moto would be bypassed.
    """
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    aws._client.cache_clear()
    aws.dynamodb_resource.cache_clear()
    aws.dynamodb_chat_resource.cache_clear()
    yield
    aws._client.cache_clear()
    aws.dynamodb_resource.cache_clear()
    aws.dynamodb_chat_resource.cache_clear()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[stack_support.Stack]:
    """Bucket, tables, topic (with an SQS subscriber) and the function environment."""
    with mock_aws():
        # A session of the tests' own: calls made through it are set-up and
        # inspection, not calls of the code under test (see ``aws_calls``).
        session = boto3.session.Session()
        setattr(session._session, SETUP_SESSION_MARK, True)
        s3 = session.client("s3")
        dynamodb = session.client("dynamodb")
        sns = session.client("sns")
        sqs = session.client("sqs")
        bucket = stack_support.bucket_name()
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        catalog = stack_support.create_table(dynamodb, "CatalogTable")
        idempotency = stack_support.create_table(dynamodb, "IdempotencyTable")
        topic_arn = sns.create_topic(Name=stack_support.physical_name("AlertsTopic"))["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts-subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        collection = stack_support.physical_name("FaceCollection")
        ingest_queues = {
            logical_id: sqs.create_queue(QueueName=stack_support.physical_name(logical_id))[
                "QueueUrl"
            ]
            for logical_id in ("IngestQueue", "IngestDeadLetterQueue")
        }
        environment = stack_support.function_environment(
            {
                "CatalogTable": catalog,
                "IdempotencyTable": idempotency,
                "AlertsTopic": topic_arn,
                "FaceCollection": collection,
                **ingest_queues,
            }
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "medialens-AnalyzeMediaFunction")
        yield stack_support.Stack(
            bucket=bucket,
            catalog_table=catalog,
            idempotency_table=idempotency,
            alerts_topic_arn=topic_arn,
            alerts_queue_url=queue_url,
            face_collection_id=collection,
            s3=s3,
            dynamodb=dynamodb,
            sqs=sqs,
            ingest_queue_url=ingest_queues["IngestQueue"],
            dead_letter_queue_url=ingest_queues["IngestDeadLetterQueue"],
        )


SETUP_SESSION_MARK = "medialens_test_setup"


S3_ACTIONS_NAMED_OTHERWISE = {
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:DeleteObjects": "s3:DeleteObject",
}
"""S3 operations whose IAM action has another name ("Actions, resources, and condition keys
for Amazon S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)."""


@pytest.fixture(autouse=True)
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """IAM actions of every AWS call the code under test makes, as IAM names them.

    Every botocore client gets a recorder, except those of the fixtures' own set-up
    session, so what is recorded is exactly what the deployed role must allow.
    """
    actions: set[str] = set()

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        prefix = model.service_model.signing_name
        action = f"{prefix}:{model.name}"
        actions.add(S3_ACTIONS_NAMED_OTHERWISE.get(action, action))
        if prefix == "s3" and model.name == "GetObject" and params.get("VersionId"):
            actions.add("s3:GetObjectVersion")
        deleted = (
            params.get("Delete", {}).get("Objects", []) if model.name == "DeleteObjects" else []
        )
        if prefix == "s3" and any("VersionId" in entry for entry in deleted):
            actions.add("s3:DeleteObjectVersion")

    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if not getattr(self, SETUP_SESSION_MARK, False):
            client.meta.events.register("before-parameter-build", record)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    return actions


@pytest.fixture
def rekognition(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A Rekognition client whose answers are queued by the test and checked by botocore.

    Stubber validates every queued response and every request against Rekognition's
    service model; a call with nothing queued fails the test.
    """
    client = boto3.client("rekognition", region_name="eu-west-1")
    stubber = Stubber(client)
    monkeypatch.setattr("medialens.images.rekognition.rekognition_client", lambda: client)
    monkeypatch.setattr("medialens.shared.aws.paced_rekognition_client", lambda pace: client)
    # Stubber answers strictly in queue order, so an image's calls run one at a time
    # here; their concurrency is tested against the local Rekognition.
    monkeypatch.setenv("IMAGE_CALL_CONCURRENCY", "1")
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@dataclass
class FakeLambdaContext:
    function_name: str = "medialens-AnalyzeMediaFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:medialens-AnalyzeMediaFunction"
    )
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/medialens-AnalyzeMediaFunction"
    log_stream_name: str = "2026/11/27/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 55_000


@pytest.fixture
def lambda_context() -> Any:
    return FakeLambdaContext()
