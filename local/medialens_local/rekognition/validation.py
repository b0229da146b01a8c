"""Requests held against botocore's Rekognition model in their wire form, as the service does.

boto3 validates parameters before it sends them; the AWS SDK for JavaScript v3 and raw HTTP
callers do not, so the service must. botocore's ``ParamValidator`` checks Python-typed
parameters (bytes for blobs, ``datetime`` for timestamps), accepts ``True`` as an integer and
a string as a blob, and checks only the ``min`` trait (not ``max``, ``pattern`` or ``enum``).
The wire JSON has base64 strings for blobs and numbers for numbers, so this module walks the
model's shapes over the decoded JSON itself.

Which error answers which mistake (Rekognition API reference, Common Errors,
https://docs.aws.amazon.com/rekognition/latest/APIReference/CommonErrors.html, and the
developer guide's error handling page,
https://docs.aws.amazon.com/rekognition/latest/dg/error-handling.html):

- a body that is not JSON, or a value of the wrong JSON type: ``SerializationException``, 400;
- a value that breaks a constraint the model states (required, min, max, pattern, enum):
  ``ValidationException``, 400, with the service framework's message
  ``1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint:
  Member must have value greater than or equal to 1``.

Members the model does not declare are ignored, as the service framework ignores them (a
newer SDK may send members an older model lacks).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from typing import Any

import botocore.session
import regex  # type: ignore[import-untyped]  # the model's TagKey pattern uses \p{L}, which re lacks
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape

from medialens_local.rekognition.protocol import RekognitionError

INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
"""The service is written in Java: its ``integer`` is 32-bit and its ``long`` 64-bit."""


@functools.cache
def service_model() -> ServiceModel:
    """Rekognition's model as the installed botocore has it."""
    return botocore.session.get_session().get_service_model("rekognition")


@functools.cache
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


def parse_body(body: bytes) -> dict[str, Any]:
    """Decode a request body: a JSON object, or ``SerializationException``.

    An empty body is the empty object, as boto3 itself sends ``{}`` for no parameters.
    """

    def refuse_constant(name: str) -> float:
        raise ValueError(f"{name} is not a JSON number")

    try:
        document = json.loads(body or b"{}", parse_constant=refuse_constant)
    except (ValueError, RecursionError) as error:
        message = f"the body is not JSON: {error}"
        raise RekognitionError("SerializationException", message) from error
    if not isinstance(document, dict):
        raise RekognitionError(
            "SerializationException", "the body must be a JSON object of the operation's input"
        )
    return document


def validate_request(operation: str, request: dict[str, Any]) -> None:
    """Refuse ``request`` as Rekognition would when it breaks ``operation``'s input shape.

    Raises
    ------
    RekognitionError
        ``SerializationException`` for a value of the wrong JSON type (or a blob that is
        not base64), else ``ValidationException`` listing every broken constraint.
    """
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return
    problems: list[str] = []
    _check(request, shape, "", problems)
    if problems:
        plural = "s" if len(problems) > 1 else ""
        raise RekognitionError(
            "ValidationException",
            f"{len(problems)} validation error{plural} detected: " + "; ".join(problems),
        )


def _member_path(path: str, name: str) -> str:
    # The framework names members in lowerCamelCase: 'image.s3Object.name'.
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _wrong_type(path: str, expected: str, value: Any) -> RekognitionError:
    found = type(value).__name__ if value is not None else "null"
    return RekognitionError(
        "SerializationException", f"expected {expected} at '{path or 'body'}', found {found}"
    )


def _broken(value: str | None, path: str, rule: str) -> str:
    shown = "null" if value is None else f"'{value}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: Member must {rule}"


def _check_range(value: float, shown: str, shape: Shape, path: str, problems: list[str]) -> None:
    if "min" in shape.metadata and value < shape.metadata["min"]:
        rule = f"have value greater than or equal to {shape.metadata['min']}"
        problems.append(_broken(shown, path, rule))
    if "max" in shape.metadata and value > shape.metadata["max"]:
        rule = f"have value less than or equal to {shape.metadata['max']}"
        problems.append(_broken(shown, path, rule))


def _check_length(length: int, shown: str, shape: Shape, path: str, problems: list[str]) -> None:
    if "min" in shape.metadata and length < shape.metadata["min"]:
        rule = f"have length greater than or equal to {shape.metadata['min']}"
        problems.append(_broken(shown, path, rule))
    if "max" in shape.metadata and length > shape.metadata["max"]:
        rule = f"have length less than or equal to {shape.metadata['max']}"
        problems.append(_broken(shown, path, rule))


def _check(value: Any, shape: Shape, path: str, problems: list[str]) -> None:
    if value is None:  # JSON null is an absent member; required members are checked above
        return
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(_broken(None, _member_path(path, name), "not be null"))
        for name, member in shape.members.items():
            if name in value:
                _check(value[name], member, _member_path(path, name), problems)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise _wrong_type(path, "an array", value)
        _check_length(len(value), _shown(value), shape, path, problems)
        for index, item in enumerate(value, start=1):
            _check(item, shape.member, f"{path}.{index}.member", problems)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        _check_length(len(value), _shown(value), shape, path, problems)
        for key, item in value.items():
            _check(key, shape.key, f"{path}.{key}.key", problems)
            _check(item, shape.value, f"{path}.{key}.value", problems)
    elif isinstance(shape, StringShape):
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        # Java counts a string's length in UTF-16 code units.
        _check_length(len(value.encode("utf-16-le")) // 2, value, shape, path, problems)
        if shape.enum and value not in shape.enum:
            rule = f"satisfy enum value set: [{', '.join(shape.enum)}]"
            problems.append(_broken(value, path, rule))
        pattern = shape.metadata.get("pattern")
        # Java's Pattern.matches: the whole value must match, anchors or not.
        if pattern and _compiled(pattern).fullmatch(value) is None:
            problems.append(_broken(value, path, f"satisfy regular expression pattern: {pattern}"))
    elif kind == "blob":
        if not isinstance(value, str):
            raise _wrong_type(path, "a base64 string", value)
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise RekognitionError(
                "SerializationException", f"'{path}' is not valid base64"
            ) from error
        _check_length(len(data), f"<{len(data)} bytes>", shape, path, problems)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong_type(path, "a boolean", value)
    elif kind in INT_RANGES:
        integral = isinstance(value, float) and value.is_integer()
        if isinstance(value, bool) or not (isinstance(value, int) or integral):
            raise _wrong_type(path, f"an {kind}", value)
        low, high = INT_RANGES[kind]
        if not low <= value <= high:
            raise RekognitionError("SerializationException", f"'{path}' overflows an {kind}")
        _check_range(value, str(int(value)), shape, path, problems)
    elif kind in ("float", "double", "timestamp"):
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isinf(value):
            raise _wrong_type(path, "a number", value)
        _check_range(value, _shown(value), shape, path, problems)
