"""The Batch Transform workflow, run by moto's ASL interpreter on the real definition.

createModel goes to moto's SageMaker; createTransformJob.sync is answered by a stand-in
that checks the request against botocore's model, then runs the shipped model's own
inference code over the inputs in moto's S3 (medialens_local.batch_transform) and
writes the ``.out`` files; the real VerifyTransformFunction handler checks them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from jobs import train_suggester
from tests.support.stack import resolve, resource
from tests.support.workflows import (
    MOTO_CONFIG,
    Execution,
    StandIns,
    execute,
    notifications,
    real_handlers,
    render,
    sagemaker_stand_ins,
    stand_ins,
    subscribed_topic,
)

DEFINITION = "batch_transform.asl.json"
IMAGE = "sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "media"
RUN = {
    "input_uri": f"s3://{BUCKET}/exports/run-1/",
    "output_uri": f"s3://{BUCKET}/transforms/run-1/",
}
RULES = [
    {"label": "beach", "related": [{"label": "sea", "confidence": 0.93, "lift": 4.6}]},
    {"label": "sea", "related": [{"label": "beach", "confidence": 0.95, "lift": 4.6}]},
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[dict[str, Any]]:
    with mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        topic, queue = subscribed_topic()
        functions = real_handlers(
            monkeypatch, lambda_context, {"verify-transform": "verify_transform"}
        )
        yield {
            "sfn": boto3.client("stepfunctions"),
            "s3": s3,
            "queue": queue,
            "topic": topic,
            "function": functions["verify-transform"],
        }


def substitutions(aws: dict[str, Any]) -> dict[str, str]:
    declared = resource("BatchTransformStateMachine")["Properties"]["DefinitionSubstitutions"]
    values = {
        name: resolve(value)
        for name, value in declared.items()
        if name
        not in ("Bucket", "InferenceImage", "SageMakerRoleArn", "VerifyFunctionArn", "TopicArn")
    }
    return {
        **values,
        "Bucket": BUCKET,
        "InferenceImage": f"141502667606.dkr.ecr.eu-west-1.amazonaws.com/{IMAGE}",
        "SageMakerRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
        "VerifyFunctionArn": aws["function"],
        "TopicArn": aws["topic"],
    }


def models() -> list[str]:
    """The models left in (moto's) SageMaker."""
    return [m["ModelName"] for m in boto3.client("sagemaker").list_models()["Models"]]


def put_inputs(aws: dict[str, Any], files: dict[str, list[dict[str, Any]]]) -> None:
    for name, records in files.items():
        aws["s3"].put_object(
            Bucket=BUCKET,
            Key=f"exports/run-1/{name}",
            Body="".join(json.dumps(r) + "\n" for r in records).encode(),
        )


def sagemaker(aws: dict[str, Any], archive: Path, *, tamper: bool = False) -> StandIns:
    """createModel on moto; the transform job run locally over moto's S3."""
    return sagemaker_stand_ins(aws["s3"], BUCKET, archive=archive, tamper=tamper)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return train_suggester.pack(train_suggester.train(RULES), tmp_path / "model.tar.gz")


def run(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, standins: StandIns, **extra: Any
) -> Execution:
    with stand_ins(monkeypatch, standins):
        return execute(aws["sfn"], render(DEFINITION, substitutions(aws)), {**RUN, **extra})


def keys(aws: dict[str, Any], prefix: str) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def out_lines(aws: dict[str, Any], *names: str) -> list[bytes]:
    """The ``.out`` lines of the named inputs, in that order."""
    return [
        line
        for name in names
        for line in aws["s3"]
        .get_object(Bucket=BUCKET, Key=f"transforms/run-1/{name}.out")["Body"]
        .read()
        .splitlines()
        if line.strip()
    ]


def beach(n: int) -> dict[str, Any]:
    return {"media_id": f"uploads/{n:04d}.jpg", "labels": [{"name": "Beach", "confidence": 95.0}]}


def test_the_happy_path_creates_the_model_transforms_verifies_and_notifies(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(n) for n in range(40)], "part-2.jsonl": [beach(99)]})
    standins = sagemaker(aws, archive)

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "SUCCEEDED", execution.history[-3:]
    assert execution.scheduled() == [
        ("sagemaker", "createModel"),
        ("sagemaker", "createTransformJob.sync"),
        ("aws-sdk:sagemaker", "deleteModel"),
        ("lambda", "invoke"),
        ("sns", "publish"),
    ]
    [job] = standins.called("sagemaker", "createTransformJob")
    [model] = standins.called("sagemaker", "createModel")
    assert model["EnableNetworkIsolation"] is True
    # The job has ended: its model was deleted (in moto's SageMaker, by the SDK task).
    assert models() == []
    assert job["ModelName"] == model["ModelName"] == job["TransformJobName"]
    assert len(job["TransformJobName"]) <= 63
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformOutput"]["AssembleWith"] == "Line"
    assert job["DataProcessing"]["JoinSource"] == "Input"
    assert job["MaxPayloadInMB"] * job["MaxConcurrentTransforms"] <= 100
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert model["PrimaryContainer"]["ModelDataUrl"] == substitutions(aws)["ModelDataUrl"]
    out = aws["s3"].get_object(Bucket=BUCKET, Key="transforms/run-1/part-1.jsonl.out")
    first = json.loads(out["Body"].read().splitlines()[0])
    assert first["media_id"] == "uploads/0000.jpg"
    assert first["SageMakerOutput"]["suggestions"][0]["label"] == "sea"
    [message] = notifications(aws["queue"])
    assert message["status"] == "SUCCEEDED"
    assert message["cleanup_error"] is None
    assert message["report"]["ok"] is True
    assert (message["report"]["files"], message["report"]["records"]) == (2, 41)
    # No combine asked: the verify step wrote nothing beside the job's outputs.
    assert (message["report"]["combined"], message["report"]["combined_lines"]) == (None, 0)
    assert keys(aws, "transforms/") == [
        "transforms/run-1/part-1.jsonl.out",
        "transforms/run-1/part-2.jsonl.out",
    ]


