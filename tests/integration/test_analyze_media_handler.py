"""The S3-drop handler end to end: moto S3/DynamoDB/SNS, Rekognition stubbed to its model."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.support import rekognition as answers
from tests.support.images import gif_bytes, heic_bytes, jpeg_bytes, mp4_bytes, png_bytes
from tests.support.s3_examples import EVENTBRIDGE_OBJECT_CREATED, S3_TEST_EVENT
from tests.support.sam_events import sam_event
from tests.support.stack import ROOT, Stack, granted_actions, load_handler, resource


@pytest.fixture
def handler() -> Any:
    return load_handler("analyze_media")


COUNTS = ("analysed", "rejected", "ignored", "started", "removed", "flagged")


class BatchLog(logging.Handler):
    """Keeps the handler's "Ingest batch consumed" line, which carries the counts."""

    def __init__(self) -> None:
        super().__init__()
        self.summary: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "Ingest batch consumed":
            self.summary = {name: getattr(record, name) for name in COUNTS}


def deliver(
    stack: Stack, handler: Any, event: dict[str, Any], context: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """Send an S3 notification through the ingest queue to the handler, as Lambda would.

    Returns the partial batch response and the counts the handler logged.
    """
    return run_batch(handler, stack.receive_as_lambda(json.dumps(event)), context)


def run_batch(
    handler: Any, batch: dict[str, Any], context: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """Hand the handler an SQS batch; return its response and the counts it logged."""
    log = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"])
    batch_log = BatchLog()
    log.addHandler(batch_log)
    try:
        response = handler.lambda_handler(batch, context)
    finally:
        log.removeHandler(batch_log)
    return response, batch_log.summary


def invoke(stack: Stack, handler: Any, event: dict[str, Any], context: Any) -> dict[str, int]:
    """Deliver ``event``, expect the batch to succeed, and return the logged counts."""
    response, summary = deliver(stack, handler, event, context)
    assert response == {"batchItemFailures": []}
    return summary


def emitted_metrics(output: str) -> dict[str, list[list[str]]]:
    """Metric name -> the dimension sets it is published under (from the EMF lines)."""
    found: dict[str, list[list[str]]] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    found.setdefault(metric["Name"], []).extend(directive["Dimensions"])
    return found


def test_upload_is_analysed_into_s3_and_a_searchable_catalog(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/my photo +1 café.jpg"
    event = stack.put_object(key, jpeg_bytes())
    record = event["Records"][0]["s3"]["object"]
    assert record["key"] == "uploads/my+photo+%2B1+caf%C3%A9.jpg"
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, record["versionId"]),
        labels=(("Dog", 97.5), ("Beach", 91.0)),
        lines=("INVOICE 42",),
        matches=(("alice", 99.2),),
        collection_id=stack.face_collection_id,
    )

    summary = invoke(stack, handler, event, lambda_context)

    assert summary == {
        "analysed": 1,
        "rejected": 0,
        "ignored": 0,
        "started": 0,
        "removed": 0,
        "flagged": 0,
    }
    document = stack.result_document(f"results/{key}.json")
    assert [label["name"] for label in document["labels"]] == ["Dog", "Beach"]
    assert document["words"] == ["invoice", "42"]
    assert document["faces"][0]["dominant_emotion"] == "HAPPY"
    assert document["faces"][0]["age_low"] == 26
    assert document["image_properties"]["dominant_colors"][0]["simplified"] == "blue"
    assert document["persons"] == ["alice"]
    full = document["rekognition"]
    assert sorted(full) == [
        "DetectFaces",
        "DetectLabels",
        "DetectModerationLabels",
        "DetectText",
        "SearchFacesByImage",
    ]
    assert full["DetectFaces"][0]["FaceDetails"][0]["Emotions"][0]["Type"] == "HAPPY"
    assert full["DetectLabels"][0]["LabelModelVersion"] == "3.0"
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["status"]["S"] == "ANALYSED"
    assert meta["version_id"]["S"] == record["versionId"]
    assert stack.search("ByTerm", "LABEL#dog") == [key]
    assert stack.search("ByTerm", "LABEL#animal") == [key]
    assert stack.search("ByTerm", "WORD#invoice") == [key]
    assert stack.search("ByTerm", "PERSON#alice") == [key]
    assert stack.search("Flagged", "FLAGGED") == []
    assert stack.alerts() == []


def test_flagged_media_is_marked_and_announced(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/party.png"
    event = stack.put_object(key, png_bytes())
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"]),
        moderation=(("Drinking", "Alcohol", 91.3), ("Smoking", "Drugs & Tobacco", 62.0)),
        faces=0,
        collection_id=stack.face_collection_id,
    )

    summary = invoke(stack, handler, event, lambda_context)

    assert summary["flagged"] == 1
    assert stack.search("Flagged", "FLAGGED") == [key]
    assert stack.search("ByTerm", "MODERATION#drinking") == [key]
    [alert] = stack.alerts()
    assert alert["media_id"] == key
    assert {label["name"] for label in alert["moderation_labels"]} == {"Drinking", "Smoking"}


def test_below_threshold_moderation_is_recorded_but_not_flagged(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/glass.jpg"
    event = stack.put_object(key, jpeg_bytes())
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"]),
        moderation=(("Drinking", "Alcohol", 79.9),),
        faces=0,
        collection_id=stack.face_collection_id,
    )

    summary = invoke(stack, handler, event, lambda_context)

    assert summary["flagged"] == 0
    assert stack.search("Flagged", "FLAGGED") == []
    assert stack.search("ByTerm", "MODERATION#drinking") == [key]
    assert stack.alerts() == []


def queue_reference_indexing(
    rekognition: Stubber, stack: Stack, image: dict[str, Any], person: str, first: int
) -> list[str]:
    answer = answers.index_response(person, first=first)
    rekognition.add_response(
        "index_faces",
        answer,
        {
            "CollectionId": stack.face_collection_id,
            "Image": image,
            "ExternalImageId": person,
            "DetectionAttributes": ["DEFAULT"],
            "MaxFaces": 1,
            "QualityFilter": "AUTO",
        },
    )
    answers.queue_full_analysis(rekognition, image, faces=0, collection_id="unused")
    return [record["Face"]["FaceId"] for record in answer["FaceRecords"]]


def enrol_alice(stack: Stack, rekognition: Stubber, handler: Any, context: Any) -> list[str]:
    """Drop Alice's reference photo, have it indexed, and return its face ids."""
    key = "faces/alice/reference.jpg"
    event = stack.put_object(key, jpeg_bytes())
    image = answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"])
    faces = queue_reference_indexing(rekognition, stack, image, "alice", first=0)
    invoke(stack, handler, event, context)
    return faces


def test_face_reference_is_indexed_under_the_person_id(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "faces/alice/reference.jpg"
    event = stack.put_object(key, jpeg_bytes())
    image = answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"])
    [face_id] = queue_reference_indexing(rekognition, stack, image, "alice", first=0)

    invoke(stack, handler, event, lambda_context)

    assert stack.search("ByTerm", "PERSON#alice") == [key]
    document = stack.result_document(f"results/{key}.json")
    assert document["indexed_faces"][0] == {
        "person_id": "alice",
        "face_id": face_id,
        "confidence": 99.9,
    }
    assert "face_index" in document["features_run"]
    reference = stack.catalog_item(key, "REFERENCE_FACES")
    assert reference is not None
    assert [value["S"] for value in reference["face_ids"]["L"]] == [face_id]


def test_a_new_reference_photo_replaces_the_persons_old_face(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "faces/alice/reference.jpg"
    old_faces = enrol_alice(stack, rekognition, handler, lambda_context)
    second = stack.put_object(key, png_bytes())
    image = answers.s3_image(stack.bucket, key, second["Records"][0]["s3"]["object"]["versionId"])
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": old_faces},
        {"CollectionId": stack.face_collection_id, "FaceIds": old_faces},
    )
    new_faces = queue_reference_indexing(rekognition, stack, image, "alice", first=1)

    invoke(stack, handler, second, lambda_context)

    reference = stack.catalog_item(key, "REFERENCE_FACES")
    assert reference is not None
    assert [value["S"] for value in reference["face_ids"]["L"]] == new_faces
    assert new_faces != old_faces


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (gif_bytes(), "unsupported_format"),
        (b"", "empty"),
        (jpeg_bytes() + bytes(15 * 1024 * 1024), "too_large"),
    ],
    ids=["not-an-image", "empty", "too-large"],
)
def test_a_rejected_new_reference_photo_takes_the_old_face_out_of_the_collection(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any, body: bytes, reason: str
) -> None:
    key = "faces/alice/reference.jpg"
    old_faces = enrol_alice(stack, rekognition, handler, lambda_context)
    assert stack.search("ByTerm", "PERSON#alice") == [key]
    second = stack.put_object(key, body)
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": old_faces},
        {"CollectionId": stack.face_collection_id, "FaceIds": old_faces},
    )

    summary = invoke(stack, handler, second, lambda_context)

    assert summary["rejected"] == 1
    rekognition.assert_no_pending_responses()
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["rejection_reason"]["S"] == reason
    assert stack.catalog_item(key, "REFERENCE_FACES") is None
    assert stack.search("ByTerm", "PERSON#alice") == []


