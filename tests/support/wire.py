"""Raw HTTP calls to a JSON-protocol stand-in: no SDK between the test and the wire."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """What came back: status, request id header and decoded body."""

    status: int
    request_id: str
    document: dict[str, Any]

    @property
    def error(self) -> str | None:
        code = self.document.get("__type")
        return str(code) if code is not None else None


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def post(
    endpoint: str,
    operation: str,
    body: dict[str, Any] | bytes,
    *,
    chunk_size: int | None = None,
    target_prefix: str = "RekognitionService.",
) -> Answer:
    """POST one operation, as JSON with Content-Length or (``chunk_size``) chunked."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    headers = {
        "X-Amz-Target": f"{target_prefix}{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    try:
        if chunk_size is None:
            connection.request("POST", "/", body=payload, headers=headers)
        else:
            headers["Transfer-Encoding"] = "chunked"
            connection.request(
                "POST", "/", body=_chunks(payload, chunk_size), headers=headers, encode_chunked=True
            )
        response = connection.getresponse()
        raw = response.read()
        return Answer(
            status=response.status,
            request_id=response.headers.get("x-amzn-RequestId", ""),
            document=json.loads(raw) if raw else {},
        )
    finally:
        connection.close()


def post_raw(endpoint: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (a broken framing, say) and read the status line and body."""
    url = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.sendall(request)
        response = http.client.HTTPResponse(connection.sock, method="POST")
        response.begin()
        return response.status, response.read()
    finally:
        connection.close()
