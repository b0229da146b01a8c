"""The inline-bytes entry point: base64 in, Rekognition called with Bytes, catalog out."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.support import rekognition as answers
from tests.support.images import gif_bytes
from tests.support.stack import ROOT, Stack, granted_actions, load_handler


@pytest.fixture
def handler() -> Any:
    return load_handler("analyze_image_bytes")


def test_inline_image_is_analysed_and_catalogued(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    aws_calls: set[str],
) -> None:
    event = json.loads((ROOT / "events" / "inline_image.json").read_text())
    data = base64.b64decode(event["image_base64"])
    media_id = f"inline/{hashlib.sha256(data).hexdigest()}"
    answers.queue_full_analysis(
        rekognition,
        {"Bytes": data},
        labels=(("Pattern", 88.0),),
        faces=0,
        collection_id=stack.face_collection_id,
    )

    response = handler.lambda_handler(event, lambda_context)

    assert response["status"] == "analysed"
    assert response["media_id"] == media_id
    assert response["analysis"]["labels"][0]["name"] == "Pattern"
    assert stack.result_document(f"results/{media_id}.json")["media_id"] == media_id
    meta = stack.catalog_item(media_id)
    assert meta is not None
    assert meta["name"]["S"] == "chelsea the cat, 160 px.jpg"
    assert stack.search("ByTerm", "LABEL#pattern") == [media_id]
    assert aws_calls <= granted_actions("AnalyzeImageBytesFunction")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (json.loads((ROOT / "events" / "inline_image_invalid.json").read_text()), "bad_request"),
        ({"name": "no image"}, "bad_request"),
        ({"image_base64": base64.b64encode(gif_bytes()).decode()}, "unsupported_format"),
        (
            {"image_base64": base64.b64encode(b"\xff\xd8\xff" + bytes(5 * 1024 * 1024)).decode()},
            "too_large",
        ),
    ],
    ids=["invalid-base64", "missing-field", "gif", "over-5MB"],
)
def test_bad_inline_requests_get_a_clear_rejection(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    event: dict[str, Any],
    reason: str,
) -> None:
    response = handler.lambda_handler(event, lambda_context)

    assert response["status"] == "rejected"
    assert response["reason"] == reason
    assert response["detail"]
    assert stack.keys("results/") == []