@pytest.mark.parametrize("person_id", [".", ".."])
def test_relative_path_segments_are_no_person_ids(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any, person_id: str
) -> None:
    key = f"faces/{person_id}/reference.jpg"
    event = stack.put_object(key, jpeg_bytes())

    invoke(stack, handler, event, lambda_context)

    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["rejection_reason"]["S"] == "invalid_person_id"
    assert "'.' or '..'" in meta["rejection_detail"]["S"]


def test_group_photo_matches_every_known_face(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/team.jpg"
    event = stack.put_object(key, jpeg_bytes())
    image = answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"])
    answers.queue_full_analysis(rekognition, image, faces=2, collection_id=stack.face_collection_id)
    probe = answers.index_response("probe", faces=2, first=7)
    probe_ids = [record["Face"]["FaceId"] for record in probe["FaceRecords"]]
    rekognition.add_response("index_faces", probe)
    rekognition.add_response(
        "search_faces", answers.search_faces_response(probe_ids[0], ("alice", 97.0))
    )
    rekognition.add_response(
        "search_faces", answers.search_faces_response(probe_ids[1], ("bob", 95.0))
    )
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": probe_ids},
        {"CollectionId": stack.face_collection_id, "FaceIds": probe_ids},
    )

    invoke(stack, handler, event, lambda_context)

    assert stack.search("ByTerm", "PERSON#alice") == [key]
    assert stack.search("ByTerm", "PERSON#bob") == [key]


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("uploads/empty.jpg", b"", "empty"),
        ("uploads/anim.gif", gif_bytes(), "unsupported_format"),
        ("uploads/iphone.heic", heic_bytes(), "unsupported_format"),
        ("uploads/notes.jpg", b"meeting notes, not a picture\n" * 20, "not_an_image"),
        ("faces/bad person!/x.jpg", jpeg_bytes(), "invalid_person_id"),
        ("faces/loose.jpg", jpeg_bytes(), "missing_person_id"),
    ],
)
def test_bad_input_is_recorded_as_rejected_without_calling_rekognition(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    key: str,
    body: bytes,
    reason: str,
) -> None:
    event = stack.put_object(key, body)

    summary = invoke(stack, handler, event, lambda_context)

    assert summary == {
        "analysed": 0,
        "rejected": 1,
        "ignored": 0,
        "started": 0,
        "removed": 0,
        "flagged": 0,
    }
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["status"]["S"] == "REJECTED"
    assert meta["rejection_reason"]["S"] == reason
    assert stack.keys("results/") == []
    output = capfd.readouterr().out
    # MediaRejectedAlarm watches exactly this metric under exactly these dimensions.
    alarm = resource("MediaRejectedAlarm")["Properties"]
    assert emitted_metrics(output)[alarm["MetricName"]] == [
        [dimension["Name"] for dimension in alarm["Dimensions"]]
    ]
    assert any(
        record.getMessage() == "Media rejected" and getattr(record, "reason", None) == reason
        for record in caplog.records
    )


