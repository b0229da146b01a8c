"""Functions the workflow tests run in moto answer as Lambda does, errors included."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.workflows import MOTO_CONFIG, FunctionError, moto_functions


def run(name: str, event: dict[str, Any]) -> Any:
    if event.get("fail") == "own":
        raise ValueError("no such record")
    if event.get("fail") == "reported":
        raise FunctionError("MalformedRulesError", "line 3 is not JSON")
    return {"echo": event, "function": name}


@pytest.mark.parametrize(
    ("fail", "error_type", "message"),
    [
        ("own", "ValueError", "no such record"),
        ("reported", "MalformedRulesError", "line 3 is not JSON"),
    ],
)
def test_a_raised_error_is_lambdas_unhandled_function_error(
    monkeypatch: pytest.MonkeyPatch, fail: str, error_type: str, message: str
) -> None:
    with mock_aws(config=MOTO_CONFIG):
        moto_functions(monkeypatch, run, ["verify"])

        answer = boto3.client("lambda").invoke(
            FunctionName="verify", Payload=json.dumps({"fail": fail}).encode()
        )

    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read()) == {
        "errorType": error_type,
        "errorMessage": message,
    }


def test_an_answer_is_the_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws(config=MOTO_CONFIG):
        moto_functions(monkeypatch, run, ["verify"])

        answer = boto3.client("lambda").invoke(FunctionName="verify", Payload=b'{"n": 1}')

    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"echo": {"n": 1}, "function": "verify"}
