"""The suggester endpoint's adapter and the use case around it, against botocore's model.

Stubber checks each InvokeEndpoint request and each answer (errors included) against
the ``sagemaker-runtime`` service model.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from medialens.images.analyze import suggest_labels
from medialens.images.models import ImageAnalysis, Label, SuggestedLabel
from medialens.images.suggester_endpoint import REASONS, SageMakerLabelSuggester, parse_answer
from medialens.shared.errors import SuggestionsUnavailableError

LABELS = (Label(name="Dog", confidence=97.5), Label(name="Beach", confidence=91.0))
ANSWER = {"suggestions": [{"label": "sea", "confidence": 0.93, "because": "beach"}]}


def stubbed() -> tuple[SageMakerLabelSuggester, Stubber]:
    client = boto3.client("sagemaker-runtime", region_name="eu-west-1")
    return SageMakerLabelSuggester("medialens-suggester", timeout_s=1, client=client), Stubber(
        client
    )


def streamed(data: bytes) -> StreamingBody:
    """The answer's body as botocore hands it over (InvokeEndpoint streams its payload)."""
    return StreamingBody(io.BytesIO(data), len(data))


def test_the_labels_go_as_one_json_line_and_the_answer_comes_back_typed() -> None:
    suggester, stubber = stubbed()
    body = json.dumps(
        {"labels": [{"name": "Dog", "confidence": 97.5}, {"name": "Beach", "confidence": 91.0}]},
        separators=(",", ":"),
    ).encode()
    stubber.add_response(
        "invoke_endpoint",
        {"Body": streamed(json.dumps(ANSWER).encode()), "ContentType": "application/jsonlines"},
        {
            "EndpointName": "medialens-suggester",
            "Body": body,
            "ContentType": "application/jsonlines",
            "Accept": "application/jsonlines",
        },
    )

    with stubber:
        assert suggester.suggest(LABELS) == (SuggestedLabel("sea", 0.93, "beach"),)


def invoke_errors() -> dict[str, int]:
    """InvokeEndpoint's modelled errors, by code, with their HTTP status."""
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    operation = model.operation_model("InvokeEndpoint")
    return {
        shape.metadata.get("error", {}).get("code", shape.name): shape.metadata["error"][
            "httpStatusCode"
        ]
        for shape in operation.error_shapes
    }


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("ValidationError", "Endpoint medialens-suggester of account 1 not found.", "missing"),
        ("ValidationError", "Body exceeds the limit.", "refused"),
        ("ModelNotReadyException", "still being provisioned", "cold"),
        ("ThrottlingException", "Maximum concurrency reached", "throttled"),
        ("ServiceUnavailable", "unavailable", "failing"),
        ("InternalFailure", "internal failure", "failing"),
        ("InternalDependencyException", "dependency", "failing"),
        ("ModelError", "Received client error (500) from primary", "model_error"),
    ],
)
def test_each_error_of_the_endpoint_becomes_a_reason_not_a_failure(
    code: str, message: str, reason: str
) -> None:
    suggester, stubber = stubbed()
    statuses = {**invoke_errors(), "ThrottlingException": 400}
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        service_message=message,
        http_status_code=statuses[code],
    )

    with stubber, pytest.raises(SuggestionsUnavailableError) as raised:
        suggester.suggest(LABELS)

    assert raised.value.reason == reason
    assert code in raised.value.detail


def test_every_error_botocore_models_for_invoke_endpoint_has_a_reason() -> None:
    # ValidationError is told apart by its message; ThrottlingException is not modelled
    # for InvokeEndpoint, though a serverless endpoint past MaxConcurrency answers it
    # (SageMaker Developer Guide, Serverless Inference: invocations beyond the maximum
    # "are throttled").
    assert set(invoke_errors()) - {"ValidationError"} <= set(REASONS)
    assert set(REASONS) - set(invoke_errors()) <= {"ThrottlingException", "InternalStreamFailure"}


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"not json",
        b'{"error": "malformed record"}',
        b'{"suggestions": [{"label": 1}]}',
        b'{"suggestions": []}\n{"suggestions": []}',
        b"[1, 2]",
        b"\xff",
    ],
)
def test_an_answer_that_is_not_the_inference_codes_is_a_model_error(answer: bytes) -> None:
    with pytest.raises(SuggestionsUnavailableError) as raised:
        parse_answer(answer)

    assert raised.value.reason == "model_error"


class Failing:
    def suggest(self, labels: Any) -> tuple[SuggestedLabel, ...]:
        raise SuggestionsUnavailableError("throttled", "ThrottlingException: busy")


class Answering:
    def __init__(self) -> None:
        self.asked: list[Any] = []

    def suggest(self, labels: Any) -> tuple[SuggestedLabel, ...]:
        self.asked.append(labels)
        return (SuggestedLabel("sea", 0.93, "beach"),)


def test_a_failing_endpoint_leaves_a_note_and_the_analysis_as_it_was() -> None:
    analysis = ImageAnalysis(media_id="uploads/a.jpg", analysed_at="t", labels=LABELS)

    noted = suggest_labels(analysis, Failing())

    assert noted.suggested == ()
    assert noted.labels == analysis.labels
    assert noted.notes == ("label suggestions skipped (throttled): left to the next batch run",)


def test_no_labels_no_endpoint_call() -> None:
    endpoint = Answering()

    assert suggest_labels(ImageAnalysis(media_id="a", analysed_at="t"), endpoint).suggested == ()
    assert endpoint.asked == []
    analysis = ImageAnalysis(media_id="a", analysed_at="t", labels=LABELS)
    assert suggest_labels(analysis, None) is analysis
    assert suggest_labels(analysis, endpoint).suggested == (SuggestedLabel("sea", 0.93, "beach"),)