def test_oversized_object_is_rejected_from_its_size(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/huge.jpg"
    event = stack.put_object(key, jpeg_bytes() + bytes(15 * 1024 * 1024))

    invoke(stack, handler, event, lambda_context)

    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["rejection_reason"]["S"] == "too_large"


def test_image_rekognition_refuses_is_recorded_and_not_retried(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/corrupt.jpg"
    event = stack.put_object(key, jpeg_bytes())
    rekognition.add_client_error(
        "detect_labels",
        service_error_code="InvalidImageFormatException",
        service_message="Request has invalid image format",
        http_status_code=400,
    )

    summary = invoke(stack, handler, event, lambda_context)

    assert summary["rejected"] == 1
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["rejection_reason"]["S"] == "invalid_image_format"


def test_duplicate_delivery_is_analysed_once(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/dup.jpg"
    event = stack.put_object(key, jpeg_bytes())
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"]),
        collection_id=stack.face_collection_id,
    )

    first = invoke(stack, handler, event, lambda_context)
    second = invoke(stack, handler, json.loads(json.dumps(event)), lambda_context)

    assert first == second
    versions = stack.s3.list_object_versions(Bucket=stack.bucket, Prefix=f"results/{key}")
    assert len(versions["Versions"]) == 1


def test_new_version_of_a_key_replaces_its_catalog_entries(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/pet.jpg"
    first = stack.put_object(key, jpeg_bytes())
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, first["Records"][0]["s3"]["object"]["versionId"]),
        labels=(("Dog", 97.0),),
        faces=0,
        collection_id=stack.face_collection_id,
    )
    invoke(stack, handler, first, lambda_context)
    second = stack.put_object(key, png_bytes())
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, second["Records"][0]["s3"]["object"]["versionId"]),
        labels=(("Cat", 95.0),),
        faces=0,
        collection_id=stack.face_collection_id,
    )

    invoke(stack, handler, second, lambda_context)

    assert stack.search("ByTerm", "LABEL#dog") == []
    assert stack.search("ByTerm", "LABEL#cat") == [key]