def test_a_named_model_is_used_as_it_is(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(1)]})
    standins = sagemaker(aws, archive)

    execution = run(aws, monkeypatch, standins, model_name="suggester-v3")

    assert execution.status == "SUCCEEDED"
    assert standins.called("sagemaker", "createModel") == []
    assert standins.called("sagemaker", "createTransformJob")[0]["ModelName"] == "suggester-v3"
    # The caller's model is the caller's: not deleted.
    assert ("aws-sdk:sagemaker", "deleteModel") not in execution.scheduled()


def test_each_execution_gets_its_own_job_name(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(1)]})
    standins = sagemaker(aws, archive)
    definition = render(DEFINITION, substitutions(aws))

    with stand_ins(monkeypatch, standins):
        execute(aws["sfn"], definition, RUN, name="first")
        execute(aws["sfn"], definition, RUN, name="second")

    names = [job["TransformJobName"] for job in standins.called("sagemaker", "createTransformJob")]
    assert len(set(names)) == 2


def test_a_record_over_the_payload_limit_fails_the_job_and_notifies(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    limit_mb = int(
        resolve(
            resource("BatchTransformStateMachine")["Properties"]["DefinitionSubstitutions"][
                "MaxPayloadInMB"
            ]
        )
    )
    huge = {**beach(1), "notes": "x" * (limit_mb * 1024 * 1024 + 1)}
    put_inputs(aws, {"part-1.jsonl": [beach(0), huge]})

    execution = run(aws, monkeypatch, sagemaker(aws, archive))

    assert execution.status == "FAILED"
    assert execution.error == "BatchTransformFailed"
    assert "Verify" not in execution.entered()
    assert "DeleteModelAfterFailure" in execution.entered()
    assert models() == []
    [message] = notifications(aws["queue"])
    assert message["status"] == "FAILED"
    assert "MaxPayloadInMB" in message["error"]["Cause"]


def test_a_model_that_cannot_be_deleted_is_reported_and_the_run_still_succeeds(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(1)]})
    standins = sagemaker(aws, archive)
    create = standins.handlers[("sagemaker", "createModel")]

    def created_then_gone(params: dict[str, Any]) -> dict[str, Any]:
        answer = create(params)
        boto3.client("sagemaker").delete_model(ModelName=params["ModelName"])
        return answer

    standins.handlers[("sagemaker", "createModel")] = created_then_gone

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "SUCCEEDED"
    [message] = notifications(aws["queue"])
    assert message["status"] == "SUCCEEDED"
    # moto names SDK-integration errors its own way ("sagemaker.sagemakerException"), not
    # as Step Functions does: the test holds only that the failure is reported.
    assert message["cleanup_error"]["Error"]
    assert message["cleanup_error"]["Cause"]


def test_outputs_that_do_not_match_their_inputs_fail_the_run(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(n) for n in range(5)]})

    execution = run(aws, monkeypatch, sagemaker(aws, archive, tamper=True))

    assert execution.status == "FAILED"
    assert "OutputsDoNotMatch" in execution.entered()
    [message] = notifications(aws["queue"])
    assert message["error"]["Error"] == "TransformOutputMismatch"
    report = json.loads(message["error"]["Cause"])
    assert (report["records"], report["outputs"], report["mismatches"]) == (5, 4, 1)


