"""Checks every answer of the local Rekognition against botocore's service model."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

MODEL = botocore.session.get_session().get_service_model("rekognition")


def unknown_keys(value: Any, shape: Any, path: str) -> list[str]:
    """Keys the model does not declare, and enum values it does not list."""
    if shape.type_name == "structure":
        found = []
        for key, item in value.items():
            if key not in shape.members:
                found.append(f"{path}.{key}")
            else:
                found += unknown_keys(item, shape.members[key], f"{path}.{key}")
        return found
    if shape.type_name == "list":
        return [
            error
            for index, item in enumerate(value)
            for error in unknown_keys(item, shape.member, f"{path}[{index}]")
        ]
    if getattr(shape, "enum", None) and value not in shape.enum:
        return [f"{path}={value!r}"]
    return []


def validate_against_model(
    http_response: Any, parsed: dict[str, Any], model: Any, **_: Any
) -> None:
    """Every successful answer must fit the operation's output shape in botocore's model.

    The raw JSON is walked too: botocore's parser silently drops keys it does not know,
    so a misspelt field would otherwise pass.
    """
    if http_response.status_code != 200:
        return
    shape = MODEL.operation_model(model.name).output_shape
    assert shape is not None
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()
    assert unknown_keys(json.loads(http_response.content), shape, model.name) == []


@contextlib.contextmanager
def served_rekognition(
    objects: Mapping[str, bytes], *, cache_inference: bool = False
) -> Iterator[Any]:
    """A boto3 client of the local Rekognition over ``objects`` (key -> bytes, any bucket).

    Every answer is checked against botocore's service model.
    """
    from medialens_local.rekognition.protocol import serve
    from medialens_local.rekognition.service import LocalRekognition

    def read(bucket: str, key: str, version: str | None) -> bytes:
        return objects[key]

    served = serve(LocalRekognition(read, cache_inference=cache_inference).operations())
    client = served.client()
    client.meta.events.register("after-call.rekognition.*", validate_against_model)
    try:
        yield client
    finally:
        served.stop()
