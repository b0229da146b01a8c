"""The pipeline's functions against moto: publishing the suggester, uploading the job."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from medialens.workflows.related_labels import DynamoDBRelatedLabels
from medialens.workflows.suggester import RelatedLabel
from medialens.workflows.tls import emr_certificates

from tests.conftest import SETUP_SESSION_MARK
from tests.support.stack import (
    REGION,
    ROOT,
    Stack,
    custom_resource_request,
    granted_actions,
    load_handler,
    resource,
)

# What botocore calls an operation, where IAM's action has another name.
IAM_NAMES = {"s3:ListObjectsV2": "s3:ListBucket"}


def iam(actions: set[str]) -> set[str]:
    return {IAM_NAMES.get(action, action) for action in actions}


def put_lines(stack: Stack, key: str, records: list[dict[str, Any]]) -> None:
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=body)


def rules(stack: Stack, run: str, lines: list[dict[str, Any]]) -> str:
    prefix = f"mining/pipeline/{run}/related_labels/"
    put_lines(stack, f"{prefix}part-00000-x.json", lines)
    return f"s3://{stack.bucket}/{prefix}"


def related(label: str, *to: tuple[str, float, float]) -> dict[str, Any]:
    return {"label": label, "related": [{"label": t, "confidence": c, "lift": f} for t, c, f in to]}


def test_the_catalog_keeps_only_the_latest_run_of_suggestions(stack: Stack) -> None:
    store = DynamoDBRelatedLabels(stack.catalog_table)

    assert store.replace("run-1", {"beach": (RelatedLabel("sea", 0.9, 4.0),), "lamp": ()}) == 0
    removed = store.replace("run-2", {"beach": (RelatedLabel("sand", 0.7, 2.5),)})

    assert removed == 1
    assert store.related("Beach") == (RelatedLabel("sand", 0.7, 2.5),)
    assert store.related("lamp") == ()
    assert store.related("never mined") == ()


def test_suggestions_stay_out_of_the_term_index_and_the_media_items(stack: Stack) -> None:
    DynamoDBRelatedLabels(stack.catalog_table).replace(
        "run-1", {"beach": (RelatedLabel("sea", 0.9, 4.0),)}
    )

    items = stack.dynamodb.scan(TableName=stack.catalog_table)["Items"]
    assert {item["pk"]["S"] for item in items} == {"RELATED", "RELATED#beach"}
    assert not any("gsi1pk" in item or "media_id" in item for item in items)


def test_a_label_another_run_wrote_meanwhile_is_not_deleted_as_stale(stack: Stack) -> None:
    """Two runs overlapping: one's clean-up spares what the other wrote since."""
    store = DynamoDBRelatedLabels(stack.catalog_table)
    store.replace("run-1", {"lamp": (RelatedLabel("chair", 0.6, 2.0),)})
    manifest_of_run_1 = stack.dynamodb.get_item(
        TableName=stack.catalog_table, Key={"pk": {"S": "RELATED"}, "sk": {"S": "MANIFEST"}}
    )["Item"]
    store.replace("run-3", {"lamp": (RelatedLabel("desk", 0.7, 2.2),)})
    # run-2 read run-1's manifest before run-3 wrote its own; it no longer mines "lamp".
    stack.dynamodb.put_item(TableName=stack.catalog_table, Item=manifest_of_run_1)

    removed = store.replace("run-2", {"beach": (RelatedLabel("sea", 0.9, 4.0),)})

    assert removed == 0
    assert store.related("lamp") == (RelatedLabel("desk", 0.7, 2.2),)


