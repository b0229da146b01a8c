"""The Rekognition adapter and the use case's feature switches, against the service model."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from medialens.images.analyze import run_analysis
from medialens.images.models import Feature, ImageAnalysis
from medialens.images.rekognition import RekognitionImageAdapter
from medialens.images.settings import FeatureSwitches, ImageAnalysisSettings
from medialens.shared.aws import RETRY_CONFIG
from medialens.shared.errors import RejectedMediaError
from medialens.shared.media import BytesImageRef, S3ImageRef

from tests.support import rekognition as answers

IMAGE = S3ImageRef(bucket="media", key="uploads/a.jpg", version_id="v1")
IMAGE_PARAM = {"S3Object": {"Bucket": "media", "Name": "uploads/a.jpg", "Version": "v1"}}
SETTINGS = ImageAnalysisSettings(
    catalog_table="c",
    idempotency_table="i",
    results_bucket="media",
    alerts_topic_arn="arn:aws:sns:eu-west-1:123456789012:a",
    face_collection_id="faces",
)
CUSTOM_ARN = (
    "arn:aws:rekognition:eu-west-1:123456789012:project/logos/version/logos.1/1700000000000"
)


def only(**switches: bool) -> ImageAnalysisSettings:
    """The default settings with every feature off except those named."""
    off = dict.fromkeys(
        ("labels", "image_properties", "text", "faces", "moderation", "face_search"), False
    )
    return replace(SETTINGS, features=FeatureSwitches(**(off | switches)))


def analyse(adapter: RekognitionImageAdapter, settings: ImageAnalysisSettings) -> ImageAnalysis:
    """Run every enabled analysis on :data:`IMAGE` as ordinary (non-reference) media."""
    return run_analysis(
        IMAGE,
        media_id="uploads/a.jpg",
        reference_faces=None,
        recognizer=adapter,
        settings=settings,
        analysed_at="2026-11-27T00:00:00+00:00",
    )


@pytest.fixture
def adapter(rekognition: Stubber) -> RekognitionImageAdapter:
    return RekognitionImageAdapter()


def test_s3_images_are_passed_by_reference_with_their_version(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_response(
        "detect_faces", answers.faces_response(2), {"Image": IMAGE_PARAM, "Attributes": ["ALL"]}
    )

    answer = adapter.detect_faces(IMAGE)

    faces = answer.found
    assert answer.operation == "DetectFaces"
    assert answer.response["FaceDetails"][0]["AgeRange"] == {"Low": 26, "High": 34}
    assert "ResponseMetadata" not in answer.response
    assert len(faces) == 2
    assert faces[0].attributes["Smile"] is True
    assert faces[0].gender == "Female"
    assert faces[0].dominant_emotion == "HAPPY"


def test_bytes_are_passed_as_bytes(rekognition: Stubber, adapter: RekognitionImageAdapter) -> None:
    rekognition.add_response(
        "detect_moderation_labels",
        answers.moderation_response(("Violence", "", 70.0)),
        {"Image": {"Bytes": b"\xff\xd8\xff"}, "MinConfidence": 50.0},
    )

    [label] = adapter.detect_moderation_labels(
        BytesImageRef(b"\xff\xd8\xff"), min_confidence=50.0
    ).found

    assert (label.name, label.parent, label.confidence) == ("Violence", None, 70.0)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("InvalidImageFormatException", "invalid_image_format"),
        ("ImageTooLargeException", "image_too_large"),
    ],
)
def test_image_refusals_become_rejections(
    rekognition: Stubber, adapter: RekognitionImageAdapter, code: str, reason: str
) -> None:
    rekognition.add_client_error("detect_text", service_error_code=code, http_status_code=400)

    with pytest.raises(RejectedMediaError) as raised:
        adapter.detect_text(IMAGE, min_confidence=80.0)

    assert raised.value.reason == reason


SMALL_IMAGE_MESSAGE = "Request has invalid parameters"
"""What Rekognition answers for an image under 80 pixels (boto/botocore#1366 quotes it)."""

IMAGE_CALLS = {
    "detect_labels": lambda a: a.detect_labels(
        IMAGE, min_confidence=55.0, max_labels=25, image_properties=False
    ),
    "detect_text": lambda a: a.detect_text(IMAGE, min_confidence=80.0),
    "detect_faces": lambda a: a.detect_faces(IMAGE),
    "detect_moderation_labels": lambda a: a.detect_moderation_labels(IMAGE, min_confidence=50.0),
    "detect_custom_labels": lambda a: a.detect_custom_labels(
        IMAGE, project_version_arn=CUSTOM_ARN, min_confidence=50.0
    ),
    "index_faces": lambda a: a.index_faces(
        IMAGE, collection_id="faces", external_id="eileen-collins", max_faces=1
    ),
    "search_faces_by_image": lambda a: a.search_faces_by_image(
        IMAGE, collection_id="faces", threshold=90.0, max_faces=5
    ),
}


@pytest.mark.parametrize("operation", sorted(IMAGE_CALLS))
def test_an_image_rekognition_calls_invalid_is_rejected_with_the_limit_named(
    rekognition: Stubber, adapter: RekognitionImageAdapter, operation: str
) -> None:
    rekognition.add_client_error(
        operation,
        service_error_code="InvalidParameterException",
        service_message=SMALL_IMAGE_MESSAGE,
        http_status_code=400,
    )

    with pytest.raises(RejectedMediaError) as raised:
        IMAGE_CALLS[operation](adapter)

    assert raised.value.reason == "invalid_image_parameters"
    assert SMALL_IMAGE_MESSAGE in raised.value.detail
    assert "80 pixels" in raised.value.detail


def test_an_invalid_parameter_without_an_image_is_not_blamed_on_media(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_client_error(
        "search_faces", service_error_code="InvalidParameterException", http_status_code=400
    )

    with pytest.raises(ClientError, match="InvalidParameterException"):
        adapter.search_faces(collection_id="faces", face_id="f" * 8, threshold=90.0, max_faces=5)


def test_unreadable_s3_object_is_not_mistaken_for_bad_media(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_client_error(
        "detect_text",
        service_error_code="InvalidS3ObjectException",
        service_message=(
            "Unable to get object metadata from S3. "
            "Check object key, region and/or access permissions."
        ),
        http_status_code=400,
    )

    with pytest.raises(ClientError, match="InvalidS3ObjectException"):
        adapter.detect_text(IMAGE, min_confidence=80.0)


def test_search_on_an_image_without_faces_finds_nobody(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_client_error(
        "search_faces_by_image",
        service_error_code="InvalidParameterException",
        service_message="There are no faces in the image. Should be at least 1.",
        http_status_code=400,
    )

    answer = adapter.search_faces_by_image(
        IMAGE, collection_id="faces", threshold=90.0, max_faces=5
    )

    assert answer.found == ()


def test_missing_collection_is_not_swallowed(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_client_error(
        "search_faces_by_image", service_error_code="ResourceNotFoundException"
    )

    with pytest.raises(Exception, match="ResourceNotFoundException"):
        adapter.search_faces_by_image(IMAGE, collection_id="faces", threshold=90.0, max_faces=5)


def test_only_enabled_features_call_rekognition(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    settings = only(labels=True)
    rekognition.add_response(
        "detect_labels",
        answers.labels_response(("Cat", 99.0)),
        {
            "Image": IMAGE_PARAM,
            "MaxLabels": 25,
            "MinConfidence": 55.0,
            "Features": ["GENERAL_LABELS"],
        },
    )

    analysis = analyse(adapter, settings)

    assert analysis.features_run == (Feature.LABELS,)
    assert [label.name for label in analysis.labels] == ["Cat"]
    assert analysis.to_dict()["rekognition"]["DetectLabels"][0]["LabelModelVersion"] == "3.0"


def only_custom_labels(settings: ImageAnalysisSettings) -> ImageAnalysisSettings:
    return replace(only(), custom_labels_arn=CUSTOM_ARN)


def test_custom_labels_run_when_a_project_version_is_configured(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_response(
        "detect_custom_labels",
        {
            "CustomLabels": [
                {"Name": "acme-logo", "Confidence": 93.0, "Geometry": {"BoundingBox": answers.BOX}}
            ]
        },
        {"ProjectVersionArn": CUSTOM_ARN, "Image": IMAGE_PARAM, "MinConfidence": 50.0},
    )

    analysis = analyse(adapter, only_custom_labels(SETTINGS))

    [label] = analysis.custom_labels
    assert (label.name, label.source, len(label.instances)) == ("acme-logo", "custom", 1)


def test_a_stopped_custom_model_is_noted_and_the_rest_goes_on(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    rekognition.add_client_error(
        "detect_custom_labels", service_error_code="ResourceNotReadyException"
    )

    analysis = analyse(adapter, only_custom_labels(SETTINGS))

    assert analysis.custom_labels == ()
    assert Feature.CUSTOM_LABELS not in analysis.features_run
    assert "ResourceNotReadyException" in analysis.notes[0]


def throttled_then_ok(error_code: str, failures: int) -> tuple[Any, list[str]]:
    """A real client whose HTTP layer answers ``failures`` throttling errors, then success."""
    client = boto3.client("rekognition", region_name="eu-west-1", config=RETRY_CONFIG)
    attempts: list[str] = []

    def send(request: Any, **_: Any) -> AWSResponse:
        attempts.append(request.headers.get("X-Amz-Target", b"").decode())
        if len(attempts) <= failures:
            body = {"__type": error_code, "message": "Rate exceeded"}
            return AWSResponse(request.url, 400, HTTPHeaders(), _Raw(json.dumps(body).encode()))
        body = answers.moderation_response()
        return AWSResponse(request.url, 200, HTTPHeaders(), _Raw(json.dumps(body).encode()))

    # A before-send handler that returns a response replaces the HTTP exchange.
    client.meta.events.register("before-send.rekognition.*", send)  # type: ignore[arg-type]
    return client, attempts


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_throttling_is_retried_by_botocore_with_backoff(code: str) -> None:
    client, attempts = throttled_then_ok(code, failures=2)

    answer = RekognitionImageAdapter(client).detect_moderation_labels(IMAGE, min_confidence=50.0)

    assert answer.found == ()
    assert attempts == ["RekognitionService.DetectModerationLabels"] * 3


def test_every_face_of_a_group_photo_is_searched_then_the_probes_are_deleted(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    settings = only(faces=True, face_search=True)
    rekognition.add_response(
        "detect_faces", answers.faces_response(3), {"Image": IMAGE_PARAM, "Attributes": ["ALL"]}
    )
    probe = answers.index_response("unused", faces=3)
    rekognition.add_response(
        "index_faces",
        probe,
        {
            "CollectionId": "faces",
            "Image": IMAGE_PARAM,
            "ExternalImageId": ANY,
            "DetectionAttributes": ["DEFAULT"],
            "MaxFaces": 10,
            "QualityFilter": "AUTO",
        },
    )
    probe_ids = [record["Face"]["FaceId"] for record in probe["FaceRecords"]]
    found = [
        (("alice", 96.0), ("medialens-probe.0123abcd", 99.0)),
        (("bob", 93.5),),
        (("alice", 98.2),),
    ]
    for face_id, matches in zip(probe_ids, found, strict=True):
        rekognition.add_response(
            "search_faces",
            answers.search_faces_response(face_id, *matches),
            {"CollectionId": "faces", "FaceId": face_id, "FaceMatchThreshold": 90.0, "MaxFaces": 8},
        )
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": probe_ids},
        {"CollectionId": "faces", "FaceIds": probe_ids},
    )

    analysis = analyse(adapter, settings)

    best = {match.person_id: match.similarity for match in analysis.face_matches}
    assert best == {"alice": 98.2, "bob": 93.5}
    operations = [answer.operation for answer in analysis.responses]
    assert operations == ["DetectFaces", "IndexFaces", "SearchFaces", "SearchFaces", "SearchFaces"]


def test_probe_faces_are_deleted_even_when_a_search_fails(
    rekognition: Stubber, adapter: RekognitionImageAdapter
) -> None:
    settings = only(faces=True, face_search=True)
    rekognition.add_response("detect_faces", answers.faces_response(2))
    probe = answers.index_response("unused", faces=2)
    rekognition.add_response("index_faces", probe)
    rekognition.add_client_error("search_faces", service_error_code="InternalServerError")
    probe_ids = [record["Face"]["FaceId"] for record in probe["FaceRecords"]]
    rekognition.add_response(
        "delete_faces", {"DeletedFaces": probe_ids}, {"CollectionId": "faces", "FaceIds": probe_ids}
    )

    with pytest.raises(ClientError, match="InternalServerError"):
        analyse(adapter, settings)
