"""The deployed handler, unchanged, against the local stack: S3 drop to catalog, offline."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from medialens_local import demo, stack
from medialens_local.aws import LocalAws, collection_ids, local_aws
from medialens_local.router import Delivery, Router
from medialens_local.template import ROOT
from PIL import Image
from rich.console import Console

from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.stack import s3_event

SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[LocalAws, stack.LocalRekognitionService]]:
    with local_aws() as aws, stack.local_rekognition(aws) as rekognition:
        yield aws, rekognition


@pytest.fixture(scope="module")
def deployed(
    services: tuple[LocalAws, stack.LocalRekognitionService],
) -> tuple[Router, list[Delivery]]:
    """The router, and what it delivered right after the deploy (S3's test event)."""
    aws, rekognition = services
    router = Router(aws, rekognition.endpoint)
    return router, router.drain()


@pytest.fixture(scope="module")
def pipeline(
    services: tuple[LocalAws, stack.LocalRekognitionService],
    deployed: tuple[Router, list[Delivery]],
) -> tuple[LocalAws, Router]:
    aws, _ = services
    router, _ = deployed
    s3 = aws.client("s3")
    for drop in stack.plan_drops(SAMPLES, "uploads/", "faces/"):
        s3.put_object(Bucket=aws.bucket, Key=drop.key, Body=drop.path.read_bytes())
        router.drain(expected=1)
    return aws, router


def test_s3s_test_event_reaches_the_handler_and_is_acknowledged(
    services: tuple[LocalAws, stack.LocalRekognitionService],
    deployed: tuple[Router, list[Delivery]],
) -> None:
    aws, _ = services
    _, deliveries = deployed

    # S3 sends it when the notification configuration is saved; nothing filters it out.
    [delivery] = deliveries
    [record] = delivery.event["Records"]
    assert json.loads(record["body"])["Event"] == "s3:TestEvent"
    assert delivery.function == "AnalyzeMediaFunction"
    assert (delivery.error, delivery.response) == (None, {"batchItemFailures": []})
    dead = aws.client("sqs").receive_message(QueueUrl=aws.resolver.ref("IngestDeadLetterQueue"))
    assert dead.get("Messages", []) == []


def test_the_template_wires_the_stack(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline
    route = aws.functions["AnalyzeMediaFunction"]

    # Named from NamePrefix's default, not from the local stack's name.
    assert aws.bucket == "medialens-media-123456789012-eu-west-1"
    [ingest] = route.queue_sources
    assert ingest.queue_url == aws.resolver.ref("IngestQueue")
    assert (ingest.batch_size, ingest.max_concurrency, ingest.partial_batch) == (5, 5, True)
    assert aws.functions["AnalyzeImageBytesFunction"].event_queue_url is None
    results = aws.functions["VideoResultsFunction"]
    assert len(results.topic_queue_urls) == 1
    [source] = results.queue_sources
    assert source.queue_url == aws.resolver.ref("VideoContinuationQueue")
    assert source.batch_size == 1


def test_a_rendered_word_is_searchable(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline

    assert stack.media_with_term(aws, "WORD#invoice") == ["uploads/docs/invoice.png"]


def test_a_cat_is_found_by_label(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline

    assert "uploads/pets/chelsea the cat.jpg" in stack.media_with_term(aws, "LABEL#cat")
    assert "uploads/pets/chelsea the cat.jpg" in stack.media_with_term(aws, "LABEL#animal")


def test_a_face_is_matched_to_the_person_of_the_reference_photo(
    pipeline: tuple[LocalAws, Router],
) -> None:
    aws, _ = pipeline

    assert sorted(stack.media_with_term(aws, "PERSON#eileen-collins")) == [
        "faces/eileen-collins/reference.jpg",
        "uploads/mission/portrait.jpg",
    ]


def test_a_gif_is_recorded_as_rejected(pipeline: tuple[LocalAws, Router]) -> None:
    aws, _ = pipeline

    meta = stack.catalog_entry(aws, "uploads/docs/notes.gif")

    assert meta is not None
    assert meta["rejection_reason"]["S"] == "unsupported_format"


def tiny_image(form: str, exif_padding: int = 0) -> bytes:
    buffer = io.BytesIO()
    extra = {"exif": b"Exif\x00\x00" + bytes(exif_padding)} if exif_padding else {}
    Image.new("RGB", (50, 50), (200, 40, 40)).save(buffer, form, **extra)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        # The header shows the size: rejected before Rekognition is asked.
        ("uploads/tiny.png", tiny_image("PNG"), "too_small"),
        # A long EXIF block hides the JPEG's size from the bytes read: Rekognition refuses.
        ("uploads/tiny.jpg", tiny_image("JPEG", exif_padding=16_384), "invalid_image_parameters"),
    ],
)
def test_an_image_under_rekognitions_minimum_is_rejected_not_retried(
    pipeline: tuple[LocalAws, Router], key: str, body: bytes, reason: str
) -> None:
    aws, router = pipeline
    aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=body)

    [delivery] = [d for d in router.drain(expected=1) if d.function == "AnalyzeMediaFunction"]
    meta = stack.catalog_entry(aws, key)

    assert delivery.response == {"batchItemFailures": []}
    assert meta is not None
    assert meta["status"]["S"] == "REJECTED"
    assert meta["rejection_reason"]["S"] == reason
    assert "80" in meta["rejection_detail"]["S"]


def test_the_local_rekognition_reads_objects_by_version_and_misses_cleanly(
    pipeline: tuple[LocalAws, Router],
) -> None:
    aws, _ = pipeline
    s3 = aws.client("s3")
    first = s3.put_object(Bucket=aws.bucket, Key="scratch/versioned.bin", Body=b"one")
    s3.put_object(Bucket=aws.bucket, Key="scratch/versioned.bin", Body=b"two")

    assert aws.read_object(aws.bucket, "scratch/versioned.bin", None) == b"two"
    assert aws.read_object(aws.bucket, "scratch/versioned.bin", first["VersionId"]) == b"one"
    with pytest.raises(KeyError):
        aws.read_object(aws.bucket, "scratch/missing.bin", None)
    with pytest.raises(KeyError):
        aws.read_object("no-such-bucket", "scratch/versioned.bin", None)


def test_a_drop_that_keeps_failing_is_dead_lettered_after_five_receives(
    pipeline: tuple[LocalAws, Router],
) -> None:
    aws, router = pipeline
    sqs = aws.client("sqs")
    ingest = aws.resolver.ref("IngestQueue")
    event = s3_event("no-such-bucket", "uploads/lost.jpg", 1024, "0" * 32, None)
    sqs.send_message(QueueUrl=ingest, MessageBody=json.dumps(event))

    def next_ingest_delivery() -> Delivery:
        # Video completions of the samples may arrive in between.
        for _ in range(100):
            for delivery in router.drain(expected=1):
                if delivery.function == "AnalyzeMediaFunction":
                    return delivery
        raise AssertionError("the ingest queue delivered nothing")

    for _ in range(5):
        delivery = next_ingest_delivery()
        [record] = delivery.event["Records"]
        assert delivery.response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        # The handler made the message invisible for its back-off; let that time pass.
        sqs.change_message_visibility(
            QueueUrl=ingest, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
        )
    # The sixth receive finds SQS has moved it.
    assert not [d for d in router.drain() if d.function == "AnalyzeMediaFunction"]

    [parked] = sqs.receive_message(QueueUrl=aws.resolver.ref("IngestDeadLetterQueue"))["Messages"]
    assert json.loads(parked["Body"]) == event


def ingested(router: Router, *keys: str) -> list[Delivery]:
    """Deliver ingest queue batches until every key in ``keys`` was handled.

    Video completions may come in between, and the queue may batch several keys in one.
    """
    found: list[Delivery] = []
    waiting = set(keys)
    for _ in range(24):
        batch = [d for d in router.drain(expected=1) if d.function == "AnalyzeMediaFunction"]
        found += batch
        waiting -= {key for delivery in batch for key in stack.delivery_keys(delivery)}
        if not waiting:
            return found
    raise AssertionError(f"the ingest queue never delivered {sorted(waiting)}")


def result_versions(aws: LocalAws, key: str) -> list[str]:
    listed = aws.client("s3").list_object_versions(Bucket=aws.bucket, Prefix=f"results/{key}")
    return [v["Key"] for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]


def test_a_deleted_photo_is_found_no_more_and_its_results_are_gone(
    pipeline: tuple[LocalAws, Router],
) -> None:
    aws, router = pipeline
    s3 = aws.client("s3")
    key = "uploads/lifecycle/cat.jpg"
    s3.put_object(
        Bucket=aws.bucket, Key=key, Body=(SAMPLES / "uploads/pets/chelsea the cat.jpg").read_bytes()
    )
    ingested(router, key)
    assert key in stack.media_with_term(aws, "LABEL#cat")
    assert result_versions(aws, key) == [f"results/{key}.json"]

    s3.delete_object(Bucket=aws.bucket, Key=key)  # a delete marker, as the console makes
    [delivery] = ingested(router, key)

    assert delivery.response == {"batchItemFailures": []}
    assert key not in stack.media_with_term(aws, "LABEL#cat")
    assert key not in stack.media_with_term(aws, "NAME#cat.jpg")
    assert stack.catalog_entry(aws, key) is None
    assert result_versions(aws, key) == []


def test_a_deleted_reference_photo_matches_nobody_any_more(
    pipeline: tuple[LocalAws, Router],
    services: tuple[LocalAws, stack.LocalRekognitionService],
) -> None:
    aws, router = pipeline
    s3 = aws.client("s3")
    reference = "faces/lifecycle-person/reference.jpg"
    portrait = (SAMPLES / "uploads/mission/portrait.jpg").read_bytes()
    s3.put_object(
        Bucket=aws.bucket,
        Key=reference,
        Body=(SAMPLES / "faces/eileen-collins/reference.jpg").read_bytes(),
    )
    # One after the other: the portrait must meet the reference's face in the collection.
    ingested(router, reference)
    s3.put_object(Bucket=aws.bucket, Key="uploads/lifecycle/before.jpg", Body=portrait)
    ingested(router, "uploads/lifecycle/before.jpg")
    assert "uploads/lifecycle/before.jpg" in stack.media_with_term(aws, "PERSON#lifecycle-person")

    s3.delete_object(Bucket=aws.bucket, Key=reference)
    ingested(router, reference)
    s3.put_object(Bucket=aws.bucket, Key="uploads/lifecycle/after.jpg", Body=portrait)
    ingested(router, "uploads/lifecycle/after.jpg")

    assert stack.media_with_term(aws, "PERSON#lifecycle-person") == ["uploads/lifecycle/before.jpg"]
    assert "uploads/lifecycle/after.jpg" in stack.media_with_term(aws, "PERSON#eileen-collins")
    matches = face_matches(services, portrait)
    assert "lifecycle-person" not in {m["Face"]["ExternalImageId"] for m in matches}


def test_forgetting_a_person_erases_them_from_bucket_catalog_results_and_collection(
    pipeline: tuple[LocalAws, Router],
    services: tuple[LocalAws, stack.LocalRekognitionService],
) -> None:
    aws, router = pipeline
    s3 = aws.client("s3")
    person = "forget-me"
    reference = f"faces/{person}/reference.jpg"
    tagged = "uploads/forget/portrait.jpg"
    portrait = (SAMPLES / "uploads/mission/portrait.jpg").read_bytes()
    face = (SAMPLES / "faces/eileen-collins/reference.jpg").read_bytes()
    s3.put_object(Bucket=aws.bucket, Key=reference, Body=face)
    s3.put_object(Bucket=aws.bucket, Key=reference, Body=face)  # a second version
    ingested(router, reference)
    s3.put_object(Bucket=aws.bucket, Key=tagged, Body=portrait)
    ingested(router, tagged)
    assert stack.media_of_person(aws, person) == [reference, tagged]

    delivery = router.invoke_sync("ForgetPersonFunction", {"person_id": person})
    router.drain()  # the deletions S3 announces find nothing left to do
    s3.put_object(Bucket=aws.bucket, Key="uploads/forget/again.jpg", Body=portrait)
    ingested(router, "uploads/forget/again.jpg")

    assert delivery.error is None
    assert delivery.response["erased"] is True
    assert delivery.response["reference_versions"] == 2
    assert stack.media_of_person(aws, person) == []
    assert stack.catalog_entry(aws, reference) is None
    assert result_versions(aws, reference) == []
    listed = s3.list_object_versions(Bucket=aws.bucket, Prefix=f"faces/{person}/")
    assert listed.get("Versions", []) == listed.get("DeleteMarkers", []) == []
    result = stack.result_document(aws, tagged)
    assert result is not None
    assert person not in json.dumps(result)
    assert person not in {m["Face"]["ExternalImageId"] for m in face_matches(services, portrait)}
    assert stack.media_of_person(aws, "eileen-collins")  # nobody else was touched
    audit = stack.erasure_audit(aws)
    assert any(record["person_digest"] == delivery.response["person_digest"] for record in audit)
    assert person not in json.dumps(audit)


def face_matches(
    services: tuple[LocalAws, stack.LocalRekognitionService], image: bytes
) -> list[dict[str, Any]]:
    aws, rekognition = services
    [collection] = collection_ids(aws)
    matches: list[dict[str, Any]] = rekognition.client().search_faces_by_image(
        CollectionId=collection, Image={"Bytes": image}, FaceMatchThreshold=80
    )["FaceMatches"]
    return matches


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("demo")
    console = Console(record=True, width=200)
    code = demo.run(SAMPLES, console, out=out)
    return code, console.export_text(), out


def test_make_demo_reports_every_file_and_draws_the_boxes(
    demo_run: tuple[int, str, Path],
) -> None:
    code, text, out = demo_run

    assert code == 0
    assert "rejected: unsupported_format" in text
    [portrait] = [line for line in text.splitlines() if "uploads/mission/portrait.jpg" in line]
    assert "eileen-collins" in portrait
    [video] = [line for line in text.splitlines() if "uploads/clips/cat-and-r" in line]
    assert "ANALYSED" in video
    assert "Cat 0-" in video
    page = (out / "report.html").read_text()
    assert page.count('class="face"') >= 2
    assert 'class="text"' in page
    assert 'class="timeline"' in page


def colour_share(png: Path, rgb: tuple[int, int, int]) -> float:
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    close = (np.abs(pixels - np.array(rgb)).sum(axis=1) < 40).sum()
    return float(close) / len(pixels)


@pytest.mark.browser
def test_the_report_renders_with_its_boxes_in_a_browser(
    demo_run: tuple[int, str, Path], tmp_path: Path
) -> None:
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium)")
    _, _, out = demo_run
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1000,4200",
            f"--screenshot={screenshot}",
            (out / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )

    # Without its boxes the page has none of these colours (no sample image has them).
    assert colour_share(screenshot, (255, 59, 48)) > 0.0001  # face boxes
    assert colour_share(screenshot, (0, 122, 255)) > 0.0001  # text boxes
