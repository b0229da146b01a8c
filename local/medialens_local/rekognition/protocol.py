"""Rekognition's wire protocol: ``X-Amz-Target`` operations, JSON bodies, typed errors."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from medialens_local.loopback import QuietHandler, Served, start

TARGET_PREFIX = "RekognitionService."
MAX_CHUNK_LINE = 1024
"""Longest chunk-size line read (hex size, extensions, CRLF)."""


class RekognitionError(Exception):
    """An error Rekognition itself would answer, by its documented code."""

    def __init__(self, code: str, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


Operation = Callable[[dict[str, Any]], dict[str, Any]]


def decode_blob(value: str) -> bytes:
    """JSON-protocol blobs travel base64-encoded."""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as error:
        raise RekognitionError("InvalidParameterException", "Image.Bytes is not base64") from error


def read_chunked(stream: io.BufferedIOBase) -> bytes:
    """Read a ``Transfer-Encoding: chunked`` body (RFC 9112, section 7.1).

    http.server leaves the body to the handler and has no decoder for requests (http.client
    has one for responses only), hence this one.

    Raises
    ------
    ValueError
        When the framing is broken.
    """
    body = bytearray()
    while True:
        line = stream.readline(MAX_CHUNK_LINE)
        if not line.endswith(b"\n"):
            raise ValueError("chunk size line is cut short")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size < 0:
            raise ValueError("negative chunk size")
        if size == 0:
            break
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(MAX_CHUNK_LINE).strip():
            raise ValueError("chunk is cut short")
        body += chunk
    while stream.readline(MAX_CHUNK_LINE).strip():
        pass  # trailer fields, which no Rekognition request carries
    return bytes(body)


def serve(operations: dict[str, Operation], host: str = "127.0.0.1", port: int = 0) -> Served:
    """Answer ``operations`` (by name, e.g. ``"DetectText"``) on a loopback port.

    Every request is held against the operation's input shape in botocore's model before
    the operation sees it (:mod:`medialens_local.rekognition.validation`).
    """
    from medialens_local.rekognition.validation import parse_body, validate_request

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            target = self.headers.get("X-Amz-Target", "")
            try:
                body = self._body()
            except ValueError as error:
                # The connection's framing is lost with the body: answer and close it.
                self.close_connection = True
                self._reply(
                    HTTPStatus.BAD_REQUEST,
                    {"__type": "SerializationException", "Message": f"unreadable body: {error}"},
                )
                return
            name = target.removeprefix(TARGET_PREFIX)
            if not target.startswith(TARGET_PREFIX) or name not in operations:
                unknown = f"{name or target!r} is not served by the local Rekognition"
                self._reply(
                    HTTPStatus.BAD_REQUEST,
                    {"__type": "UnknownOperationException", "Message": unknown},
                )
                return
            try:
                request = parse_body(body)
                validate_request(name, request)
                response = operations[name](request)
            except RekognitionError as error:
                self._reply(error.status, {"__type": error.code, "Message": error.message})
                return
            except Exception as error:  # noqa: BLE001 - answered as Rekognition would, not dropped
                message = f"local Rekognition failed: {type(error).__name__}: {error}"
                self._reply(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"__type": "InternalServerError", "Message": message},
                )
                return
            self._reply(HTTPStatus.OK, response)

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return read_chunked(self.rfile)
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError("negative Content-Length")
            body = self.rfile.read(length) if length else b""
            if len(body) != length:
                raise ValueError("body shorter than its Content-Length")
            return body

        def _reply(self, status: int, document: dict[str, Any]) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            # Every answer has its own id, as Rekognition's do (the SDKs log and report it).
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(payload)

    return start("rekognition", Handler, host, port)
