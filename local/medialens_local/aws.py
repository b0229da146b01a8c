"""An embedded AWS stand-in (moto's server on loopback) holding the template's resources."""

from __future__ import annotations

import functools
import json
import logging
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from medialens_local.s3_events import s3_events_as_aws_sends_them
from medialens_local.template import Resolver

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
STACK_NAME = "medialens-local"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass
class QueueSource:
    """An SQS queue a function consumes (``Events`` of type SQS), as its mapping says.

    Attributes
    ----------
    batch_size : int
        Messages per invocation at most.
    max_concurrency : int | None
        ``ScalingConfig.MaximumConcurrency``: invocations in flight at most.
    partial_batch : bool
        ``FunctionResponseTypes: [ReportBatchItemFailures]``: the handler's answer names
        the messages to keep; the rest are deleted.
    """

    queue_url: str
    queue_arn: str
    batch_size: int = 10
    max_concurrency: int | None = None
    partial_batch: bool = False


@dataclass
class FunctionRoute:
    """Where a function's events wait, and where its failures go.

    Attributes
    ----------
    event_queue_url : str | None
        Queue that receives the bucket notifications the function subscribes to.
    topic_queue_urls : dict[str, str]
        Subscription ARN -> queue subscribed to a topic on the function's behalf (SNS
        cannot invoke a local function; the router turns the messages into SNS events).
    queue_sources : list[QueueSource]
        Queues the function polls itself, as an SQS event source mapping would.
    """

    logical_id: str
    code_dir: str
    event_queue_url: str | None = None
    failure_queue_url: str | None = None
    max_retries: int = 2
    topic_queue_urls: dict[str, str] = field(default_factory=dict)
    queue_sources: list[QueueSource] = field(default_factory=list)


@dataclass
class LocalAws:
    """The running stand-in and the physical names of the template's resources."""

    endpoint: str
    resolver: Resolver
    functions: dict[str, FunctionRoute] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """Return the harness's boto3 client for the stand-in (not the handlers'), made once."""
        if service not in self._clients:
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - moto accepts any key
            )
        return self._clients[service]

    def resource(self, service: str) -> Any:
        """Return a boto3 resource of the harness for the stand-in (not the handlers')."""
        return boto3.resource(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any key
        )

    def read_object(self, bucket: str, key: str, version: str | None) -> bytes:
        """Read an object straight from the stand-in's store, as AWS services read S3 inside.

        The local Rekognition reads this way: an HTTP round trip to moto per image
        operation would be overhead that Rekognition itself does not add.

        Raises
        ------
        KeyError
            When the bucket, key or version does not exist.
        """
        from moto.s3.exceptions import MissingBucket
        from moto.s3.models import s3_backends

        try:
            found = s3_backends[ACCOUNT_ID]["aws"].get_object(bucket, key, version_id=version)
        except MissingBucket as error:
            raise KeyError(bucket) from error
        if found is None:
            raise KeyError(key)
        data: bytes = found.value
        return data

    @property
    def bucket(self) -> str:
        """The template's media bucket."""
        return self.resolver.ref(MEDIA_BUCKET)


MEDIA_BUCKET = "MediaBucket"
"""The bucket files are dropped in; the template's other (the web chat's page) is quiet."""


