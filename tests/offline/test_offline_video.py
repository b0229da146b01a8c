"""A video through the offline stack: S3 drop, jobs, SNS completions, results, backlog.

The local Rekognition's quota is lowered to 2 concurrent jobs, so four of the six
analyses must wait in the backlog and be started as the others finish.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from medialens_local import stack
from medialens_local.aws import LocalAws, local_aws
from medialens_local.router import Delivery, Router
from medialens_local.template import ROOT

KEY = "uploads/clips/cat-and-rocket.mp4"


@dataclass
class VideoRun:
    aws: LocalAws
    router: Router
    drop: list[Delivery]
    completions: list[Delivery]


@pytest.fixture(scope="module")
def video_run() -> Iterator[VideoRun]:
    with local_aws() as aws, stack.local_rekognition(aws) as rekognition:
        rekognition.video.concurrent_jobs = 2
        router = Router(aws, rekognition.endpoint)
        router.drain()  # S3's test event
        body = (ROOT / "samples" / KEY).read_bytes()
        aws.client("s3").put_object(Bucket=aws.bucket, Key=KEY, Body=body)
        drop = router.drain(expected=1)
        completions = router.drain(until=lambda: stack.videos_settled(aws, [KEY]), timeout_s=300)
        yield VideoRun(aws, router, drop, completions)


def jobs(aws: LocalAws) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(
        TableName=aws.resolver.ref("VideoJobsTable")
    )["Items"]
    return items


def term(aws: LocalAws, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        aws.client("dynamodb")
        .get_item(
            TableName=aws.resolver.ref("CatalogTable"),
            Key={"pk": {"S": f"MEDIA#{KEY}"}, "sk": {"S": key}},
        )
        .get("Item")
    )
    return item


def test_every_analysis_finishes_though_the_quota_parks_four(video_run: VideoRun) -> None:
    recorded = jobs(video_run.aws)

    assert [d.error for d in video_run.drop] == [None]
    assert video_run.drop[0].response == {"batchItemFailures": []}
    assert len(recorded) == 6
    assert {job["state"]["S"] for job in recorded} == {"SUCCEEDED"}
    parked = [job for job in recorded if "parked_since" in job]
    assert len(parked) == 4
    assert all(int(job["attempts"]["N"]) >= 2 for job in parked)
    assert all(d.error is None for d in video_run.completions)
    meta = stack.catalog_entry(video_run.aws, KEY)
    assert meta is not None
    assert meta["status"]["S"] == "ANALYSED"


def test_the_cat_and_the_title_are_searchable_with_the_seconds_they_show(
    video_run: VideoRun,
) -> None:
    cat = term(video_run.aws, "LABEL#cat")
    title = term(video_run.aws, "WORD#medialens")

    assert cat is not None
    assert title is not None
    assert {int(n) for n in cat["seen_seconds"]["NS"]} <= {0, 1, 2}
    assert {int(n) for n in title["seen_seconds"]["NS"]} <= {6, 7}
    found = video_run.aws.client("dynamodb").query(
        TableName=video_run.aws.resolver.ref("CatalogTable"),
        IndexName="ByTerm",
        KeyConditionExpression="gsi1pk = :term",
        ExpressionAttributeValues={":term": {"S": "LABEL#cat"}},
    )["Items"]
    assert KEY in {item["media_id"]["S"] for item in found}


def test_each_analysis_leaves_its_result_pages_in_s3(video_run: VideoRun) -> None:
    listed = video_run.aws.client("s3").list_objects_v2(
        Bucket=video_run.aws.bucket, Prefix=f"results/{KEY}/"
    )["Contents"]
    keys = {item["Key"].removeprefix(f"results/{KEY}/") for item in listed}

    assert {
        f"{api}/page-00001.json"
        for api in (
            "label_detection",
            "text_detection",
            "face_detection",
            "face_search",
            "content_moderation",
            "segment_detection",
        )
    } <= keys


def test_a_malformed_message_on_the_job_topic_is_kept_with_its_reason(
    video_run: VideoRun,
) -> None:
    aws = video_run.aws
    aws.client("sns").publish(TopicArn=aws.resolver.ref("VideoJobsTopic"), Message="not json")

    [delivery] = video_run.router.drain(expected=1)

    assert delivery.response == {"malformed": 1}
    queue = aws.resolver.ref("AnalysisFailuresQueue")
    messages = aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    reasons = [json.loads(m["Body"]).get("reason") for m in messages.get("Messages", [])]
    assert "malformed" in reasons


def test_the_sweeper_finds_nothing_left_to_do(video_run: VideoRun) -> None:
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    delivery = video_run.router.invoke("VideoSweeperFunction", scheduled)

    assert delivery.error is None
    assert delivery.response == {"timed_out": 0, "restarted": 0, "unparked": 0, "errors": 0}
