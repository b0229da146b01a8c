"""The local Rekognition: real inference, answered in shapes botocore's model accepts."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from medialens_local.rekognition.protocol import serve
from medialens_local.template import ROOT
from PIL import Image

from tests.support.service_model import served_rekognition

SAMPLES = ROOT / "samples"
BUCKET = "samples"


def mirrored(path: Path) -> bytes:
    image = Image.open(path).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def rekognition() -> Iterator[Any]:
    files = {p.relative_to(SAMPLES).as_posix(): p.read_bytes() for p in SAMPLES.rglob("*.*")}
    with served_rekognition(files) as client:
        yield client


def s3(key: str) -> dict[str, Any]:
    return {"S3Object": {"Bucket": BUCKET, "Name": key}}


def test_text_is_read_back_word_for_word(rekognition: Any) -> None:
    detections = rekognition.detect_text(Image=s3("uploads/docs/invoice.png"))["TextDetections"]

    lines = [d["DetectedText"] for d in detections if d["Type"] == "LINE"]
    words = [d["DetectedText"] for d in detections if d["Type"] == "WORD"]
    assert lines == ["INVOICE 2026-114", "TOTAL DUE 42.00 EUR"]
    assert {"INVOICE", "TOTAL", "DUE", "EUR"} <= set(words)
    line_ids = {d["Id"] for d in detections if d["Type"] == "LINE"}
    assert all(d["ParentId"] in line_ids for d in detections if d["Type"] == "WORD")


def test_a_cat_is_labelled_cat_with_parents(rekognition: Any) -> None:
    response = rekognition.detect_labels(
        Image=s3("uploads/pets/chelsea the cat.jpg"),
        MinConfidence=50,
        Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"],
    )

    top = response["Labels"][0]
    assert top["Name"] == "Cat"
    assert {"Animal", "Pet"} <= {parent["Name"] for parent in top["Parents"]}
    assert 0 < response["ImageProperties"]["Quality"]["Brightness"] < 100
    assert response["ImageProperties"]["DominantColors"]


def test_faces_are_found_only_where_there_are_faces(rekognition: Any) -> None:
    [face] = rekognition.detect_faces(
        Image=s3("faces/eileen-collins/reference.jpg"), Attributes=["ALL"]
    )["FaceDetails"]
    cat = rekognition.detect_faces(Image=s3("uploads/pets/chelsea the cat.jpg"))["FaceDetails"]

    assert face["Confidence"] > 80
    assert "AgeRange" not in face
    assert "Emotions" not in face
    landmarks = {mark["Type"]: mark for mark in face["Landmarks"]}
    assert landmarks["eyeLeft"]["X"] < landmarks["eyeRight"]["X"]
    assert cat == []


def test_a_mirrored_photo_of_the_same_person_is_found_in_the_collection(rekognition: Any) -> None:
    rekognition.create_collection(CollectionId="people")
    indexed = rekognition.index_faces(
        CollectionId="people",
        Image=s3("faces/eileen-collins/reference.jpg"),
        ExternalImageId="eileen-collins",
        MaxFaces=1,
    )
    [match] = rekognition.search_faces_by_image(
        CollectionId="people",
        Image={"Bytes": mirrored(SAMPLES / "uploads/mission/portrait.jpg")},
        FaceMatchThreshold=90,
    )["FaceMatches"]
    compared = rekognition.compare_faces(
        SourceImage=s3("faces/eileen-collins/reference.jpg"),
        TargetImage=s3("uploads/mission/portrait.jpg"),
        SimilarityThreshold=90,
    )
    face_id = indexed["FaceRecords"][0]["Face"]["FaceId"]
    itself = rekognition.search_faces(CollectionId="people", FaceId=face_id)
    deleted = rekognition.delete_faces(
        CollectionId="people", FaceIds=[face_id, "00000000-0000-0000-0000-000000000000"]
    )

    assert match["Face"]["ExternalImageId"] == "eileen-collins"
    assert match["Similarity"] >= 90
    assert len(compared["FaceMatches"]) == 1
    assert itself["FaceMatches"] == []
    assert deleted["DeletedFaces"] == [face_id]
    [missing] = deleted["UnsuccessfulFaceDeletions"]
    assert missing["Reasons"] == ["FACE_NOT_FOUND"]


def test_moderation_scores_an_ordinary_photo_as_safe(rekognition: Any) -> None:
    response = rekognition.detect_moderation_labels(
        Image=s3("uploads/kitchen/coffee.jpg"), MinConfidence=50
    )

    assert response["ModerationLabels"] == []
    assert response["ModerationModelVersion"]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda c: c.detect_labels(Image=s3("uploads/docs/notes.gif")),
            "InvalidImageFormatException",
        ),
        (
            lambda c: c.search_faces_by_image(
                CollectionId="people", Image=s3("uploads/kitchen/coffee.jpg")
            ),
            "InvalidParameterException",
        ),
        (
            lambda c: c.index_faces(CollectionId="nobody", Image=s3("uploads/kitchen/coffee.jpg")),
            "ResourceNotFoundException",
        ),
    ],
)
def test_refusals_use_rekognitions_error_codes(rekognition: Any, call: Any, code: str) -> None:
    with pytest.raises(ClientError) as raised:
        call(rekognition)

    assert raised.value.response["Error"]["Code"] == code


def test_a_crash_inside_an_operation_is_answered_not_dropped() -> None:
    def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise ZeroDivisionError("division by zero")

    served = serve({"DetectText": broken})
    client = served.client(config=Config(retries={"max_attempts": 1}))
    try:
        with pytest.raises(ClientError) as crashed:
            client.detect_text(Image={"Bytes": b"x"})
        with pytest.raises(ClientError) as unknown:
            client.detect_labels(Image={"Bytes": b"x"})
    finally:
        served.stop()

    assert crashed.value.response["Error"]["Code"] == "InternalServerError"
    assert "ZeroDivisionError" in crashed.value.response["Error"]["Message"]
    assert unknown.value.response["Error"]["Code"] == "UnknownOperationException"


def test_cached_answers_are_the_models_answers_for_each_confidence() -> None:
    files = {"cat.jpg": (SAMPLES / "uploads/pets/chelsea the cat.jpg").read_bytes()}
    image = {"S3Object": {"Bucket": BUCKET, "Name": "cat.jpg"}}

    def labels(client: Any, confidence: float) -> list[tuple[str, float]]:
        answer = client.detect_labels(Image=image, MinConfidence=confidence)["Labels"]
        return [(label["Name"], label["Confidence"]) for label in answer]

    with served_rekognition(files, cache_inference=True) as cached:
        # Asked twice each, in an order where a key without the confidence would answer wrong.
        remembered = [labels(cached, c) for c in (90.0, 20.0, 90.0, 20.0)]
    with served_rekognition(files) as uncached:
        computed = [labels(uncached, c) for c in (90.0, 20.0)]

    assert remembered == computed * 2
    assert len(computed[1]) > len(computed[0])


def test_a_client_that_gave_up_waiting_is_not_reported_as_a_server_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    def slow(request: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.5)
        return {"TextDetections": [{"DetectedText": "x" * 100_000}]}

    served = serve({"DetectText": slow})
    client = served.client(config=Config(read_timeout=0.1, retries={"max_attempts": 1}))
    try:
        with pytest.raises(ReadTimeoutError):
            client.detect_text(Image={"Bytes": b"x"})
        time.sleep(1.0)  # the answer is written to the closed connection meanwhile
    finally:
        served.stop()

    assert "Exception occurred during processing" not in capfd.readouterr().err