def test_publishing_trains_the_model_and_fills_the_catalog(
    stack: Stack, lambda_context: Any, aws_calls: set[str]
) -> None:
    handler = load_handler("publish_suggestions")
    related_uri = rules(
        stack,
        "run-7",
        [
            related("beach", ("sea", 0.93, 4.6), ("person", 0.41, 1.0)),
            related("sea", ("beach", 0.95, 4.6)),
            related("lamp", ("chair", 0.2, 1.1)),
        ],
    )
    model_url = f"s3://{stack.bucket}/models/label_suggester/runs/run-7/model.tar.gz"

    report = handler.lambda_handler(
        {"related_uri": related_uri, "model_data_url": model_url, "run": "run-7"}, lambda_context
    )
    assert iam(aws_calls) <= granted_actions("PublishSuggestionsFunction")

    assert report == {
        "model_data_url": model_url,
        "labels_read": 3,
        "labels_suggested": 2,
        "labels_removed": 0,
    }
    archive = stack.s3.get_object(
        Bucket=stack.bucket, Key="models/label_suggester/runs/run-7/model.tar.gz"
    )["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        code = tar.extractfile("code/inference.py")
        assert code is not None
        assert (
            code.read()
            == (ROOT / "sagemaker_models/label_suggester/code/inference.py").read_bytes()
        )
    store = DynamoDBRelatedLabels(stack.catalog_table)
    assert [r.label for r in store.related("beach")] == ["sea"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"model_data_url": "s3://b/m.tar.gz", "run": "r"}, "needs related_uri"),
        (
            {"related_uri": "/tmp/x", "model_data_url": "s3://b/m.tar.gz", "run": "r"},
            "not an s3:// URI",
        ),
        (
            {
                "related_uri": "s3://b/r/",
                "model_data_url": "s3://b/m.tar.gz",
                "run": "r",
                "thresholds": {"min_support": 0.1},
            },
            "thresholds may set only",
        ),
    ],
)
def test_a_bad_request_fails_the_task_with_its_reason_logged_and_counted(
    stack: Stack,
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    event: dict[str, Any],
    reason: str,
) -> None:
    handler = load_handler("publish_suggestions")

    with pytest.raises(ValueError, match=reason):
        handler.lambda_handler(event, lambda_context)

    assert any(
        record.getMessage() == "Suggestions not published"
        and reason in str(getattr(record, "reason", ""))
        for record in caplog.records
    )
    assert "SuggestionsNotPublished" in capsys.readouterr().out


def test_rules_too_weak_to_suggest_leave_the_catalog_as_it_was(
    stack: Stack, lambda_context: Any
) -> None:
    handler = load_handler("publish_suggestions")
    store = DynamoDBRelatedLabels(stack.catalog_table)
    store.replace("earlier", {"beach": (RelatedLabel("sea", 0.9, 4.0),)})
    related_uri = rules(stack, "weak", [related("lamp", ("chair", 0.2, 1.1))])

    with pytest.raises(ValueError, match="none of the 1 labels"):
        handler.lambda_handler(
            {
                "related_uri": related_uri,
                "model_data_url": f"s3://{stack.bucket}/models/weak/model.tar.gz",
                "run": "weak",
            },
            lambda_context,
        )

    assert store.related("beach") == (RelatedLabel("sea", 0.9, 4.0),)
    listed = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix="models/")
    assert "Contents" not in listed


# The resource's literal properties, as the template declares them.
ARTIFACT_PROPERTIES = resource("WorkflowArtifacts")["Properties"]
WORKFLOW_FILES = {
    "JobScriptUri": "label_mining.py",
    "BootstrapScriptUri": "emr_bootstrap.sh",
    "RequirementsUri": "requirements-emr.txt",
}
CONTENT_TYPES = {
    "JobScriptUri": "text/x-python",
    "BootstrapScriptUri": "text/x-shellscript",
    "RequirementsUri": "text/plain",
}
PEM_FILES = {"privateKey.pem", "certificateChain.pem", "trustedCertificates.pem"}


