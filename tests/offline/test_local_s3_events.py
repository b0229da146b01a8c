"""The local S3's notifications carry what S3's do: versions, sequencers and deletions."""

from __future__ import annotations

import json
from typing import Any

from medialens_local.aws import local_aws


def test_every_put_and_deletion_of_a_versioned_key_is_announced_as_s3_announces_it() -> None:
    key = "uploads/notes/a b.jpg"
    with local_aws() as aws:
        s3, sqs = aws.client("s3"), aws.client("sqs")
        queue = aws.resolver.ref("IngestQueue")

        def announced() -> list[dict[str, Any]]:
            records = []
            while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                for message in messages:
                    body = json.loads(message["Body"])
                    records += body.get("Records", [])
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return records

        announced()  # S3's test event
        first = s3.put_object(Bucket=aws.bucket, Key=key, Body=b"1")["VersionId"]
        second = s3.put_object(Bucket=aws.bucket, Key=key, Body=b"2")["VersionId"]
        marker = s3.delete_object(Bucket=aws.bucket, Key=key)["VersionId"]
        s3.delete_object(Bucket=aws.bucket, Key=key, VersionId=first)
        s3.delete_object(Bucket=aws.bucket, Key=key, VersionId=marker)
        records = announced()

    assert [(r["eventName"], r["s3"]["object"]["versionId"]) for r in records] == [
        ("ObjectCreated:Put", first),
        ("ObjectCreated:Put", second),
        ("ObjectRemoved:DeleteMarkerCreated", marker),
        ("ObjectRemoved:Delete", first),
        ("ObjectRemoved:Delete", marker),
    ]
    sequencers = [r["s3"]["object"]["sequencer"] for r in records]
    assert sequencers == sorted(sequencers)
    assert len(set(sequencers)) == len(sequencers)
    for record in records:
        removal = record["eventName"].startswith("ObjectRemoved")
        assert ("size" in record["s3"]["object"]) is not removal
        assert ("eTag" in record["s3"]["object"]) is not removal