def test_results_and_foreign_prefixes_never_trigger_analysis(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    event = json.loads((ROOT / "events" / "s3_put_results_ignored.json").read_text())
    event["Records"][0]["s3"]["bucket"]["name"] = stack.bucket

    summary = invoke(stack, handler, event, lambda_context)

    assert summary == {
        "analysed": 0,
        "rejected": 0,
        "ignored": 1,
        "started": 0,
        "removed": 0,
        "flagged": 0,
    }
    assert stack.keys("results/") == []


def test_throttling_that_outlasts_botocore_retries_puts_the_drop_back_on_the_queue(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/busy.jpg"
    event = stack.put_object(key, jpeg_bytes())
    # Stubber answers past botocore's retry loop: this is the error as it surfaces once
    # the retries (tested in tests/unit/test_rekognition_adapter.py) are spent.
    rekognition.add_client_error(
        "detect_labels", service_error_code="ThrottlingException", http_status_code=400
    )

    response, summary = deliver(stack, handler, event, lambda_context)

    # Back pressure, not a failure: the original is acknowledged, a copy waits.
    assert response == {"batchItemFailures": []}
    assert summary["analysed"] == 0
    assert stack.catalog_item(key) is None
    assert stack.dynamodb.scan(TableName=stack.idempotency_table)["Items"] == []
    [copy] = stack.sqs.receive_message(
        QueueUrl=stack.ingest_queue_url,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=3,
    )["Messages"]
    assert json.loads(copy["Body"]) == event
    assert copy["MessageAttributes"]["medialens.throttled"]["StringValue"] == "1"
    stack.sqs.delete_message(QueueUrl=stack.ingest_queue_url, ReceiptHandle=copy["ReceiptHandle"])
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"]),
        collection_id=stack.face_collection_id,
    )
    assert invoke(stack, handler, event, lambda_context)["analysed"] == 1


def test_a_failed_message_is_reported_alone_and_its_retry_is_delayed(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    failing = stack.put_object("uploads/fails.jpg", jpeg_bytes())
    passing = stack.put_object("uploads/holiday/", b"")
    rekognition.add_client_error(
        "detect_labels", service_error_code="InternalServerError", http_status_code=500
    )
    batch = stack.receive_as_lambda(json.dumps(failing), json.dumps(passing))

    response = handler.lambda_handler(batch, lambda_context)

    failed_id = next(
        record["messageId"] for record in batch["Records"] if "fails.jpg" in record["body"]
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.ingest_queue_url, AttributeNames=["All"]
    )["Attributes"]
    # Still held (invisible for the back-off), not visible again at once.
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_every_record_of_a_notification_is_handled_though_the_first_fails(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    failing = stack.put_object("uploads/fails.jpg", jpeg_bytes())
    rejected = stack.put_object("uploads/anim.gif", gif_bytes())
    no_s3 = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}
    body = json.dumps({"Records": [*failing["Records"], no_s3, *rejected["Records"]]})
    rekognition.add_client_error(
        "detect_labels", service_error_code="InternalServerError", http_status_code=500
    )

    first = handler.lambda_handler(stack.receive_as_lambda(body), lambda_context)

    # The message is retried, but the records after the failing one were handled.
    assert len(first["batchItemFailures"]) == 1
    meta = stack.catalog_item("uploads/anim.gif")
    assert meta is not None
    assert meta["rejection_reason"]["S"] == "unsupported_format"
    assert stack.catalog_item("uploads/fails.jpg") is None
    dead = stack.sqs.receive_message(QueueUrl=stack.dead_letter_queue_url)
    assert dead.get("Messages", []) == []  # the unreadable record comes round again

    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(
            stack.bucket, "uploads/fails.jpg", failing["Records"][0]["s3"]["object"]["versionId"]
        ),
        collection_id=stack.face_collection_id,
    )
    retry, summary = deliver(stack, handler, json.loads(body), lambda_context)

    assert retry == {"batchItemFailures": []}
    assert summary == {
        "analysed": 1,
        "rejected": 1,
        "ignored": 0,
        "started": 0,
        "removed": 0,
        "flagged": 0,
    }
    [parked] = stack.sqs.receive_message(
        QueueUrl=stack.dead_letter_queue_url, MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(parked["Body"]) == {"Records": [no_s3]}
    assert "'s3'" in parked["MessageAttributes"]["medialens.reason"]["StringValue"]


def test_unreadable_messages_are_parked_with_their_reason_and_the_test_event_is_ignored(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})
    batch = stack.receive_as_lambda(
        "{not json", json.dumps({"Records": [{"eventSource": "x"}]}), test_event
    )

    response = handler.lambda_handler(batch, lambda_context)

    assert response == {"batchItemFailures": []}
    parked = stack.sqs.receive_message(
        QueueUrl=stack.dead_letter_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    reasons = sorted(m["MessageAttributes"]["medialens.reason"]["StringValue"] for m in parked)
    assert len(reasons) == 2
    assert "not JSON" in reasons[1] or "not JSON" in reasons[0]
    assert any("'s3'" in reason for reason in reasons)


@pytest.mark.parametrize(
    ("event", "shape"),
    [
        (sam_event("s3", "put", bucket="media", key="uploads/x.jpg"), "an S3 event notification"),
        (sam_event("s3", "delete", bucket="media", key="uploads/x.jpg"), "an S3 event"),
        (EVENTBRIDGE_OBJECT_CREATED, "an EventBridge 'Object Created' event"),
        (S3_TEST_EVENT, "S3's test event"),
        ({}, "not an SQS batch"),
    ],
    ids=["sam-s3-put", "sam-s3-delete", "eventbridge-docs", "s3-test-event", "empty"],
)
def test_an_event_sent_directly_instead_of_through_the_queue_is_answered_not_retried(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    event: dict[str, Any],
    shape: str,
) -> None:
    response = handler.lambda_handler(event, lambda_context)

    assert response["batchItemFailures"] == []
    assert response["unsupported"].startswith(shape)
    assert "events/sqs_ingest_drops.json" in response["unsupported"]
    assert any(
        record.getMessage() == "Not an ingest queue batch: nothing analysed"
        and getattr(record, "reason", None) == response["unsupported"]
        for record in caplog.records
    )
    assert "IngestInvocationUnsupported" in emitted_metrics(capfd.readouterr().out)
    assert stack.dynamodb.scan(TableName=stack.catalog_table)["Items"] == []


def test_a_late_event_for_an_older_version_changes_nothing(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/pet.jpg"
    older = stack.put_object(key, jpeg_bytes())
    newer = stack.put_object(key, png_bytes())
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, newer["Records"][0]["s3"]["object"]["versionId"]),
        labels=(("Cat", 95.0),),
        faces=0,
        collection_id=stack.face_collection_id,
    )
    invoke(stack, handler, newer, lambda_context)

    summary = invoke(stack, handler, older, lambda_context)

    assert summary == {
        "analysed": 0,
        "rejected": 0,
        "ignored": 1,
        "started": 0,
        "removed": 0,
        "flagged": 0,
    }
    assert stack.search("ByTerm", "LABEL#cat") == [key]
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["version_id"]["S"] == newer["Records"][0]["s3"]["object"]["versionId"]


def test_console_folder_markers_are_ignored(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    event = stack.put_object("uploads/holiday/", b"")

    summary = invoke(stack, handler, event, lambda_context)

    assert summary["ignored"] == 1
    assert stack.catalog_item("uploads/holiday/") is None


def test_keys_too_long_to_catalogue_are_rejected_up_front(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/" + "é" * 500 + ".jpg"
    event = stack.put_object(key, jpeg_bytes())

    invoke(stack, handler, event, lambda_context)

    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["rejection_reason"]["S"] == "key_too_long"


def test_a_video_whose_result_pages_s3_would_refuse_is_rejected_before_any_job(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    # Catalogable (under 1,000 bytes), but results/<key>/content_moderation/page-00001.json
    # is 1,040 bytes: S3 refuses keys over 1,024, so the jobs' results could never be kept.
    key = "uploads/" + "v" * 985 + ".mp4"
    event = stack.put_object(key, mp4_bytes())

    summary = invoke(stack, handler, event, lambda_context)

    # No Start call is queued on the stub: reaching Rekognition would fail the batch.
    assert summary["rejected"] == 1
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["rejection_reason"]["S"] == "key_too_long"
    assert "1040-byte key" in meta["rejection_detail"]["S"]
    assert "by 16 bytes" in meta["rejection_detail"]["S"]


def test_every_aws_call_the_function_makes_is_granted_to_its_role(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    aws_calls: set[str],
) -> None:
    reference = "faces/alice/reference.jpg"
    indexed: list[str] = []
    for body in (jpeg_bytes(), png_bytes()):
        event = stack.put_object(reference, body)
        version = event["Records"][0]["s3"]["object"]["versionId"]
        if indexed:
            rekognition.add_response("delete_faces", {"DeletedFaces": indexed})
        indexed = queue_reference_indexing(
            rekognition, stack, answers.s3_image(stack.bucket, reference, version), "alice", 0
        )
        invoke(stack, handler, event, lambda_context)
    group = stack.put_object("uploads/team.jpg", jpeg_bytes())
    image = answers.s3_image(
        stack.bucket, "uploads/team.jpg", group["Records"][0]["s3"]["object"]["versionId"]
    )
    answers.queue_full_analysis(
        rekognition,
        image,
        faces=2,
        moderation=(("Weapons", "Violence", 97.0),),
        collection_id=stack.face_collection_id,
    )
    probe = answers.index_response("probe", faces=2)
    rekognition.add_response("index_faces", probe)
    for record in probe["FaceRecords"]:
        rekognition.add_response(
            "search_faces", answers.search_faces_response(record["Face"]["FaceId"])
        )
    probe_ids = [record["Face"]["FaceId"] for record in probe["FaceRecords"]]
    rekognition.add_response("delete_faces", {"DeletedFaces": probe_ids})
    invoke(stack, handler, group, lambda_context)
    invoke(stack, handler, stack.put_object("uploads/anim.gif", gif_bytes()), lambda_context)
    rekognition.add_response("delete_faces", {"DeletedFaces": indexed})
    invoke(stack, handler, stack.delete_object(reference), lambda_context)
    invoke(stack, handler, stack.delete_object("uploads/team.jpg"), lambda_context)

    assert {
        "rekognition:SearchFaces",
        "sns:Publish",
        "s3:ListBucketVersions",
        "s3:DeleteObjectVersion",
        "dynamodb:DeleteItem",
    } <= aws_calls
    assert aws_calls <= granted_actions("AnalyzeMediaFunction")


def test_the_bundled_sqs_event_is_read_and_objects_that_are_gone_are_not_catalogued(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    # The sam-generated SQS shape around the bundled S3 events. Their objects are not in
    # this stack's bucket: each is deleted as far as the stack can tell, so none enters
    # the catalog (its removal event would take it out again), none is retried or lost.
    event = json.loads((ROOT / "events" / "sqs_ingest_drops.json").read_text())
    keys = [json.loads(r["body"])["Records"][0]["s3"]["object"]["key"] for r in event["Records"]]

    response, summary = run_batch(handler, event, lambda_context)

    assert response == {"batchItemFailures": []}
    assert summary["ignored"] == len(keys)
    for key in keys:
        assert stack.catalog_item(key) is None


# ------------------------------------------------------------------ deletion


def analyse(
    stack: Stack, rekognition: Stubber, handler: Any, context: Any, key: str, body: bytes
) -> dict[str, Any]:
    """Drop ``key``, analyse it (labelled Cat), and return its notification."""
    event = stack.put_object(key, body)
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, event["Records"][0]["s3"]["object"]["versionId"]),
        labels=(("Cat", 95.0),),
        faces=0,
        collection_id=stack.face_collection_id,
    )
    assert invoke(stack, handler, event, context)["analysed"] == 1
    return event


def result_versions(stack: Stack, key: str) -> list[str]:
    listed = stack.s3.list_object_versions(Bucket=stack.bucket, Prefix=f"results/{key}")
    return [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]


REMOVED = {"analysed": 0, "rejected": 0, "ignored": 0, "started": 0, "removed": 1, "flagged": 0}


def test_a_deleted_image_leaves_the_catalog_with_every_version_of_its_results(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/pets/tabby.jpg"
    analyse(stack, rekognition, handler, lambda_context, key, jpeg_bytes())
    analyse(stack, rekognition, handler, lambda_context, key, png_bytes())
    assert stack.search("ByTerm", "LABEL#cat") == [key]
    assert len(result_versions(stack, key)) == 2

    summary = invoke(stack, handler, stack.delete_object(key), lambda_context)

    assert summary == REMOVED
    assert stack.media_items(key) == []
    assert stack.search("ByTerm", "LABEL#cat") == []
    assert stack.search("ByTerm", "NAME#tabby.jpg") == []
    assert result_versions(stack, key) == []


def test_a_deleted_reference_photo_takes_its_face_out_of_the_collection(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "faces/alice/reference.jpg"
    faces = enrol_alice(stack, rekognition, handler, lambda_context)
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": faces},
        {"CollectionId": stack.face_collection_id, "FaceIds": faces},
    )

    summary = invoke(stack, handler, stack.delete_object(key), lambda_context)

    assert summary == REMOVED
    rekognition.assert_no_pending_responses()
    assert stack.media_items(key) == []
    assert stack.search("ByTerm", "PERSON#alice") == []


def test_a_removal_delivered_twice_is_counted_once(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/twice.jpg"
    analyse(stack, rekognition, handler, lambda_context, key, jpeg_bytes())
    removal = stack.delete_object(key)

    first = invoke(stack, handler, removal, lambda_context)
    again = invoke(stack, handler, json.loads(json.dumps(removal)), lambda_context)

    assert first == REMOVED
    assert again == {**REMOVED, "removed": 0, "ignored": 1}


@pytest.mark.parametrize("removal_first", [False, True], ids=["in-order", "removal-first"])
def test_a_late_drop_of_a_deleted_image_never_resurrects_it(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any, removal_first: bool
) -> None:
    key = "uploads/gone.jpg"
    drop = stack.put_object(key, jpeg_bytes())
    removal = stack.delete_object(key)
    if removal_first:
        invoke(stack, handler, removal, lambda_context)

    # No Rekognition answer is queued: analysing the deleted version would fail the batch.
    summary = invoke(stack, handler, drop, lambda_context)

    assert summary["ignored"] == 1
    assert stack.media_items(key) == []
    assert result_versions(stack, key) == []


def test_a_deletion_older_than_a_re_upload_changes_nothing(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/again.jpg"
    stack.put_object(key, jpeg_bytes())
    removal = stack.delete_object(key)
    analyse(stack, rekognition, handler, lambda_context, key, png_bytes())

    summary = invoke(stack, handler, removal, lambda_context)

    assert summary["ignored"] == 1
    assert stack.search("ByTerm", "LABEL#cat") == [key]


def test_deleting_an_older_version_keeps_the_current_ones_entry(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any
) -> None:
    key = "uploads/kept.jpg"
    older = stack.put_object(key, jpeg_bytes())
    analyse(stack, rekognition, handler, lambda_context, key, png_bytes())

    removal = stack.delete_object(key, older["Records"][0]["s3"]["object"]["versionId"])
    summary = invoke(stack, handler, removal, lambda_context)

    assert summary["ignored"] == 1
    assert stack.search("ByTerm", "LABEL#cat") == [key]
    assert len(result_versions(stack, key)) == 1


@pytest.mark.parametrize("how", ["current-version-deleted", "delete-marker-removed"])
def test_the_version_a_deletion_leaves_current_is_catalogued(
    stack: Stack, rekognition: Stubber, handler: Any, lambda_context: Any, how: str
) -> None:
    key = "uploads/layers.jpg"
    first = analyse(stack, rekognition, handler, lambda_context, key, jpeg_bytes())
    first_version = first["Records"][0]["s3"]["object"]["versionId"]
    if how == "current-version-deleted":
        newer = analyse(stack, rekognition, handler, lambda_context, key, png_bytes())
        removal = stack.delete_object(key, newer["Records"][0]["s3"]["object"]["versionId"])
    else:
        marker = stack.delete_object(key)
        invoke(stack, handler, marker, lambda_context)
        assert stack.media_items(key) == []
        removal = stack.delete_object(key, marker["Records"][0]["s3"]["object"]["versionId"])
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, first_version),
        labels=(("Tiger", 91.0),),
        faces=0,
        collection_id=stack.face_collection_id,
    )

    summary = invoke(stack, handler, removal, lambda_context)

    assert summary["analysed"] == 1
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["version_id"]["S"] == first_version
    assert stack.search("ByTerm", "LABEL#tiger") == [key]
    assert stack.search("ByTerm", "LABEL#cat") == []