def custom_resource_event(kind: str, bucket: str, **extra: Any) -> dict[str, Any]:
    """A CloudFormation request for WorkflowArtifacts with the template's properties."""
    return custom_resource_request(
        kind,
        "WorkflowArtifacts",
        {
            "Bucket": bucket,
            "Prefix": ARTIFACT_PROPERTIES["Prefix"],
            "TlsPrefix": ARTIFACT_PROPERTIES["TlsPrefix"],
            "CodeVersion": "7",
        },
        **extra,
    )


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the custom resource answers CloudFormation: the JSON crhelper PUTs to ResponseURL.

    The HTTPS connection is the only thing replaced, so crhelper's own serialisation of
    the answer is what the test reads.
    """
    sent: list[dict[str, Any]] = []

    class CloudFormationEndpoint:
        def __init__(self, host: str, **_: Any) -> None:
            assert host == "cloudformation-custom-resource-response.example"

        def request(self, method: str, url: str, body: str, headers: Any) -> None:
            assert method == "PUT"
            sent.append(json.loads(body))

        def getresponse(self) -> Any:
            return type("Response", (), {"reason": "OK"})()

    monkeypatch.setattr("crhelper.utils.HTTPSConnection", CloudFormationEndpoint)
    return sent


@pytest.fixture
def lambda_region(monkeypatch: pytest.MonkeyPatch) -> str:
    """The Region Lambda names in ``AWS_REGION``: the stack's."""
    monkeypatch.setenv("AWS_REGION", REGION)
    return REGION


def object_at(stack: Stack, uri: str) -> Any:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    assert bucket == stack.bucket
    return stack.s3.get_object(Bucket=bucket, Key=key)


