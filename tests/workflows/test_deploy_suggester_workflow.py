"""The deploy workflow, run by moto's ASL interpreter on the real definition.

The optimized SageMaker tasks are answered by :class:`HostingLifecycle` (each request
checked against botocore's model); its endpoints take polls to create or update and can
fail as SageMaker's do. The AWS SDK tasks (describe, delete) reach moto's SageMaker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.stack import resolve, resource
from tests.support.workflows import (
    MOTO_CONFIG,
    Execution,
    HostingLifecycle,
    execute,
    notifications,
    render,
    stand_ins,
    subscribed_topic,
)

DEFINITION = "deploy_suggester.asl.json"
BUCKET = "media"
PREFIX = resolve({"Ref": "NamePrefix"})
ENDPOINT = f"{PREFIX}-suggester"
IMAGE = "sagemaker-scikit-learn:1.2-1-cpu-py3"
MODEL_URL = f"s3://{BUCKET}/models/label_suggester/runs/run-1/model.tar.gz"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws(config=MOTO_CONFIG):
        topic, queue = subscribed_topic()
        yield {
            "sfn": boto3.client("stepfunctions"),
            "sm": boto3.client("sagemaker"),
            "topic": topic,
            "queue": queue,
        }


def substitutions(aws: dict[str, Any], hosting: str) -> dict[str, str]:
    declared = resource("DeploySuggesterStateMachine")["Properties"]["DefinitionSubstitutions"]
    values = {
        name: resolve(value)
        for name, value in declared.items()
        if name not in ("Bucket", "InferenceImage", "SageMakerRoleArn", "TopicArn")
    }
    return {
        **values,
        "Hosting": hosting,
        "PollSeconds": "0",
        "Bucket": BUCKET,
        "InferenceImage": f"141502667606.dkr.ecr.eu-west-1.amazonaws.com/{IMAGE}",
        "SageMakerRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
        "TopicArn": aws["topic"],
    }


def deploy(
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lifecycle: HostingLifecycle,
    *,
    name: str,
    hosting: str = "Serverless",
    payload: dict[str, Any] | None = None,
) -> Execution:
    with stand_ins(monkeypatch, lifecycle.stand_ins(monkeypatch)):
        return execute(
            aws["sfn"],
            render(DEFINITION, substitutions(aws, hosting)),
            payload if payload is not None else {"model_data_url": MODEL_URL},
            name=name,
        )


def hosting(aws: dict[str, Any]) -> dict[str, Any]:
    """What moto's SageMaker holds: the endpoint's state, configurations and models."""
    sm = aws["sm"]
    endpoints = {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]}
    described = sm.describe_endpoint(EndpointName=ENDPOINT) if ENDPOINT in endpoints else None
    return {
        "endpoint": described,
        "configs": sorted(
            c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
        ),
        "models": sorted(m["ModelName"] for m in sm.list_models()["Models"]),
    }


def sent(execution: Execution, action: str) -> list[dict[str, Any]]:
    """The parameters of every ``sagemaker:<action>`` task, as the interpreter resolved them."""
    return [
        json.loads(event["taskScheduledEventDetails"]["parameters"])
        for event in execution.history
        if event["type"] == "TaskScheduled"
        and event["taskScheduledEventDetails"]["resource"] == action
    ]


def served_config(execution: Execution) -> str:
    assert execution.output is not None
    return str(execution.output["serving"])


def test_the_first_deploy_creates_the_endpoint_and_leaves_one_model(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    execution = deploy(aws, monkeypatch, HostingLifecycle(), name="first")

    assert execution.status == "SUCCEEDED", execution.error
    name = served_config(execution)
    # <NamePrefix>-<MD5 of the execution>: within CreateModel's 63 characters.
    assert re.fullmatch(rf"{PREFIX}-[0-9a-f]{{32}}", name)
    state = hosting(aws)
    assert state["endpoint"]["EndpointStatus"] == "InService"
    assert state["endpoint"]["EndpointConfigName"] == name
    assert state["configs"] == state["models"] == [name]
    entered = execution.entered()
    assert "CreateEndpoint" in entered
    assert "UpdateEndpoint" not in entered
    assert entered.count("DescribeEndpoint") == 2, "polled until in service"
    [config] = sent(execution, "createEndpointConfig")
    variant = config["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": int(resolve({"Ref": "SuggesterMemorySizeInMB"})),
        "MaxConcurrency": int(resolve({"Ref": "SuggesterMaxConcurrency"})),
    }
    [model] = sent(execution, "createModel")
    assert model["PrimaryContainer"]["ModelDataUrl"] == MODEL_URL
    assert model["EnableNetworkIsolation"] is True
    [note] = notifications(aws["queue"])
    assert note["status"] == "SUCCEEDED"
    assert note["serving"] == name


def test_the_next_deploy_updates_in_place_then_removes_the_old_config_and_model(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = served_config(deploy(aws, monkeypatch, HostingLifecycle(), name="first"))

    second = deploy(aws, monkeypatch, HostingLifecycle(), name="second")

    assert second.status == "SUCCEEDED", second.error
    name = served_config(second)
    assert name != first
    assert "UpdateEndpoint" in second.entered()
    state = hosting(aws)
    assert state["endpoint"]["EndpointConfigName"] == name
    assert state["configs"] == state["models"] == [name]


def test_a_failed_update_keeps_the_old_model_serving_and_removes_the_new_one(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = served_config(deploy(aws, monkeypatch, HostingLifecycle(), name="first"))
    reason = "The primary container for production variant AllTraffic did not pass the ping check."

    failed = deploy(aws, monkeypatch, HostingLifecycle(fail_update=reason), name="second")

    assert failed.status == "FAILED"
    assert failed.error == "DeployFailed"
    state = hosting(aws)
    assert state["endpoint"]["EndpointStatus"] == "InService"
    assert state["endpoint"]["EndpointConfigName"] == first
    assert state["configs"] == state["models"] == [first]
    notes = notifications(aws["queue"])
    assert notes[-1]["status"] == "FAILED"
    assert notes[-1]["error"]["Error"] == "UpdateRolledBack"
    assert reason in notes[-1]["error"]["Cause"]


def test_an_endpoint_that_fails_to_create_is_deleted_with_what_it_was_given(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = deploy(
        aws, monkeypatch, HostingLifecycle(fail_create="Image not found."), name="first"
    )

    assert failed.status == "FAILED"
    assert hosting(aws) == {"endpoint": None, "configs": [], "models": []}
    assert notifications(aws["queue"])[-1]["error"]["Error"] == "EndpointFailed"


def test_an_endpoint_busy_with_another_deploy_is_left_alone(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = HostingLifecycle(polls=1000)
    first = deploy(aws, monkeypatch, slow, name="first")
    assert first.status == "FAILED"
    assert notifications(aws["queue"])[-1]["error"]["Error"] == "DeployTimedOut"
    pending = hosting(aws)
    # Still creating: its configuration is in use, so nothing was deleted.
    assert pending["endpoint"]["EndpointStatus"] == "Creating"
    assert len(pending["configs"]) == len(pending["models"]) == 1

    second = deploy(aws, monkeypatch, slow, name="second")

    assert second.status == "FAILED"
    assert notifications(aws["queue"])[-1]["error"]["Error"] == "EndpointNotInService"
    after = hosting(aws)
    assert after["configs"] == pending["configs"]
    assert after["models"] == pending["models"]
    for field in ("EndpointStatus", "EndpointConfigName"):
        assert after["endpoint"][field] == pending["endpoint"][field]


def test_provisioned_hosting_asks_for_instances(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    execution = deploy(aws, monkeypatch, HostingLifecycle(), name="first", hosting="Provisioned")

    assert execution.status == "SUCCEEDED", execution.error
    [config] = sent(execution, "createEndpointConfig")
    variant = config["ProductionVariants"][0]
    assert variant["InstanceType"] == resolve({"Ref": "SuggesterInstanceType"})
    assert variant["InitialInstanceCount"] == int(resolve({"Ref": "SuggesterInstanceCount"}))
    assert "ServerlessConfig" not in variant


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"model_data_url": 3},
        {"model_data_url": "s3://elsewhere/models/m.tar.gz"},
        {"model_data_url": f"s3://{BUCKET}/mining/m.tar.gz"},
    ],
)
def test_a_model_outside_the_buckets_models_is_refused_before_anything_is_created(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, payload: dict[str, Any]
) -> None:
    execution = deploy(aws, monkeypatch, HostingLifecycle(), name="bad", payload=payload)

    assert execution.status == "FAILED"
    assert execution.error == "BadInput"
    assert hosting(aws) == {"endpoint": None, "configs": [], "models": []}
