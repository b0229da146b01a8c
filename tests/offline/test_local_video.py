"""The local Rekognition Video: real frame analysis, Rekognition's paging, quota and messages."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from medialens_local.rekognition.collections import FaceCollections
from medialens_local.rekognition.protocol import serve
from medialens_local.rekognition.video import LocalVideo
from medialens_local.template import ROOT

from tests.support.service_model import validate_against_model

VIDEO = "uploads/clips/cat-and-rocket.mp4"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:video-jobs"
ROLE = "arn:aws:iam::123456789012:role/rekognition-video"


class Published:
    """Completion messages, as the local SNS would receive them."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, topic_arn: str, message: str) -> None:
        self.messages.append((topic_arn, json.loads(message)))


@pytest.fixture(scope="module")
def published() -> Published:
    return Published()


@pytest.fixture(scope="module")
def video_service(published: Published) -> Iterator[tuple[Any, LocalVideo]]:
    data = (ROOT / "samples" / VIDEO).read_bytes()

    def read(bucket: str, key: str, version: str | None) -> bytes:
        if key != VIDEO:
            raise KeyError(key)
        return data

    video = LocalVideo(read, published, FaceCollections(), concurrent_jobs=2)
    served = serve(video.operations())
    client = served.client()
    client.meta.events.register("after-call.rekognition.*", validate_against_model)
    yield client, video
    video.shutdown()
    served.stop()


def start(client: Any, operation: str, token: str, key: str = VIDEO, **options: Any) -> str:
    job_id: str = getattr(client, operation)(
        Video={"S3Object": {"Bucket": "media", "Name": key}},
        ClientRequestToken=token,
        JobTag=token,
        NotificationChannel={"SNSTopicArn": TOPIC, "RoleArn": ROLE},
        **options,
    )["JobId"]
    return job_id


def finished(client: Any, get: str, job_id: str, **options: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response: dict[str, Any] = getattr(client, get)(JobId=job_id, **options)
        if response["JobStatus"] != "IN_PROGRESS":
            return response
        time.sleep(0.1)
    raise AssertionError(f"{job_id} did not finish")


def every_page(client: Any, get: str, job_id: str, key: str, size: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        options: dict[str, Any] = {"MaxResults": size}
        if token:
            options["NextToken"] = token
        page = finished(client, get, job_id, **options)
        assert len(page[key]) <= size
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items


def test_labels_are_found_in_the_seconds_the_cat_is_on_screen(
    video_service: tuple[Any, LocalVideo], published: Published
) -> None:
    client, _ = video_service
    job_id = start(client, "start_label_detection", "labels-1", MinConfidence=55)

    labels = every_page(client, "get_label_detection", job_id, "Labels", size=3)

    cat_seconds = {item["Timestamp"] // 1000 for item in labels if item["Label"]["Name"] == "Cat"}
    assert cat_seconds
    assert max(cat_seconds) <= 2
    timestamps = [item["Timestamp"] for item in labels]
    assert timestamps == sorted(timestamps)
    [(topic, message)] = [m for m in published.messages if m[1]["JobId"] == job_id]
    assert topic == TOPIC
    assert message["Status"] == "SUCCEEDED"
    assert message["JobTag"] == "labels-1"
    assert message["Video"] == {"S3ObjectName": VIDEO, "S3Bucket": "media"}


def test_the_title_card_is_read_in_its_last_seconds(video_service: tuple[Any, LocalVideo]) -> None:
    client, _ = video_service
    job_id = start(client, "start_text_detection", "text-1")

    detections = every_page(client, "get_text_detection", job_id, "TextDetections", size=1000)

    words = {
        d["TextDetection"]["DetectedText"]: d["Timestamp"]
        for d in detections
        if d["TextDetection"]["Type"] == "WORD"
    }
    assert words["MEDIALENS"] >= 6000


def test_shots_and_black_frames_are_segmented(video_service: tuple[Any, LocalVideo]) -> None:
    client, _ = video_service
    job_id = start(
        client, "start_segment_detection", "segments-1", SegmentTypes=["SHOT", "TECHNICAL_CUE"]
    )

    response = finished(client, "get_segment_detection", job_id)

    shots = [s for s in response["Segments"] if s["Type"] == "SHOT"]
    cues = [s for s in response["Segments"] if s["Type"] == "TECHNICAL_CUE"]
    # cat 0-2.5 s, rocket 2.5-5 s, black 5-6 s, title card 6-8 s
    assert [round(s["StartTimestampMillis"] / 500) * 500 for s in shots] == [0, 2500, 5000, 6000]
    [black] = cues
    assert black["TechnicalCueSegment"]["Type"] == "BlackFrames"
    assert (black["StartTimestampMillis"], black["EndTimestampMillis"]) == (5000, 6000)
    assert response["VideoMetadata"][0]["DurationMillis"] == 8000


def test_the_same_token_returns_the_same_job(video_service: tuple[Any, LocalVideo]) -> None:
    client, _ = video_service

    first = start(client, "start_face_detection", "faces-1")
    again = start(client, "start_face_detection", "faces-1")

    assert first == again
    assert finished(client, "get_face_detection", first)["Faces"] == []


def test_the_concurrent_job_quota_answers_limit_exceeded(
    video_service: tuple[Any, LocalVideo],
) -> None:
    client, video = video_service
    while video.in_progress():
        time.sleep(0.1)

    started = [start(client, "start_content_moderation", f"quota-{n}") for n in range(2)]
    with pytest.raises(ClientError) as refused:
        start(client, "start_content_moderation", "quota-3")

    assert refused.value.response["Error"]["Code"] == "LimitExceededException"
    for job_id in started:
        assert finished(client, "get_content_moderation", job_id)["JobStatus"] == "SUCCEEDED"


def test_a_forged_or_foreign_page_token_is_refused(video_service: tuple[Any, LocalVideo]) -> None:
    client, _ = video_service
    job_id = start(client, "start_label_detection", "labels-token")
    finished(client, "get_label_detection", job_id)

    with pytest.raises(ClientError) as refused:
        client.get_label_detection(JobId=job_id, NextToken="bm90LWEtdG9rZW4=")

    assert refused.value.response["Error"]["Code"] == "InvalidPaginationTokenException"


def test_a_missing_video_is_refused_when_the_job_is_started(
    video_service: tuple[Any, LocalVideo], published: Published
) -> None:
    client, _ = video_service

    with pytest.raises(ClientError) as refused:
        start(client, "start_label_detection", "missing-1", key="uploads/gone.mp4")

    assert refused.value.response["Error"]["Code"] == "InvalidS3ObjectException"
    assert not [m for m in published.messages if m[1].get("JobTag") == "missing-1"]


def test_analyses_without_a_local_model_are_refused_clearly(
    video_service: tuple[Any, LocalVideo],
) -> None:
    client, _ = video_service

    with pytest.raises(ClientError) as refused:
        start(client, "start_celebrity_recognition", "celebrities-1")

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "no model" in refused.value.response["Error"]["Message"]