def certificates_at(stack: Stack, uri: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(object_at(stack, uri)["Body"].read())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_workflow_files_and_tls_certificates_are_published_at_deploy(
    stack: Stack,
    lambda_context: Any,
    responses: list[dict[str, Any]],
    aws_calls: set[str],
    lambda_region: str,
) -> None:
    handler = load_handler("workflow_artifacts")

    handler.lambda_handler(custom_resource_event("Create", stack.bucket), lambda_context)

    [created] = responses
    assert created["Status"] == "SUCCESS", created
    data = created["Data"]
    assert set(data) == {*WORKFLOW_FILES, "TlsCertificatesUri", "TlsCertificatesExpire"}
    assert created["PhysicalResourceId"] == data["JobScriptUri"]
    prefix = ARTIFACT_PROPERTIES["Prefix"]
    for attribute, name in WORKFLOW_FILES.items():
        stem = name.rpartition(".")[0]
        assert data[attribute].startswith(f"s3://{stack.bucket}/{prefix}{stem}-")
        published = object_at(stack, data[attribute])
        assert published["Body"].read() == (ROOT / "jobs" / name).read_bytes()
        assert published["ContentType"] == CONTENT_TYPES[attribute]

    tls_key = f"{ARTIFACT_PROPERTIES['TlsPrefix']}certificates.zip"
    assert data["TlsCertificatesUri"] == f"s3://{stack.bucket}/{tls_key}"
    files = certificates_at(stack, data["TlsCertificatesUri"])
    assert set(files) == PEM_FILES
    certificate = x509.load_pem_x509_certificate(files["certificateChain.pem"])
    assert files["trustedCertificates.pem"] == files["certificateChain.pem"]
    key = serialization.load_pem_private_key(files["privateKey.pem"], password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.public_key() == certificate.public_key()
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["*.eu-west-1.compute.internal"]
    expires = certificate.not_valid_after_utc
    assert data["TlsCertificatesExpire"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    validity = expires - certificate.not_valid_before_utc
    assert validity == timedelta(days=1095, minutes=5)
    assert iam(aws_calls) <= granted_actions("WorkflowArtifactsFunction")


def test_files_are_kept_after_updates_and_deletes_and_the_certificates_too(
    stack: Stack,
    lambda_context: Any,
    responses: list[dict[str, Any]],
    aws_calls: set[str],
    lambda_region: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = load_handler("workflow_artifacts")
    script = (ROOT / "jobs" / "label_mining.py").read_bytes()

    handler.lambda_handler(custom_resource_event("Create", stack.bucket), lambda_context)
    created = responses[0]["Data"]
    uri = created["JobScriptUri"]
    first_key = certificates_at(stack, created["TlsCertificatesUri"])["privateKey.pem"]

    handler.lambda_handler(
        custom_resource_event("Update", stack.bucket, PhysicalResourceId=uri), lambda_context
    )
    updated = responses[1]
    assert updated["PhysicalResourceId"] == uri, "same script, same object"
    for attribute in [*WORKFLOW_FILES, "TlsCertificatesUri"]:
        assert updated["Data"][attribute] == created[attribute]
    # Far from expiry: the same certificate, so nodes that join a running cluster
    # (a replaced Spot node) present one their peers trust.
    after_update = certificates_at(stack, created["TlsCertificatesUri"])
    assert after_update["privateKey.pem"] == first_key
    assert updated["Data"]["TlsCertificatesExpire"] == created["TlsCertificatesExpire"]

    changed = tmp_path / "label_mining.py"
    changed.write_bytes(script + b"# changed\n")
    monkeypatch.setattr(handler, "JOB_SCRIPT", changed)
    handler.lambda_handler(
        custom_resource_event("Update", stack.bucket, PhysicalResourceId=uri), lambda_context
    )
    new_uri = responses[2]["Data"]["JobScriptUri"]
    assert responses[2]["PhysicalResourceId"] == new_uri != uri
    # CloudFormation then deletes the old physical id: an execution started before the
    # deploy may still read that script, and the certificates' key is the new one's too.
    handler.lambda_handler(
        custom_resource_event("Delete", stack.bucket, PhysicalResourceId=uri), lambda_context
    )
    assert responses[3]["Status"] == "SUCCESS"
    kept = {*(created[attribute] for attribute in WORKFLOW_FILES), new_uri}
    kept.add(created["TlsCertificatesUri"])
    listed = stack.keys()
    assert {f"s3://{stack.bucket}/{key}" for key in listed} == kept
    assert set(certificates_at(stack, created["TlsCertificatesUri"])) == PEM_FILES
    assert iam(aws_calls) <= granted_actions("WorkflowArtifactsFunction")


def test_an_update_renews_certificates_near_their_expiry(
    stack: Stack,
    lambda_context: Any,
    responses: list[dict[str, Any]],
    aws_calls: set[str],
    lambda_region: str,
) -> None:
    handler = load_handler("workflow_artifacts")
    ageing = emr_certificates(lambda_region, datetime.now(UTC), valid_days=30)
    stack.s3.put_object(Bucket=stack.bucket, Key="emr-tls/certificates.zip", Body=ageing.archive)

    handler.lambda_handler(custom_resource_event("Update", stack.bucket), lambda_context)

    [answer] = responses
    assert answer["Status"] == "SUCCESS"
    renewed = certificates_at(stack, answer["Data"]["TlsCertificatesUri"])
    with zipfile.ZipFile(io.BytesIO(ageing.archive)) as archive:
        assert renewed["privateKey.pem"] != archive.read("privateKey.pem")
    expires = datetime.fromisoformat(answer["Data"]["TlsCertificatesExpire"])
    assert expires - datetime.now(UTC) > timedelta(days=1000)
    assert iam(aws_calls) <= granted_actions("WorkflowArtifactsFunction")


def test_a_failed_upload_is_reported_to_cloudformation_not_left_hanging(
    stack: Stack, lambda_context: Any, responses: list[dict[str, Any]], lambda_region: str
) -> None:
    handler = load_handler("workflow_artifacts")

    handler.lambda_handler(custom_resource_event("Create", "no-such-bucket"), lambda_context)

    [failed] = responses
    assert failed["Status"] == "FAILED"
    assert "NoSuchBucket" in failed["Reason"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"TlsPrefix": None}, "TlsPrefix is missing"),
        ({"Bucket": None}, "Bucket is missing"),
        ({"TlsPrefix": "emr-tls"}, "must end with '/'"),
    ],
)
def test_a_bad_property_is_reported_to_cloudformation_and_nothing_written(
    stack: Stack,
    lambda_context: Any,
    responses: list[dict[str, Any]],
    lambda_region: str,
    change: dict[str, str | None],
    reason: str,
) -> None:
    handler = load_handler("workflow_artifacts")
    event = custom_resource_event("Create", stack.bucket)
    properties = event["ResourceProperties"]
    for name, value in change.items():
        if value is None:
            del properties[name]
        else:
            properties[name] = value

    handler.lambda_handler(event, lambda_context)

    [failed] = responses
    assert failed["Status"] == "FAILED"
    assert reason in failed["Reason"]
    assert stack.keys() == []


def test_the_verify_step_reports_a_mismatch_as_a_warning_and_a_metric(
    stack: Stack,
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = load_handler("verify_transform")
    put_lines(stack, "in/part-1.jsonl", [{"media_id": "a"}, {"media_id": "b"}])
    put_lines(stack, "out/part-1.jsonl.out", [{"media_id": "a", "SageMakerOutput": {}}])

    report = handler.lambda_handler(
        {"input_uri": f"s3://{stack.bucket}/in/", "output_uri": f"s3://{stack.bucket}/out/"},
        lambda_context,
    )

    assert report["ok"] is False
    assert (report["records"], report["outputs"]) == (2, 1)
    assert any(
        r.levelname == "WARNING" and r.getMessage().startswith("Transform outputs do not match")
        for r in caplog.records
    )
    assert "TransformOutputMismatches" in capsys.readouterr().out


@pytest.mark.parametrize(
    "event",
    [
        {"output_uri": "s3://b/out/"},
        {"input_uri": "/local/in/", "output_uri": "s3://b/out/"},
    ],
    ids=["input-missing", "input-not-s3"],
)
def test_a_malformed_verify_request_fails_with_its_reason_logged_and_counted(
    stack: Stack,
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    event: dict[str, Any],
) -> None:
    handler = load_handler("verify_transform")

    with pytest.raises((KeyError, ValueError)):
        handler.lambda_handler(event, lambda_context)

    [logged] = [r for r in caplog.records if r.getMessage() == "Transform not verified"]
    assert getattr(logged, "reason", "")
    assert "TransformVerificationErrors" in capsys.readouterr().out


def retention_event(kind: str, days: int) -> dict[str, Any]:
    """The ServiceLogRetention request, with the template's own properties."""
    properties = {
        key: value
        for key, value in resource("ServiceLogRetention")["Properties"].items()
        if key != "ServiceToken"
    }
    event = custom_resource_event(kind, "unused", ResourceType="Custom::ServiceLogRetention")
    event["ResourceProperties"] = {"ServiceToken": "x", **properties, "RetentionInDays": str(days)}
    return event


def test_sagemakers_log_group_gets_a_retention_unless_someone_chose_one(
    stack: Stack,
    lambda_context: Any,
    responses: list[dict[str, Any]],
    aws_calls: set[str],
    lambda_region: str,
) -> None:
    session = boto3.session.Session(region_name=REGION)
    setattr(session._session, SETUP_SESSION_MARK, True)  # the test's own calls, not the code's
    logs = session.client("logs")
    handler = load_handler("service_log_retention")
    [group] = resource("ServiceLogRetention")["Properties"]["LogGroups"]

    handler.lambda_handler(retention_event("Create", 30), lambda_context)
    logs.put_retention_policy(logGroupName=group, retentionInDays=90)  # someone's choice
    handler.lambda_handler(retention_event("Update", 14), lambda_context)
    handler.lambda_handler(retention_event("Delete", 14), lambda_context)

    created, updated, _ = responses
    assert [r["Status"] for r in responses] == ["SUCCESS"] * 3
    assert json.loads(created["Data"]["Outcome"]) == {group: "set to 30 days"}
    assert json.loads(updated["Data"]["Outcome"]) == {group: "kept at 90 days"}
    [described] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["retentionInDays"] == 90
    assert aws_calls <= granted_actions("ServiceLogRetentionFunction")
    assert {"logs:CreateLogGroup", "logs:PutRetentionPolicy"} <= aws_calls
