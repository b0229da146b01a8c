"""The deployed handler, unchanged, against the local stack: S3 drop to catalog, offline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from medialens_local import demo
from medialens_local.aws import LocalAws, local_aws
from medialens_local.router import Router
from medialens_local.template import ROOT
from rich.console import Console

from tests.support.stack import s3_event

SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def pipeline() -> Iterator[tuple[LocalAws, Router]]:
    with local_aws() as aws, demo.local_rekognition(aws) as rekognition:
        router = Router(aws, rekognition.endpoint)
        s3 = aws.client("s3")
        for drop in demo.plan_drops(SAMPLES, "uploads/", "faces/"):
            s3.put_object(Bucket=aws.bucket, Key=drop.key, Body=drop.path.read_bytes())
            router.drain(expected=1)
        yield aws, router


def search(aws: LocalAws, term: str) -> list[str]:
    response = aws.client("dynamodb").query(
        TableName=aws.resolver.ref("CatalogTable"),
        IndexName="ByTerm",
        KeyConditionExpression="gsi1pk = :term",
        ExpressionAttributeValues={":term": {"S": term}},
    )
    return [item["media_id"]["S"] for item in response["Items"]]


def test_the_template_wires_the_stack(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline
    route = aws.functions["AnalyzeImageFunction"]

    assert aws.bucket == "medialens-local-media-123456789012-eu-west-1"
    assert route.event_queue_url is not None
    assert route.failure_queue_url is not None
    assert aws.functions["AnalyzeImageBytesFunction"].event_queue_url is None


def test_a_rendered_word_is_searchable(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline

    assert search(aws, "WORD#invoice") == ["uploads/docs/invoice.png"]


def test_a_cat_is_found_by_label(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline

    assert "uploads/pets/chelsea the cat.jpg" in search(aws, "LABEL#cat")
    assert "uploads/pets/chelsea the cat.jpg" in search(aws, "LABEL#animal")


def test_a_face_is_matched_to_the_person_of_the_reference_photo(
    pipeline: tuple[LocalAws, Router],
) -> None:
    aws, _ = pipeline

    assert sorted(search(aws, "PERSON#eileen-collins")) == [
        "faces/eileen-collins/reference.jpg",
        "uploads/mission/portrait.jpg",
    ]


def test_a_gif_is_recorded_as_rejected(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline

    meta = demo.catalog_entry(aws, "uploads/docs/notes.gif")

    assert meta is not None
    assert meta["rejection_reason"]["S"] == "unsupported_format"


def test_a_failing_handler_is_retried_then_parked_in_the_failure_queue(
    pipeline: tuple[LocalAws, Router],
) -> None:
    aws, router = pipeline
    event: dict[str, Any] = s3_event("no-such-bucket", "uploads/lost.jpg", 1024, "0" * 32, None)

    delivery = router.invoke("AnalyzeImageFunction", event)

    assert delivery.attempts == 3
    assert delivery.error is not None
    assert "NoSuchBucket" in delivery.error
    queue = aws.functions["AnalyzeImageFunction"].failure_queue_url
    [message] = aws.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    assert '"condition": "RetriesExhausted"' in message["Body"]


def test_make_demo_reports_every_file_and_draws_the_boxes(tmp_path: Any) -> None:
    console = Console(record=True, width=200)

    code = demo.run(SAMPLES, console, out=tmp_path)

    assert code == 0
    text = console.export_text()
    assert "rejected: unsupported_format" in text
    assert "eileen-collins" in text
    page = (tmp_path / "report.html").read_text()
    assert page.count('class="face"') >= 2
    assert 'class="text"' in page
