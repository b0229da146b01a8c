"""The stack's AWS resources, created in moto from template.yaml itself.

Table keys and indexes, the function environment and the bucket name are read from
the template, so the tests exercise what gets deployed rather than a second copy.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from medialens_local.template import Resolver, load_template

ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "medialens"
ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"


def template() -> dict[str, Any]:
    return load_template()


def _resolver(refs: dict[str, str] | None = None) -> Resolver:
    return Resolver(STACK_NAME, ACCOUNT_ID, REGION, refs=dict(refs or {}))


def physical_name(logical_id: str) -> str:
    """Name a resource the way the local stack does: ``<stack>-<LogicalId>``."""
    return _resolver().physical_name(logical_id)


def resolve(value: Any, refs: dict[str, str] | None = None) -> str:
    """Resolve the intrinsic functions used in the template's environment section."""
    return _resolver(refs).resolve(value)


def resource(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"][logical_id]
    return found


def role_of(function: str) -> dict[str, Any]:
    role_name = resource(function)["Properties"]["Role"]["Fn::GetAtt"][0]
    return resource(role_name)


def statements_of(function: str) -> list[dict[str, Any]]:
    """Every IAM statement the function's role carries, inline and managed."""
    role = role_of(function)["Properties"]
    documents = [policy["PolicyDocument"] for policy in role["Policies"]]
    documents += [
        resource(arn["Ref"])["Properties"]["PolicyDocument"]
        for arn in role.get("ManagedPolicyArns", [])
    ]
    found: list[dict[str, Any]] = []
    for document in documents:
        for statement in document["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found.append(statement)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted_actions(function: str) -> set[str]:
    """The IAM actions the function's role allows, on whatever resource."""
    return {action for s in statements_of(function) for action in as_list(s["Action"])}


def custom_resource_request(
    kind: str, logical_id: str, properties: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """A CloudFormation custom-resource request, as the CloudFormation docs show it.

    ``properties`` are the resource's (its ServiceToken added); ``extra`` adds or replaces
    top-level fields (``PhysicalResourceId``, ``OldResourceProperties``).
    """
    return {
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:custom-resource",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/response",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/medialens/guid",
        "RequestId": "unique-id-for-this-request",
        "ResourceType": resource(logical_id)["Type"],
        "LogicalResourceId": logical_id,
        "ResourceProperties": {"ServiceToken": "x", **properties},
        **extra,
    }


def bucket_name() -> str:
    return resolve(resource("MediaBucket")["Properties"]["BucketName"])


def function_environment(
    refs: dict[str, str], logical_id: str = "AnalyzeMediaFunction"
) -> dict[str, str]:
    """A function's environment, resolved with ``refs`` for resources such as the topic."""
    return _resolver(refs).function_environment(logical_id)


def create_table(client: Any, logical_id: str) -> str:
    """Create a DynamoDB table with the key schema and indexes the template declares."""
    # Imported here: medialens_local.aws imports moto, whose botocore hooks would
    # otherwise ride along into every process that only needs the template (the bench).
    from medialens_local.aws import create_table as create_template_table

    return create_template_table(client, _resolver(), logical_id)


@dataclass
class Stack:
    bucket: str
    catalog_table: str
    idempotency_table: str
    alerts_topic_arn: str
    alerts_queue_url: str
    face_collection_id: str
    s3: Any
    dynamodb: Any
    sqs: Any
    ingest_queue_url: str = ""
    dead_letter_queue_url: str = ""
    puts: int = 0

    def catalog_item(self, media_id: str, sk: str = "META") -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.catalog_table,
            Key={"pk": {"S": f"MEDIA#{media_id}"}, "sk": {"S": sk}},
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def media_items(self, media_id: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=self.catalog_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"MEDIA#{media_id}"}},
        )
        items: list[dict[str, Any]] = response["Items"]
        return items

    def search(self, index: str, key: str) -> list[str]:
        """Media ids under a catalog index key, most confident first."""
        attribute = "gsi1pk" if index == "ByTerm" else "gsi2pk"
        response = self.dynamodb.query(
            TableName=self.catalog_table,
            IndexName=index,
            KeyConditionExpression=f"{attribute} = :key",
            ExpressionAttributeValues={":key": {"S": key}},
            ScanIndexForward=False,
        )
        return [item["media_id"]["S"] for item in response["Items"]]

    def result_document(self, key: str) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        document: dict[str, Any] = json.loads(body)
        return document

    def keys(self, prefix: str = "") -> list[str]:
        response = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [entry["Key"] for entry in response.get("Contents", [])]

    def alerts(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(json.loads(m["Body"])["Message"]) for m in response.get("Messages", [])]

    def receive_as_lambda(self, *bodies: str) -> dict[str, Any]:
        """Send ``bodies`` to the ingest queue and receive them as Lambda's SQS event.

        The receipt handles and attributes are the queue's own, so what the handler does
        with them (visibility, redelivery) happens to real messages.
        """
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.ingest_queue_url, MessageBody=body)
        messages = self.sqs.receive_message(
            QueueUrl=self.ingest_queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        assert len(messages) == len(bodies)
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": message.get("MessageAttributes", {}),
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:ingest",
                    "awsRegion": REGION,
                }
                for message in messages
            ]
        }

    def put_object(self, key: str, body: bytes) -> dict[str, Any]:
        """Upload like a user would and return the S3 notification S3 would send."""
        put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.puts += 1
        return s3_event(
            self.bucket,
            key,
            len(body),
            put["ETag"].strip('"'),
            put.get("VersionId"),
            sequencer=f"{0x0055AED6DCD90281E5 + self.puts:018X}",
        )

    def delete_object(self, key: str, version_id: str | None = None) -> dict[str, Any]:
        """Delete like a user would (a delete marker, or one version for good).

        Returns the ``ObjectRemoved`` notification S3 would send, with a sequencer later
        than every event before it.
        """
        params = {"Bucket": self.bucket, "Key": key}
        if version_id is not None:
            params["VersionId"] = version_id
        deleted = self.s3.delete_object(**params)
        self.puts += 1
        event = s3_event(
            self.bucket,
            key,
            0,
            "",
            deleted.get("VersionId") or version_id,
            sequencer=f"{0x0055AED6DCD90281E5 + self.puts:018X}",
        )
        record = event["Records"][0]
        record["eventName"] = (
            "ObjectRemoved:Delete" if version_id else "ObjectRemoved:DeleteMarkerCreated"
        )
        for absent in ("size", "eTag"):  # a removal record carries neither
            record["s3"]["object"].pop(absent)
        return event


def s3_event(
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    sequencer: str = "0055AED6DCD90281E5",
) -> dict[str, Any]:
    """An ObjectCreated:Put notification for one object, shaped like events/s3_put_upload.json."""
    from urllib.parse import quote_plus

    event: dict[str, Any] = json.loads((ROOT / "events" / "s3_put_upload.json").read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    s3_object = {
        "key": quote_plus(key, safe="/"),
        "size": size,
        "eTag": etag,
        "sequencer": sequencer,
    }
    if version_id:
        s3_object["versionId"] = version_id
    record["s3"]["object"] = s3_object
    return event


def load_handler(function_dir: str) -> ModuleType:
    """Import ``functions/<function_dir>/handler.py`` as a fresh module."""
    path = ROOT / "functions" / function_dir / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{function_dir}_handler", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