def queue_arn(name: str) -> str:
    """ARN of a queue in the stand-in's account and region."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def create_table(dynamodb: Any, resolver: Resolver, logical_id: str) -> str:
    """Create one of the template's tables, with its key schema and indexes; return its name."""
    properties = resolver.template["Resources"][logical_id]["Properties"]
    name = resolver.physical_name(logical_id)
    params: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in properties:
        params["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    dynamodb.create_table(**json.loads(json.dumps(params)))
    recovery = properties.get("PointInTimeRecoverySpecification", {})
    if recovery.get("PointInTimeRecoveryEnabled"):
        # What the pipeline's ExportTableToPointInTime needs, as deployed.
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return name


def _create_tables(aws: LocalAws) -> None:
    dynamodb = aws.client("dynamodb")
    for logical_id in aws.resolver.resources("AWS::DynamoDB::Table"):
        name = create_table(dynamodb, aws.resolver, logical_id)
        aws.resolver.refs[logical_id] = name
        aws.resolver.attributes[(logical_id, "Arn")] = (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        )


def _create_messaging(aws: LocalAws) -> None:
    sns, sqs = aws.client("sns"), aws.client("sqs")
    for logical_id in aws.resolver.resources("AWS::SNS::Topic"):
        arn = sns.create_topic(Name=aws.resolver.physical_name(logical_id))["TopicArn"]
        aws.resolver.refs[logical_id] = arn
    queues = aws.resolver.resources("AWS::SQS::Queue")
    for logical_id, queue in queues.items():
        name = aws.resolver.physical_name(logical_id)
        properties = queue.get("Properties", {})
        attributes = {
            attribute: str(properties[attribute])
            for attribute in ("VisibilityTimeout", "MessageRetentionPeriod")
            if attribute in properties
        }
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        aws.resolver.refs[logical_id] = url
        aws.resolver.attributes[(logical_id, "Arn")] = queue_arn(name)
        aws.resolver.attributes[(logical_id, "QueueName")] = name
    for logical_id, queue in queues.items():
        redrive = queue.get("Properties", {}).get("RedrivePolicy")
        if redrive:
            policy = {
                "deadLetterTargetArn": aws.resolver.resolve(redrive["deadLetterTargetArn"]),
                "maxReceiveCount": str(redrive["maxReceiveCount"]),
            }
            sqs.set_queue_attributes(
                QueueUrl=aws.resolver.ref(logical_id),
                Attributes={"RedrivePolicy": json.dumps(policy)},
            )


def _create_bucket(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    for logical_id, bucket in aws.resolver.resources("AWS::S3::Bucket").items():
        named = bucket["Properties"].get("BucketName")
        # CloudFormation names an unnamed bucket <stack>-<logical id>-<random>, lower case.
        name = aws.resolver.resolve(named) if named else f"medialens-{logical_id.lower()}-local"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if bucket["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        aws.resolver.refs[logical_id] = name
        aws.resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _route_functions(aws: LocalAws) -> None:
    """Subscribe a queue per function to the bucket events its template ``Events`` name.

    Lambda cannot run here, so S3 delivers to SQS with the same event types and key
    filters, and the router polls that queue and invokes the handler in-process.
    """
    s3, sqs = aws.client("s3"), aws.client("sqs")
    queue_configurations: list[dict[str, Any]] = []
    for logical_id, function in aws.resolver.resources("AWS::Serverless::Function").items():
        if not aws.resolver.deployed(function):
            continue
        properties = function["Properties"]
        route = FunctionRoute(logical_id=logical_id, code_dir=properties["CodeUri"])
        invoke_config = properties.get("EventInvokeConfig", {})
        route.max_retries = int(invoke_config.get("MaximumRetryAttempts", 2))
        on_failure = invoke_config.get("DestinationConfig", {}).get("OnFailure")
        if on_failure and on_failure.get("Type") == "SQS":
            queue_logical_id = on_failure["Destination"]["Fn::GetAtt"][0]
            route.failure_queue_url = aws.resolver.ref(queue_logical_id)
        s3_events = [
            event["Properties"]
            for event in properties.get("Events", {}).values()
            if event["Type"] == "S3"
        ]
        if s3_events:
            name = f"{aws.resolver.physical_name(logical_id)}-s3-events"
            route.event_queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = queue_arn(name)
            for event in s3_events:
                rules = event.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                configuration: dict[str, Any] = {
                    "QueueArn": arn,
                    "Events": [event["Events"]]
                    if isinstance(event["Events"], str)
                    else event["Events"],
                }
                if rules:
                    configuration["Filter"] = {
                        "Key": {
                            "FilterRules": [
                                {"Name": rule["Name"], "Value": aws.resolver.resolve(rule["Value"])}
                                for rule in rules
                            ]
                        }
                    }
                queue_configurations.append(configuration)
        _route_messages(aws, route, properties.get("Events", {}))
        aws.functions[logical_id] = route
    queue_configurations += _bucket_queue_notifications(aws)
    if queue_configurations:
        s3.put_bucket_notification_configuration(
            Bucket=aws.bucket,
            NotificationConfiguration={"QueueConfigurations": queue_configurations},
        )


def _bucket_queue_notifications(aws: LocalAws) -> list[dict[str, Any]]:
    """Resolve the bucket's own ``QueueConfigurations``: S3 sends to those queues itself."""
    bucket = aws.resolver.resources("AWS::S3::Bucket")[MEDIA_BUCKET]
    notifications = bucket["Properties"].get("NotificationConfiguration", {})
    found = []
    for queue in notifications.get("QueueConfigurations", []):
        rules = queue.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        configuration: dict[str, Any] = {
            "QueueArn": aws.resolver.resolve(queue["Queue"]),
            "Events": [queue["Event"]],
        }
        if rules:
            configuration["Filter"] = {
                "Key": {
                    "FilterRules": [
                        {"Name": rule["Name"], "Value": aws.resolver.resolve(rule["Value"])}
                        for rule in rules
                    ]
                }
            }
        found.append(configuration)
    return found


def _route_messages(aws: LocalAws, route: FunctionRoute, events: dict[str, Any]) -> None:
    """Queue the function's SNS subscriptions, and note the SQS queues it consumes."""
    sns, sqs = aws.client("sns"), aws.client("sqs")
    for event_name, event in events.items():
        properties = event.get("Properties", {})
        if event["Type"] == "SNS":
            name = f"{aws.resolver.physical_name(route.logical_id)}-{event_name}-sns"
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            subscription = sns.subscribe(
                TopicArn=aws.resolver.resolve(properties["Topic"]),
                Protocol="sqs",
                Endpoint=queue_arn(name),
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
            route.topic_queue_urls[subscription] = url
        elif event["Type"] == "SQS":
            queue_logical_id = properties["Queue"]["Fn::GetAtt"][0]
            scaling = properties.get("ScalingConfig", {})
            concurrency = scaling.get("MaximumConcurrency")
            route.queue_sources.append(
                QueueSource(
                    queue_url=aws.resolver.ref(queue_logical_id),
                    queue_arn=aws.resolver.resolve(properties["Queue"]),
                    batch_size=int(properties.get("BatchSize", 10)),
                    max_concurrency=int(aws.resolver.resolve(concurrency)) if concurrency else None,
                    partial_batch="ReportBatchItemFailures"
                    in properties.get("FunctionResponseTypes", []),
                )
            )


def _name_collections(aws: LocalAws) -> None:
    for logical_id, collection in aws.resolver.resources("AWS::Rekognition::Collection").items():
        aws.resolver.refs[logical_id] = aws.resolver.resolve(
            collection["Properties"]["CollectionId"]
        )


def collection_ids(aws: LocalAws) -> list[str]:
    """List the face collections the template declares (the local Rekognition creates them)."""
    return [
        aws.resolver.ref(logical_id)
        for logical_id in aws.resolver.resources("AWS::Rekognition::Collection")
    ]


def provision(aws: LocalAws) -> None:
    """Create the template's tables, topics, queues, bucket and event routes."""
    _name_collections(aws)
    _create_tables(aws)
    _create_messaging(aws)
    _create_bucket(aws)
    _route_functions(aws)


def _list_moto_modules_once() -> None:
    """Make moto's server stop listing its package directory on every request.

    moto 5 dispatches each request through ``list_of_moto_modules()``, which calls
    ``os.listdir`` and ``os.path.isdir`` on some 180 folders: about a third of its time per
    request. The list depends only on the installed package, so it is computed once.
    """
    from moto import backends

    if not isinstance(backends.list_of_moto_modules, functools.partial):
        modules = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.partial(iter, modules)


def _serialise_moto_dynamodb_once() -> None:
    """Make moto's DynamoDB answer one request at a time.

    Its query and scan iterate a table's items while another request thread inserts
    into it, and then answer HTTP 500 ("dictionary changed size during iteration"),
    which DynamoDB does not do for that reason. Sandboxes write the catalog while the
    load benchmark queries it, so the requests are serialised, as each is atomic in
    DynamoDB anyway.
    """
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_one_at_a_time", False):
        return
    lock = threading.RLock()
    answer = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return answer(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler._one_at_a_time = True  # type: ignore[attr-defined]


_QUERIED_PARTITION = threading.local()


def _query_one_partition_once() -> None:
    """Make moto's table Query read the queried partition, not the whole table.

    moto answers every Query by listing and sorting all of the table's items, so each
    catalog write (which queries the media item's partition) costs more as the catalog
    grows: in a `make load` run, throughput fell from the quota's ceiling to about half
    of it over 6,000 images. DynamoDB reads one partition. Index queries stay as moto
    does them.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_one_partition_query", False):
        return
    every_item, query = Table.all_items, Table.query

    def all_items(self: Table) -> Any:
        if getattr(_QUERIED_PARTITION, "table", None) is not self:
            return every_item(self)
        partition = self.items.get(_QUERIED_PARTITION.key)
        if partition is None:
            return []
        items = list(partition.values()) if self.range_key_attr else [partition]
        return sorted(items, key=lambda item: item.range_key if item.range_key else item.hash_key)

    def one_partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _QUERIED_PARTITION.table, _QUERIED_PARTITION.key = self, hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _QUERIED_PARTITION.table = None

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = one_partition_query  # type: ignore[method-assign]
    Table._one_partition_query = True  # type: ignore[attr-defined]


@contextmanager
def local_aws(
    stack_name: str = STACK_NAME, parameters: Mapping[str, str] | None = None
) -> Iterator[LocalAws]:
    """Start the stand-in on a free loopback port and provision the template in it.

    ``parameters`` replace the template's defaults, as ``--parameter-overrides`` does.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _list_moto_modules_once()
    _serialise_moto_dynamodb_once()
    _query_one_partition_once()
    s3_events_as_aws_sends_them()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        # moto keeps its state per process: each local stack starts from an empty
        # account, so a process runs one local stack at a time.
        urllib.request.urlopen(
            urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")
        ).close()
        aws = LocalAws(
            endpoint=f"http://{host}:{port}",
            resolver=Resolver(
                stack_name=stack_name,
                account_id=ACCOUNT_ID,
                region=REGION,
                parameters=dict(parameters or {}),
            ),
        )
        provision(aws)
        yield aws
    finally:
        server.stop()


def handler_environment(
    aws: LocalAws,
    logical_id: str,
    rekognition_endpoint: str,
    service_endpoints: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Everything a handler's process needs: the template's variables and local endpoints.

    The handlers reach the stand-ins through boto3's standard endpoint settings, not
    through any code path of their own. ``service_endpoints`` adds stand-ins by
    variable (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``).
    """
    return {
        **CREDENTIALS,
        **aws.resolver.function_environment(logical_id),
        "AWS_ENDPOINT_URL": aws.endpoint,
        "AWS_ENDPOINT_URL_REKOGNITION": rekognition_endpoint,
        **(service_endpoints or {}),
        "AWS_LAMBDA_FUNCTION_NAME": aws.resolver.physical_name(logical_id),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
