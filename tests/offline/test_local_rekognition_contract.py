"""The local Rekognition refuses what Rekognition refuses, on the wire, without an SDK.

boto3 validates a request before it sends it; raw HTTP (and the JavaScript SDK,
test_local_rekognition_js.py) does not, so these tests speak HTTP themselves.
"""

from __future__ import annotations

import io
import json
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from medialens_local.rekognition.collections import FaceCollections
from medialens_local.rekognition.protocol import read_chunked, serve
from medialens_local.rekognition.service import LocalRekognition
from medialens_local.rekognition.validation import service_model
from medialens_local.rekognition.video import RESULTS_KEY, SORTS, LocalVideo, ordered
from medialens_local.template import ROOT

from tests.support.wire import Answer, post, post_raw

SAMPLES = ROOT / "samples"
VIDEO = "uploads/clips/cat-and-rocket.mp4"
IMAGE = "uploads/pets/chelsea the cat.jpg"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:video-jobs"
ROLE = "arn:aws:iam::123456789012:role/rekognition-video"


class Endpoint:
    """The image and video operations on one endpoint, as the offline stack serves them."""

    def __init__(self, url: str, video: LocalVideo) -> None:
        self.url = url
        self.video = video

    def call(self, operation: str, body: dict[str, Any] | bytes, **options: Any) -> Answer:
        return post(self.url, operation, body, **options)

    def ok(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(operation, body)
        assert answer.status == 200, answer.document
        return answer.document


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    files = {p.relative_to(SAMPLES).as_posix(): p.read_bytes() for p in SAMPLES.rglob("*.*")}

    def read(bucket: str, key: str, version: str | None) -> bytes:
        return files[key]  # KeyError: not in S3

    images = LocalRekognition(read)
    video = LocalVideo(read, lambda topic, message: None, images.collections)
    served = serve(images.operations() | video.operations())
    yield Endpoint(served.endpoint, video)
    video.shutdown()
    served.stop()


def video_request(token: str, key: str = VIDEO, **options: Any) -> dict[str, Any]:
    return {
        "Video": {"S3Object": {"Bucket": "media", "Name": key}},
        "ClientRequestToken": token,
        "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE},
        **options,
    }


def succeeded(endpoint: Endpoint, get: str, job_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if endpoint.ok(get, {"JobId": job_id, "MaxResults": 1})["JobStatus"] != "IN_PROGRESS":
            return
        time.sleep(0.1)
    raise AssertionError(f"{job_id} did not finish")


@pytest.fixture(scope="module")
def label_job(endpoint: Endpoint) -> str:
    started = endpoint.ok("StartLabelDetection", video_request("contract-labels", MinConfidence=5))
    job_id: str = started["JobId"]
    succeeded(endpoint, "GetLabelDetection", job_id)
    return job_id


def every_page(
    endpoint: Endpoint, get: str, job_id: str, key: str, size: int, **options: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(10_000):
        body: dict[str, Any] = {"JobId": job_id, "MaxResults": size, **options}
        if token:
            body["NextToken"] = token
        page = endpoint.ok(get, body)
        assert 0 < len(page[key]) <= size or not page.get("NextToken")
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items
    raise AssertionError("paging did not end")


S3_IMAGE = {"S3Object": {"Bucket": "samples", "Name": IMAGE}}

REFUSALS = [
    pytest.param("GetLabelDetection", {}, "ValidationException", "at 'jobId'", id="required"),
    pytest.param(
        "GetLabelDetection",
        {"JobId": "job", "MaxResults": "ten"},
        "SerializationException",
        "'maxResults'",
        id="type",
    ),
    pytest.param(
        "DetectLabels",
        {"Image": S3_IMAGE, "MaxLabels": True},
        "SerializationException",
        "'maxLabels'",
        id="bool-for-integer",
    ),
    pytest.param(
        "GetLabelDetection",
        {"JobId": "not a job id"},
        "ValidationException",
        "regular expression pattern",
        id="pattern",
    ),
    pytest.param(
        "CreateCollection",
        {"CollectionId": ""},
        "ValidationException",
        "length greater than or equal to 1",
        id="min-length",
    ),
    pytest.param(
        "GetLabelDetection",
        {"JobId": "j" * 65},
        "ValidationException",
        "length less than or equal to 64",
        id="max-length",
    ),
    pytest.param(
        "GetLabelDetection",
        {"JobId": "job", "MaxResults": 0},
        "ValidationException",
        "value greater than or equal to 1",
        id="min-value",
    ),
    pytest.param(
        "DetectLabels",
        {"Image": S3_IMAGE, "MinConfidence": 100.5},
        "ValidationException",
        "value less than or equal to 100",
        id="max-value",
    ),
    pytest.param(
        "GetLabelDetection",
        {"JobId": "job", "SortBy": "SIZE"},
        "ValidationException",
        "enum value set: [NAME, TIMESTAMP]",
        id="enum",
    ),
    pytest.param(
        "DetectLabels",
        {"Image": S3_IMAGE, "Features": ["GENERAL_LABELS", "FACES"]},
        "ValidationException",
        "at 'features.2.member'",
        id="enum-in-list",
    ),
    pytest.param(
        "DetectFaces",
        {"Image": {"Bytes": "not base64!"}},
        "SerializationException",
        "base64",
        id="blob-not-base64",
    ),
    pytest.param(
        "DetectFaces",
        {"Image": {"Bytes": ""}},
        "ValidationException",
        "at 'image.bytes'",
        id="blob-min-length",
    ),
    pytest.param(
        "StartLabelDetection",
        video_request("bad token!"),
        "ValidationException",
        "at 'clientRequestToken'",
        id="nested-pattern",
    ),
]


@pytest.mark.parametrize(("operation", "body", "code", "says"), REFUSALS)
def test_a_request_that_breaks_the_model_is_a_400_with_rekognitions_code(
    endpoint: Endpoint, operation: str, body: dict[str, Any], code: str, says: str
) -> None:
    answer = endpoint.call(operation, body)

    assert (answer.status, answer.error) == (400, code)
    assert says in answer.document["Message"]


def test_every_broken_constraint_is_listed_in_one_answer(endpoint: Endpoint) -> None:
    answer = endpoint.call("GetLabelDetection", {"JobId": "a b", "MaxResults": 0, "SortBy": "X"})

    assert answer.error == "ValidationException"
    assert answer.document["Message"].startswith("3 validation errors detected: ")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"JobId": NaN}', b"\xff\xfe"], ids=repr)
def test_a_body_that_is_not_a_json_object_is_a_serialization_error(
    endpoint: Endpoint, body: bytes
) -> None:
    answer = endpoint.call("GetLabelDetection", body)

    assert (answer.status, answer.error) == (400, "SerializationException")


def test_every_served_operation_refuses_a_request_without_its_required_members(
    endpoint: Endpoint,
) -> None:
    model = service_model()
    served = set(LocalRekognition(lambda *_: b"").operations()) | set(
        LocalVideo(lambda *_: b"", lambda *_: None, FaceCollections()).operations()
    )
    for operation in sorted(served):
        shape = model.operation_model(operation).input_shape
        assert shape is not None
        required = shape.required_members

        answer = endpoint.call(operation, {})

        assert (operation, answer.status, answer.error) == (operation, 400, "ValidationException")
        for name in required:
            assert f"at '{name[0].lower()}{name[1:]}'" in answer.document["Message"]


def test_an_internal_fault_stays_a_500() -> None:
    def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("a bug")

    served = serve({"DetectLabels": broken})
    try:
        answer = post(served.endpoint, "DetectLabels", {"Image": S3_IMAGE})
    finally:
        served.stop()

    assert (answer.status, answer.error) == (500, "InternalServerError")


def test_paging_ends_at_every_page_size_and_zero_is_refused(
    endpoint: Endpoint, label_job: str
) -> None:
    whole = endpoint.ok("GetLabelDetection", {"JobId": label_job})["Labels"]
    assert len(whole) > 3

    for size in (1, 2, len(whole) - 1, len(whole), 5000):
        assert every_page(endpoint, "GetLabelDetection", label_job, "Labels", size) == whole
    refused = endpoint.call("GetLabelDetection", {"JobId": label_job, "MaxResults": 0})
    assert refused.error == "ValidationException"


def test_labels_sorted_by_name_are_grouped_alphabetically_by_confidence(
    endpoint: Endpoint, label_job: str
) -> None:
    by_time = every_page(endpoint, "GetLabelDetection", label_job, "Labels", 1000)
    by_name = every_page(endpoint, "GetLabelDetection", label_job, "Labels", 3, SortBy="NAME")
    explicit = every_page(
        endpoint, "GetLabelDetection", label_job, "Labels", 1000, SortBy="TIMESTAMP"
    )

    assert explicit == by_time
    assert [item["Timestamp"] for item in by_time] == sorted(i["Timestamp"] for i in by_time)
    assert sorted(map(json.dumps, by_name)) == sorted(map(json.dumps, by_time))
    names = [item["Label"]["Name"] for item in by_name]
    assert names == sorted(names)
    assert len(set(names)) > 1
    for name in set(names):
        confidences = [i["Label"]["Confidence"] for i in by_name if i["Label"]["Name"] == name]
        assert confidences == sorted(confidences, reverse=True)


def _detections(rng: random.Random, name: str) -> list[dict[str, Any]]:
    items = []
    for _ in range(40):
        timestamp, confidence = rng.randrange(0, 8000, 500), rng.uniform(50, 100)
        who = rng.randrange(4)
        items.append(
            {
                "Timestamp": timestamp,
                "Label": {"Name": f"L{who}", "Confidence": confidence},
                "ModerationLabel": {"Name": f"M{who}", "Confidence": confidence},
                "Person": {"Index": who, "Face": {"Confidence": confidence}},
                "Celebrity": {"Id": f"c{who}", "Confidence": confidence},
            }
        )
    return items


@pytest.mark.parametrize("name", sorted(SORTS))
def test_every_sort_by_value_groups_what_its_documentation_says(name: str) -> None:
    rng = random.Random(name)
    items = _detections(rng, name)
    group = {
        "NAME": lambda i: i["Label" if name == "LabelDetection" else "ModerationLabel"]["Name"],
        "INDEX": lambda i: i["Person"]["Index"],
        "ID": lambda i: i["Celebrity"]["Id"],
    }

    for sort_by in SORTS[name]:
        result = ordered(name, list(items), sort_by)

        assert sorted(map(json.dumps, result)) == sorted(map(json.dumps, items))
        if sort_by == "TIMESTAMP":
            assert [i["Timestamp"] for i in result] == sorted(i["Timestamp"] for i in items)
            continue
        keys = [group[sort_by](i) for i in result]
        assert keys == sorted(keys)
        if sort_by in ("NAME", "INDEX") and name != "FaceSearch":
            for key in set(keys):
                scores = [i["Label"]["Confidence"] for i in result if group[sort_by](i) == key]
                assert scores == sorted(scores, reverse=True)


def test_a_reused_token_with_other_parameters_is_an_idempotent_mismatch(
    endpoint: Endpoint,
) -> None:
    first = endpoint.ok("StartFaceDetection", video_request("contract-token"))
    again = endpoint.ok("StartFaceDetection", video_request("contract-token"))
    other = endpoint.call("StartFaceDetection", video_request("contract-token", JobTag="other"))
    fresh = endpoint.ok("StartFaceDetection", video_request("contract-token-2"))

    assert again["JobId"] == first["JobId"]
    assert (other.status, other.error) == (400, "IdempotentParameterMismatchException")
    assert fresh["JobId"] != first["JobId"]


def test_every_answer_has_its_own_request_id(endpoint: Endpoint, label_job: str) -> None:
    answers = [
        endpoint.call("GetLabelDetection", {"JobId": label_job, "MaxResults": 1}),
        endpoint.call("GetLabelDetection", {"JobId": label_job, "MaxResults": 1}),
        endpoint.call("GetLabelDetection", {}),
        endpoint.call("GetLabelDetection", b"not json"),
        endpoint.call("NoSuchOperation", {}),
    ]

    ids = [answer.request_id for answer in answers]
    assert len(set(ids)) == len(ids)
    assert all(str(uuid.UUID(request_id)) == request_id for request_id in ids)


def test_a_chunked_body_is_read(endpoint: Endpoint, label_job: str) -> None:
    body = {"JobId": label_job, "MaxResults": 2, "SortBy": "NAME"}

    plain = endpoint.call("GetLabelDetection", body)
    chunked = endpoint.call("GetLabelDetection", body, chunk_size=7)
    refused = endpoint.call(
        "GetLabelDetection", {"JobId": label_job, "MaxResults": 0}, chunk_size=5
    )

    assert chunked.status == 200
    assert chunked.document == plain.document
    assert refused.error == "ValidationException"


def test_a_broken_chunked_body_is_a_400_not_a_hang(endpoint: Endpoint) -> None:
    host = endpoint.url.removeprefix("http://")
    request = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\n"
        "X-Amz-Target: RekognitionService.GetLabelDetection\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ).encode()

    status, body = post_raw(endpoint.url, request)

    assert status == 400
    assert json.loads(body)["__type"] == "SerializationException"


def test_chunk_extensions_and_trailers_are_read_past() -> None:
    stream = io.BytesIO(b'4;name=value\r\n{"a"\r\n4\r\n: 1}\r\n0\r\nTrailer: x\r\n\r\nrest')

    assert read_chunked(stream) == b'{"a": 1}'
    assert stream.read() == b"rest"


@pytest.mark.parametrize("analysis", sorted(RESULTS_KEY))
def test_a_start_on_a_missing_object_is_refused_at_once(endpoint: Endpoint, analysis: str) -> None:
    extras: dict[str, dict[str, Any]] = {
        "SegmentDetection": {"SegmentTypes": ["SHOT"]},
        "FaceSearch": {"CollectionId": "contract-faces"},
    }
    extra = extras.get(analysis, {})
    running = endpoint.video.in_progress()

    answer = endpoint.call(
        f"Start{analysis}", video_request(f"missing-{analysis}", "uploads/gone.mp4", **extra)
    )

    assert (answer.status, answer.error) == (400, "InvalidS3ObjectException")
    assert endpoint.video.in_progress() <= running