def test_locations_that_are_not_folders_fail_before_any_model_or_job(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    standins = sagemaker(aws, archive)

    execution = run(aws, monkeypatch, standins, input_uri="s3://media/exports/run-1")

    assert execution.status == "FAILED"
    assert execution.error == "BadInput"
    assert standins.calls == []


COMBINED = f"s3://{BUCKET}/transforms/run-1-combined.jsonl"


def test_asked_to_combine_the_verify_step_writes_every_output_line_in_order(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(
        aws,
        {
            "part-2.jsonl": [beach(n) for n in range(100, 103)],
            "part-1.jsonl": [beach(n) for n in range(30)],
            "part-10.jsonl": [beach(500)],
        },
    )

    execution = run(aws, monkeypatch, sagemaker(aws, archive), combine_uri=COMBINED)

    assert execution.status == "SUCCEEDED", execution.history[-3:]
    # S3 key order: part-1, part-10, part-2.
    expected = out_lines(aws, "part-1.jsonl", "part-10.jsonl", "part-2.jsonl")
    assert len(expected) == 34
    combined = aws["s3"].get_object(Bucket=BUCKET, Key="transforms/run-1-combined.jsonl")
    assert combined["Body"].read() == b"".join(line + b"\n" for line in expected)
    [message] = notifications(aws["queue"])
    assert message["status"] == "SUCCEEDED"
    assert (message["report"]["combined"], message["report"]["combined_lines"]) == (COMBINED, 34)


def test_outputs_that_do_not_match_are_not_combined(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(n) for n in range(5)]})

    execution = run(aws, monkeypatch, sagemaker(aws, archive, tamper=True), combine_uri=COMBINED)

    assert execution.status == "FAILED"
    assert "OutputsDoNotMatch" in execution.entered()
    assert keys(aws, "transforms/run-1-combined") == []
    assert aws["s3"].list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    [message] = notifications(aws["queue"])
    assert json.loads(message["error"]["Cause"])["combined"] is None


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"combine_uri": "s3://media/transforms/run-1/"}, id="combine-folder"),
        pytest.param({"combine_uri": "s3://media/exports/all.jsonl"}, id="combine-not-transforms"),
        pytest.param({"combine_uri": "s3://other/transforms/all.jsonl"}, id="combine-other-bucket"),
        pytest.param(
            {"model_data_url": "s3://media/exports/model.tar.gz"}, id="model-not-under-models"
        ),
        pytest.param({"combine_uri": "media/transforms/all.jsonl"}, id="combine-not-s3"),
        pytest.param({"combine_uri": 42}, id="combine-not-text"),
        pytest.param({"combine_uri": None}, id="combine-null"),
        pytest.param({"model_data_url": "s3://media/models/model.pkl"}, id="model-not-tar-gz"),
        pytest.param({"model_data_url": "https://x/model.tar.gz"}, id="model-not-s3"),
        pytest.param({"model_data_url": ["s3://media/models/a.tar.gz"]}, id="model-not-text"),
        pytest.param(
            {"model_data_url": "s3://media/models/a.tar.gz", "model_name": "suggester-v3"},
            id="model-url-and-name",
        ),
    ],
)
def test_bad_optional_inputs_fail_before_any_model_or_job(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path, extra: dict[str, Any]
) -> None:
    standins = sagemaker(aws, archive)

    execution = run(aws, monkeypatch, standins, **extra)

    assert execution.status == "FAILED"
    assert execution.error == "BadInput"
    assert execution.entered() == ["CheckInput", "BadInput"]
    assert standins.calls == []
    assert standins.called("sagemaker", "createModel") == []


def test_a_model_archive_per_execution_is_the_one_the_model_is_created_from(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archive: Path
) -> None:
    put_inputs(aws, {"part-1.jsonl": [beach(1)]})
    standins = sagemaker(aws, archive)
    trained = f"s3://{BUCKET}/models/label_suggester/runs/abc/model.tar.gz"

    execution = run(aws, monkeypatch, standins, model_data_url=trained)

    assert execution.status == "SUCCEEDED", execution.history[-3:]
    [model] = standins.called("sagemaker", "createModel")
    assert model["PrimaryContainer"]["ModelDataUrl"] == trained
    assert trained != substitutions(aws)["ModelDataUrl"]
    [job] = standins.called("sagemaker", "createTransformJob")
    assert job["ModelName"] == model["ModelName"]
