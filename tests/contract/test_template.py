"""What template.yaml promises: security defaults, least privilege, routing, packaging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from medialens.config import ImageAnalysisSettings

from scripts.layer_requirements import TARGET, render
from tests.support.stack import (
    ROOT,
    as_list,
    function_environment,
    resource,
    role_of,
    statements_of,
    template,
)

FUNCTIONS = {
    "AnalyzeImageFunction": "analyze_image",
    "AnalyzeImageBytesFunction": "analyze_image_bytes",
}


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == kind}


def test_media_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    properties = resource("MediaBucket")["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"
    [deny] = resource("MediaBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_store_and_topic_is_encrypted() -> None:
    for name, table in resources_of("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"], name
    for name, topic in resources_of("AWS::SNS::Topic").items():
        assert topic["Properties"]["KmsMasterKeyId"], name
    for name, queue in resources_of("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"], name


def test_functions_have_explicit_roles_so_sam_attaches_no_broad_managed_policy() -> None:
    for function in FUNCTIONS:
        properties = resource(function)["Properties"]
        assert "Policies" not in properties
        assert "Role" in properties
        assert not any(
            "arn:aws:iam::aws:policy" in str(arn)
            for arn in role_of(function)["Properties"]["ManagedPolicyArns"]
        )


def test_each_function_may_write_only_its_own_log_group() -> None:
    for function in FUNCTIONS:
        log_group = resource(function)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        log_statements = [
            s
            for s in statements_of(function)
            if any(a.startswith("logs:") for a in as_list(s["Action"]))
        ]
        assert [s["Resource"] for s in log_statements] == [{"Fn::GetAtt": [log_group, "Arn"]}]


def test_wildcard_resources_only_for_actions_that_accept_no_resource() -> None:
    no_resource_type = {
        "rekognition:DetectLabels",
        "rekognition:DetectText",
        "rekognition:DetectFaces",
        "rekognition:DetectModerationLabels",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    for function in FUNCTIONS:
        for statement in statements_of(function):
            actions = set(as_list(statement["Action"]))
            assert not any(action.endswith(":*") for action in actions), statement
            if "*" in as_list(statement["Resource"]):
                assert actions <= no_resource_type, statement


def test_functions_may_write_only_under_results() -> None:
    for function in FUNCTIONS:
        for statement in statements_of(function):
            if "s3:PutObject" in as_list(statement["Action"]):
                for arn in as_list(statement["Resource"]):
                    assert "/results/" in arn["Fn::Sub"], arn


def test_async_failures_can_reach_the_queue() -> None:
    destination = resource("AnalyzeImageFunction")["Properties"]["EventInvokeConfig"]
    queue = destination["DestinationConfig"]["OnFailure"]["Destination"]
    granted = [
        s["Resource"]
        for s in statements_of("AnalyzeImageFunction")
        if s["Action"] == "sqs:SendMessage"
    ]
    assert granted == [queue]


def test_s3_events_watch_uploads_and_faces_but_not_results() -> None:
    events = resource("AnalyzeImageFunction")["Properties"]["Events"]
    prefixes = set()
    for event in events.values():
        assert event["Type"] == "S3"
        [rule] = event["Properties"]["Filter"]["S3Key"]["Rules"]
        assert rule["Name"] == "prefix"
        prefixes.add(rule["Value"]["Ref"])
    assert prefixes == {"UploadsPrefix", "FacesPrefix"}
    environment = template()["Globals"]["Function"]["Environment"]["Variables"]
    defaults = {p: template()["Parameters"][p]["Default"] for p in prefixes}
    assert not any(d.startswith(environment["RESULTS_PREFIX"]) for d in defaults.values())


def test_failed_async_invocations_reach_an_alarmed_queue() -> None:
    config = resource("AnalyzeImageFunction")["Properties"]["EventInvokeConfig"]
    destination = config["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    queue = destination["Destination"]["Fn::GetAtt"][0]
    alarms = resources_of("AWS::CloudWatch::Alarm").values()
    watched = [a["Properties"]["Dimensions"][0]["Value"] for a in alarms]
    assert {"Fn::GetAtt": [queue, "QueueName"]} in watched


def test_the_template_environment_parses_into_settings() -> None:
    settings = ImageAnalysisSettings.from_env(function_environment({}))

    assert settings.features.moderation
    assert settings.results_prefix == "results/"


@pytest.mark.parametrize(("logical_id", "directory"), FUNCTIONS.items())
def test_each_function_ships_only_its_small_handler(logical_id: str, directory: str) -> None:
    properties = resource(logical_id)["Properties"]
    code = ROOT / properties["CodeUri"]
    assert code == ROOT / "functions" / directory
    files = [p for p in code.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert [p.name for p in files] == ["handler.py"]
    assert sum(p.stat().st_size for p in files) < 50 * 1024
    globals_ = template()["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]


def test_the_layer_is_built_by_sam_for_the_runtime() -> None:
    layer = resource("MedialensLayer")
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert Path(ROOT / layer["Properties"]["ContentUri"], "medialens", "__init__.py").exists()


def test_layer_requirements_are_generated_from_pyproject() -> None:
    assert TARGET.read_text() == render()
