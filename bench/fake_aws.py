"""AWS answered at botocore's HTTP layer, so serialisation, signing and parsing all run.

Only the network is missing: every client created after :func:`install` gets a
``before-send`` handler that returns a well-formed response for the operations the
image pipeline uses.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from tests.support import rekognition as answers
from tests.support.images import jpeg_bytes

REKOGNITION = {
    "DetectLabels": answers.labels_response(("Dog", 97.5), ("Beach", 91.0), parents=("Animal",)),
    "DetectText": answers.text_response("INVOICE 42 PAID"),
    "DetectFaces": answers.faces_response(1),
    "DetectModerationLabels": answers.moderation_response(),
    "SearchFacesByImage": answers.search_response(("alice", 99.1)),
    "IndexFaces": answers.index_response("alice"),
}
DYNAMODB = {
    "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
    "BatchWriteItem": {"UnprocessedItems": {}},
}
SNS_PUBLISH = (
    b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
    b"<MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult>"
    b"<ResponseMetadata><RequestId>f187a3c1</RequestId></ResponseMetadata></PublishResponse>"
)


class _Raw(io.BytesIO):
    """What botocore expects of urllib3's response: ``stream()`` and ``read()``."""

    def stream(self, **_: Any) -> Any:
        yield self.getvalue()


def _response(request: Any, status: int, body: bytes, headers: dict[str, str]) -> AWSResponse:
    return AWSResponse(request.url, status, HTTPHeaders.from_dict(headers), _Raw(body))


def _answer(request: Any, **_: Any) -> AWSResponse:
    raw_target = request.headers.get("X-Amz-Target", b"")
    target = raw_target.decode() if isinstance(raw_target, bytes) else str(raw_target)
    service, _dot, operation = target.partition(".")
    if service == "RekognitionService":
        return _response(request, 200, json.dumps(REKOGNITION[operation]).encode(), {})
    if service.startswith("DynamoDB"):
        return _response(request, 200, json.dumps(DYNAMODB.get(operation, {})).encode(), {})
    if "sns." in request.url:
        return _response(request, 200, SNS_PUBLISH, {})
    if request.method == "GET":
        body = jpeg_bytes()
        return _response(request, 206, body, {"Content-Length": str(len(body))})
    return _response(request, 200, b"", {"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'})


def install() -> Callable[[], None]:
    """Answer every botocore client created from now on without a network.

    Returns
    -------
    Callable[[], None]
        Restores normal client creation.
    """
    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        # A before-send handler that returns a response replaces the HTTP exchange.
        client.meta.events.register("before-send", _answer)  # type: ignore[arg-type]
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def uninstall() -> None:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]

    return uninstall
