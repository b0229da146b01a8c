"""New uploads get the suggester endpoint's suggestions, through the real S3-drop handler.

The endpoint is the local SageMaker Runtime (``medialens_local.sagemaker_runtime``) serving
a model trained by the pipeline's own trainer, reached by the handler's boto3 client over
HTTP as the deployed function reaches SageMaker; Rekognition is stubbed to its model.
Every way the endpoint fails is made to happen, and none may fail the analysis.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from medialens_local.router import forget_cached_clients
from medialens_local.sagemaker_runtime import EndpointBehaviour, ServedEndpoints, serving

from jobs import train_suggester
from tests.integration.test_analyze_media_handler import deliver, emitted_metrics, invoke
from tests.support import rekognition as answers
from tests.support.images import jpeg_bytes
from tests.support.stack import Stack, granted_actions, load_handler, resolve, statements_of

ENDPOINT = resolve({"Fn::Sub": "${NamePrefix}-suggester"})
RULES = [
    {"label": "dog", "related": [{"label": "leash", "confidence": 0.82, "lift": 3.1}]},
    {"label": "beach", "related": [{"label": "sea", "confidence": 0.93, "lift": 4.6}]},
]
FAILING_CODE = b"""
def model_fn(model_dir):
    return {}

def input_fn(body, content_type):
    raise ValueError("the container could not read the request")
"""


@pytest.fixture
def handler() -> Any:
    return load_handler("analyze_media")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return train_suggester.pack(train_suggester.train(RULES), tmp_path / "model.tar.gz")


def failing_archive(folder: Path) -> Path:
    """A model whose inference code raises on every request (ModelError, 424)."""
    path = folder / "failing.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("model.json", b"{}"), ("code/inference.py", FAILING_CODE)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@contextlib.contextmanager
def hosted(
    monkeypatch: pytest.MonkeyPatch,
    archive: Path,
    behaviour: EndpointBehaviour | None = None,
    *,
    served_as: str = ENDPOINT,
) -> Iterator[ServedEndpoints]:
    """Serve ``archive`` as ``served_as``; the function calls ``ENDPOINT``, as deployed."""
    with serving({served_as: archive}, behaviour or EndpointBehaviour()) as served:
        monkeypatch.setenv("SUGGESTER_ENDPOINT", ENDPOINT)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", served.endpoint)
        forget_cached_clients()
        yield served
    forget_cached_clients()


def drop(stack: Stack, rekognition: Stubber, key: str) -> dict[str, Any]:
    event = stack.put_object(key, jpeg_bytes())
    version = event["Records"][0]["s3"]["object"]["versionId"]
    answers.queue_full_analysis(
        rekognition,
        answers.s3_image(stack.bucket, key, version),
        labels=(("Dog", 97.5), ("Beach", 91.0)),
        collection_id=stack.face_collection_id,
    )
    return event


def test_an_upload_gets_the_endpoints_suggestions_stored_as_suggested_not_detected(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    archive: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    aws_calls: set[str],
) -> None:
    key = "uploads/park.jpg"
    with hosted(monkeypatch, archive) as served:
        summary = invoke(stack, handler, drop(stack, rekognition, key), lambda_context)

    assert summary["analysed"] == 1
    assert [call.outcome for call in served.runtime.ledger] == ["ok"]
    document = stack.result_document(f"results/{key}.json")
    assert document["suggested"] == [
        {"name": "sea", "confidence": 0.93, "because": "beach"},
        {"name": "leash", "confidence": 0.82, "because": "dog"},
    ]
    meta = stack.catalog_item(key)
    assert meta is not None
    assert [value["S"] for value in meta["suggested"]["L"]] == ["sea", "leash"]
    # Suggested, not detected: no search by the suggested label finds the photo.
    assert stack.search("ByTerm", "LABEL#dog") == [key]
    assert stack.search("ByTerm", "LABEL#sea") == []
    assert "LabelsSuggested" in emitted_metrics(capfd.readouterr().out)
    assert "sagemaker:InvokeEndpoint" in aws_calls
    assert aws_calls <= granted_actions("AnalyzeMediaFunction")


def test_the_role_may_invoke_this_one_endpoint_only() -> None:
    [statement] = [
        s
        for s in statements_of("AnalyzeMediaFunction")
        if s["Action"] == "sagemaker:InvokeEndpoint"
    ]
    arn = resolve(statement["Resource"])

    assert arn.endswith(f":endpoint/{ENDPOINT}")
    assert arn == arn.lower(), "SageMaker writes endpoint names lower-case in ARNs"
    assert "*" not in arn


FAILURES: dict[str, tuple[dict[str, Any], EndpointBehaviour]] = {
    "missing": ({"served_as": "another-endpoint"}, EndpointBehaviour()),
    "throttled": ({}, EndpointBehaviour(max_concurrency=0)),
    "cold": ({}, EndpointBehaviour(cold_refuses=True)),
    "timeout": ({}, EndpointBehaviour(cold_start_s=1.5)),
    "failing": ({}, EndpointBehaviour(unavailable=1.0)),
    "model_error": ({"failing_model": True}, EndpointBehaviour()),
}


@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_an_endpoint_that_fails_never_fails_the_analysis(
    reason: str,
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    archive: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    options, behaviour = dict(FAILURES[reason][0]), FAILURES[reason][1]
    served_archive = failing_archive(tmp_path) if options.pop("failing_model", False) else archive
    monkeypatch.setenv("SUGGESTER_TIMEOUT_S", "0.5")
    key = "uploads/park.jpg"
    with (
        caplog.at_level(logging.WARNING),
        hosted(monkeypatch, served_archive, behaviour, **options),
    ):
        response, summary = deliver(stack, handler, drop(stack, rekognition, key), lambda_context)

    assert response == {"batchItemFailures": []}, "the drop is not retried"
    assert summary["analysed"] == 1
    meta = stack.catalog_item(key)
    assert meta is not None
    assert meta["status"]["S"] == "ANALYSED"
    assert "suggested" not in meta
    note = f"label suggestions skipped ({reason}): left to the next batch run"
    assert note in [value["S"] for value in meta["notes"]["L"]]
    assert stack.search("ByTerm", "LABEL#dog") == [key]
    [skipped] = [r for r in caplog.records if r.getMessage() == "Suggestions skipped"]
    assert getattr(skipped, "reason", None) == reason
    assert "SuggestionsSkipped" in emitted_metrics(capfd.readouterr().out)


def test_without_hosting_the_function_calls_no_endpoint(
    stack: Stack,
    rekognition: Stubber,
    handler: Any,
    lambda_context: Any,
    aws_calls: set[str],
) -> None:
    assert not os.environ.get("SUGGESTER_ENDPOINT"), "SuggesterHosting defaults to Disabled"

    invoke(stack, handler, drop(stack, rekognition, "uploads/park.jpg"), lambda_context)

    assert not any(action.startswith("sagemaker:") for action in aws_calls)
