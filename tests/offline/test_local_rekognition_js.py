"""The local Rekognition through a client that is not boto3: the AWS SDK for JavaScript v3.

That SDK validates nothing before it sends and retries what the service answers with a
5xx, so a client mistake must come back as a 4xx the SDK names, on the first attempt.
tests/js/rekognition_calls.mjs makes the calls; ``make js-deps`` installs the SDK from
tests/js/package-lock.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from medialens_local.rekognition.protocol import serve
from medialens_local.rekognition.service import LocalRekognition
from medialens_local.rekognition.video import LocalVideo
from medialens_local.template import ROOT

JS = ROOT / "tests" / "js"
NODE = shutil.which("node")
VIDEO = "uploads/clips/cat-and-rocket.mp4"

pytestmark = [
    pytest.mark.skipif(
        NODE is None, reason="node is not installed: the JavaScript SDK tests need Node.js 18+"
    ),
    pytest.mark.skipif(
        not (JS / "node_modules" / "@aws-sdk" / "client-rekognition").is_dir(),
        reason="the JavaScript SDK is not installed: run `make js-deps` (npm ci --prefix tests/js)",
    ),
]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    data = (ROOT / "samples" / VIDEO).read_bytes()

    def read(bucket: str, key: str, version: str | None) -> bytes:
        if key != VIDEO:
            raise KeyError(key)
        return data

    images = LocalRekognition(read)
    video = LocalVideo(read, lambda topic, message: None, images.collections)
    served = serve(images.operations() | video.operations())
    yield served.endpoint
    video.shutdown()
    served.stop()


def js(endpoint: str, *calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``calls`` with the JavaScript SDK; what it saw of each answer."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "rekognition_calls.mjs"), endpoint],
        input=json.dumps([{"command": c, "input": i} for c, i in calls]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=JS,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def start(token: str, key: str = VIDEO) -> dict[str, Any]:
    return {"Video": {"S3Object": {"Bucket": "media", "Name": key}}, "ClientRequestToken": token}


def test_the_sdks_mistakes_are_named_400s_it_does_not_retry(endpoint: str) -> None:
    [started, again, mismatch, *refusals, missing] = js(
        endpoint,
        ("StartLabelDetection", start("js-1")),
        ("StartLabelDetection", start("js-1")),
        ("StartLabelDetection", {**start("js-1"), "MinConfidence": 90}),
        ("GetLabelDetection", {}),
        ("GetLabelDetection", {"JobId": "job", "MaxResults": 0}),
        ("GetLabelDetection", {"JobId": "not a job id"}),
        ("GetLabelDetection", {"JobId": "job", "SortBy": "SIZE"}),
        ("GetLabelDetection", {"JobId": "job", "MaxResults": "ten"}),
        ("StartLabelDetection", start("js-2", key="uploads/gone.mp4")),
    )

    assert started["ok"]
    assert again["output"]["JobId"] == started["output"]["JobId"]
    names = [r.get("name") for r in (mismatch, *refusals, missing)]
    assert names == [
        "IdempotentParameterMismatchException",
        "ValidationException",
        "ValidationException",
        "ValidationException",
        "ValidationException",
        "SerializationException",
        "InvalidS3ObjectException",
    ]
    for refused in (mismatch, *refusals, missing):
        assert (refused["ok"], refused["status"], refused["fault"]) == (False, 400, "client")
        assert refused["attempts"] == 1, refused
    ids = [r["requestId"] for r in (started, again, mismatch, *refusals, missing)]
    assert len(set(ids)) == len(ids)
    assert all(str(uuid.UUID(request_id)) == request_id for request_id in ids)


def test_the_sdk_gets_labels_sorted_by_name(endpoint: str) -> None:
    [started] = js(endpoint, ("StartLabelDetection", {**start("js-sorted"), "MinConfidence": 5}))
    job_id = started["output"]["JobId"]
    deadline = time.monotonic() + 120
    while True:
        [page] = js(endpoint, ("GetLabelDetection", {"JobId": job_id, "SortBy": "NAME"}))
        if page["output"]["JobStatus"] != "IN_PROGRESS" or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    assert page["output"]["JobStatus"] == "SUCCEEDED"
    names = [item["Label"]["Name"] for item in page["output"]["Labels"]]
    assert len(set(names)) > 1
    assert names == sorted(names)


def test_the_sdk_lists_a_collections_faces_and_is_refused_what_listfaces_refuses(
    endpoint: str,
) -> None:
    created, listed, too_many, missing = js(
        endpoint,
        ("CreateCollection", {"CollectionId": "js-faces"}),
        ("ListFaces", {"CollectionId": "js-faces", "MaxResults": 4096}),
        ("ListFaces", {"CollectionId": "js-faces", "MaxResults": 4097}),
        ("ListFaces", {"CollectionId": "js-nobody"}),
    )

    assert created["ok"]
    assert listed["ok"]
    assert listed["output"]["Faces"] == []
    assert "NextToken" not in listed["output"]
    assert (too_many["name"], too_many["status"], too_many["attempts"]) == (
        "ValidationException",
        400,
        1,
    )
    assert (missing["name"], missing["status"]) == ("ResourceNotFoundException", 400)
