"""The local SageMaker Runtime through a client that is not boto3: the AWS SDK for JavaScript v3.

tests/js/sagemaker_runtime_calls.mjs makes the calls; ``make js-deps`` installs the SDK
from tests/js/package-lock.json. The endpoint serves a model trained by the pipeline's
own trainer, with the shipped inference code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from medialens_local.sagemaker_runtime import EndpointBehaviour, serving
from medialens_local.template import ROOT

from jobs import train_suggester

JS = ROOT / "tests" / "js"
NODE = shutil.which("node")
RULES = [{"label": "beach", "related": [{"label": "sea", "confidence": 0.93, "lift": 4.6}]}]
RECORD = json.dumps({"labels": [{"name": "Beach", "confidence": 91.0}]})

pytestmark = [
    pytest.mark.skipif(
        NODE is None, reason="node is not installed: the JavaScript SDK tests need Node.js 18+"
    ),
    pytest.mark.skipif(
        not (JS / "node_modules" / "@aws-sdk" / "client-sagemaker-runtime").is_dir(),
        reason="the JavaScript SDK is not installed: run `make js-deps` (npm ci --prefix tests/js)",
    ),
]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    archive = train_suggester.pack(
        train_suggester.train(RULES), tmp_path_factory.mktemp("model") / "model.tar.gz"
    )
    models: dict[str, Path] = {"suggester": archive, "busy": archive, "down": archive}
    with serving(models) as served:
        runtime = served.runtime
        runtime.endpoints["busy"].behaviour = EndpointBehaviour(max_concurrency=0)
        runtime.endpoints["down"].behaviour = EndpointBehaviour(unavailable=1.0)
        yield served.endpoint


def js(endpoint: str, *calls: dict[str, Any]) -> list[dict[str, Any]]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "sagemaker_runtime_calls.mjs"), endpoint],
        input=json.dumps(list(calls)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=JS,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def call(name: str, content_type: str = "application/jsonlines") -> dict[str, Any]:
    return {
        "EndpointName": name,
        "Body": RECORD,
        "ContentType": content_type,
        "Accept": "application/jsonlines",
    }


def test_the_sdk_gets_the_inference_codes_answer(endpoint: str) -> None:
    [answered] = js(endpoint, call("suggester"))

    assert answered["ok"], answered
    assert answered["output"]["ContentType"] == "application/jsonlines"
    assert answered["output"]["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(answered["body"]) == {
        "suggestions": [{"label": "sea", "confidence": 0.93, "because": "beach"}]
    }


def test_the_sdk_names_each_refusal_and_retries_only_what_the_service_may_outgrow(
    endpoint: str,
) -> None:
    missing, model_error, throttled, down = js(
        endpoint,
        call("absent"),
        call("suggester", content_type="text/csv"),
        call("busy"),
        call("down"),
    )

    assert (missing["name"], missing["status"], missing["attempts"]) == ("ValidationError", 400, 1)
    assert "Endpoint absent of account" in missing["message"]
    assert (model_error["name"], model_error["status"]) == ("ModelError", 424)
    assert model_error["originalStatusCode"] == 500
    assert model_error["attempts"] == 1
    # The SDK's standard retry mode retries throttling and 5xx answers (three attempts);
    # medialens' own adapter makes one attempt and leaves the image to the batch run.
    assert (throttled["name"], throttled["status"], throttled["attempts"]) == (
        "ThrottlingException",
        400,
        3,
    )
    assert (down["name"], down["status"], down["attempts"]) == ("ServiceUnavailable", 503, 3)
