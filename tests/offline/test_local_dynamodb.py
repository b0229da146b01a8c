"""The local DynamoDB as sandboxes and a poller use it: concurrent, and queried by partition."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from medialens_local.aws import REGION, local_aws

PREFILLED = 3000
RACE_S = 4.0
SWITCH_INTERVAL_S = 1e-5
"""Threads switch often, so the race shows within seconds rather than in a long run."""


def test_queries_during_writes_are_answered_not_failed() -> None:
    # moto answered HTTP 500 when a query iterated a table another thread inserted into;
    # DynamoDB does not, and the load benchmark's poller met it eight times in one run.
    with local_aws() as aws:
        table = aws.resolver.ref("CatalogTable")
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=aws.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}),
        )

        def item(pk: str, n: int) -> dict[str, dict[str, str]]:
            return {
                "pk": {"S": pk},
                "sk": {"S": "META"},
                "gsi1pk": {"S": "T"},
                "gsi1sk": {"S": f"{n}"},
            }

        for start in range(0, PREFILLED, 25):
            dynamodb.batch_write_item(
                RequestItems={
                    table: [
                        {"PutRequest": {"Item": item(f"OLD#{n}", n)}}
                        for n in range(start, start + 25)
                    ]
                }
            )
        stop, failures, answered = threading.Event(), [], [0]

        def write(worker: int) -> None:
            n = 0
            while not stop.is_set():
                dynamodb.put_item(TableName=table, Item=item(f"NEW#{worker}#{n}", n))
                n += 1

        def query() -> None:
            while not stop.is_set():
                try:
                    dynamodb.query(
                        TableName=table,
                        IndexName="ByTerm",
                        KeyConditionExpression="gsi1pk = :term",
                        ExpressionAttributeValues={":term": {"S": "T"}},
                        Limit=1,
                    )
                    answered[0] += 1
                except ClientError as error:
                    failures.append(error.response["Error"].get("Code"))

        usual_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
        threads += [threading.Thread(target=query) for _ in range(2)]
        try:
            for thread in threads:
                thread.start()
            time.sleep(RACE_S)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            sys.setswitchinterval(usual_interval)

    assert failures == []
    assert answered[0] > 0


def test_a_partition_query_answers_as_dynamodb_does_among_other_partitions() -> None:
    # The local DynamoDB reads only the queried partition; order, paging and filters hold.
    with local_aws() as aws:
        table = aws.resolver.ref("CatalogTable")
        dynamodb = aws.client("dynamodb")
        for pk in ("MEDIA#a", "MEDIA#b", "MEDIA#c"):
            for sk in ("TERM#3", "META", "TERM#1", "TERM#2"):
                dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})

        def page(condition: str = "pk = :pk", **options: Any) -> dict[str, Any]:
            return dynamodb.query(  # type: ignore[no-any-return]
                TableName=table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues={":pk": {"S": "MEDIA#b"}, **options.pop("values", {})},
                **options,
            )

        first = page(Limit=2, ScanIndexForward=False)
        rest = page(ScanIndexForward=False, ExclusiveStartKey=first["LastEvaluatedKey"])
        terms = page(
            "pk = :pk AND begins_with(sk, :term)",
            values={":term": {"S": "TERM#"}},
        )
        missing = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "MEDIA#none"}},
        )

    keys = [(i["pk"]["S"], i["sk"]["S"]) for i in first["Items"] + rest["Items"]]
    assert keys == [("MEDIA#b", sk) for sk in ("TERM#3", "TERM#2", "TERM#1", "META")]
    assert [i["sk"]["S"] for i in terms["Items"]] == ["TERM#1", "TERM#2", "TERM#3"]
    assert missing["Items"] == []
